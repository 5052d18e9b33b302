"""Uploaded images (instance/media.py): accepted by content only, refused clearly otherwise
(a text file named .png, too large, a decompression bomb, a damaged file), stripped of EXIF and
GPS, resized per purpose, decoded off the event loop, and served with the right headers.

Every image is made here with Pillow (no fixture file): a photo with a GPS position and a
camera name in its EXIF, a PNG with a comment, a GIF of two frames, and a PNG whose header
announces 2.5 billion pixels over a few bytes of data.
"""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import ExifTags, Image, PngImagePlugin

from federation.context import Federation
from instance import media as media_module
from instance.app import create_app
from instance.config import MediaSettings, parse_config
from instance.media import (
    ImageRefused,
    ImageTooLarge,
    ImageUnreadable,
    TooManyPixels,
    delete_media,
    delete_media_of,
    media_path,
    store_image,
)
from models.actors import LocalActor
from models.media import Media, MediaPurpose
from tests.conftest import TEST_DOMAIN

SECRET = "SecretPhone 12 Pro"
GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (45.0, 45.0, 12.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (4.0, 50.0, 1.0),
}


# --- images made for the tests -----------------------------------------------------------------


def image_bytes(
    size: tuple[int, int] = (64, 48),
    fmt: str = "PNG",
    *,
    mode: str = "RGB",
    color: Any = (30, 120, 80),
    **save: Any,
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def photo_with_gps(size: tuple[int, int] = (200, 100), orientation: int = 1) -> bytes:
    """A JPEG as a phone writes it: camera name, orientation, GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = SECRET
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = GPS
    return image_bytes(size, "JPEG", exif=exif.tobytes())


def png_with_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET)
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = GPS
    return image_bytes((80, 80), "PNG", mode="RGBA", color=(0, 0, 0, 0), pnginfo=info, exif=exif)


def two_frame_gif() -> bytes:
    first = Image.new("P", (40, 30), 1)
    second = Image.new("P", (40, 30), 2)
    buffer = io.BytesIO()
    first.save(buffer, format="GIF", save_all=True, append_images=[second], duration=100)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header announces ``width``×``height`` pixels, with hardly any data: what a
    decompression bomb looks like before it is decoded."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def files_in(directory: Path) -> list[Path]:
    return list(directory.iterdir()) if directory.exists() else []


def opened(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()
    return image


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def media_settings(tmp_path: Path) -> MediaSettings:
    return MediaSettings(directory=str(tmp_path / "media"), max_upload_bytes=200_000)


@pytest.fixture
async def media_client(
    fed: Federation, database_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The conftest client, with its media directory under ``tmp_path``."""
    config = parse_config(
        {
            "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
            "database": {"url": database_url},
            "media": {"directory": str(tmp_path / "media"), "max_upload_bytes": 200_000},
        }
    )
    app = create_app(config, run_worker=False, fed=fed)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{TEST_DOMAIN}") as c:
        yield c


async def _store(
    data: bytes, owner: LocalActor, settings: MediaSettings, purpose: MediaPurpose
) -> tuple[Media, Path]:
    media = await store_image(
        data, owner=owner, purpose=purpose, description="Un vélo", settings=settings
    )
    return media, Path(settings.directory) / media.filename


async def test_deleting_an_account_removes_its_images(
    member: LocalActor, coop: LocalActor, media_settings: MediaSettings
) -> None:
    _, mine = await _store(image_bytes(fmt="PNG"), member, media_settings, MediaPurpose.AVATAR)
    _, theirs = await _store(image_bytes(fmt="PNG"), coop, media_settings, MediaPurpose.HEADER)
    assert await delete_media_of(member, media_settings) == 1
    assert not mine.exists() and not await Media.filter(owner_id=member.id).exists()
    assert theirs.is_file() and await Media.filter(owner_id=coop.id).count() == 1


# --- accepted, by content ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "media_type", "extension"),
    [
        (lambda: image_bytes(fmt="PNG"), "image/png", "png"),
        (lambda: image_bytes(fmt="JPEG"), "image/jpeg", "jpg"),
        (lambda: image_bytes(fmt="WEBP"), "image/webp", "webp"),
        (two_frame_gif, "image/png", "png"),  # a GIF's first frame, as a PNG
    ],
    ids=["png", "jpeg", "webp", "gif"],
)
async def test_accepted_formats_are_stored_with_a_row(
    member: LocalActor,
    media_settings: MediaSettings,
    make: Callable[[], bytes],
    media_type: str,
    extension: str,
) -> None:
    media, path = await _store(make(), member, media_settings, MediaPurpose.ATTACHMENT)
    row = await Media.get(uuid=media.uuid)
    assert (row.media_type, row.owner_id, row.purpose) == (media_type, member.id, "attachment")
    assert row.filename == f"{row.uuid}.{extension}" and row.description == "Un vélo"
    assert path.is_file() and row.size_bytes == path.stat().st_size
    stored = opened(path)
    assert stored.format == {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}[extension]
    assert (
        (row.width, row.height) == stored.size == ((40, 30) if "gif" in make.__name__ else (64, 48))
    )
    assert not getattr(stored, "is_animated", False)


async def test_a_gif_keeps_its_first_frame(
    member: LocalActor, media_settings: MediaSettings
) -> None:
    _, path = await _store(two_frame_gif(), member, media_settings, MediaPurpose.ATTACHMENT)
    first = Image.open(io.BytesIO(two_frame_gif())).convert("RGB").getpixel((0, 0))
    assert opened(path).convert("RGB").getpixel((0, 0)) == first


# --- refused, clearly ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "refusal", "message"),
    [
        (
            b"hello, I am a text file named avatar.png\n",
            ImageRefused,
            "not a PNG, JPEG, WebP or GIF",
        ),
        (b"", ImageRefused, "not a PNG, JPEG, WebP or GIF"),
        (b"%PDF-1.4\n" + b"0" * 100, ImageRefused, "not a PNG, JPEG, WebP or GIF"),
        (image_bytes(fmt="BMP"), ImageRefused, "not a PNG, JPEG, WebP or GIF"),
        (image_bytes(fmt="TIFF"), ImageRefused, "not a PNG, JPEG, WebP or GIF"),
        (image_bytes((300, 300), fmt="PNG")[:200], ImageUnreadable, "could not be read"),
        (png_claiming(50_000, 50_000), TooManyPixels, "too many pixels"),  # 2.5 Gpx: a bomb
        (png_claiming(8_000, 6_000), TooManyPixels, "too many pixels"),  # 48 Mpx > 40
    ],
    ids=["text", "empty", "pdf", "bmp", "tiff", "truncated", "bomb", "over-limit"],
)
async def test_refused_uploads_say_why_and_leave_nothing(
    member: LocalActor,
    media_settings: MediaSettings,
    data: bytes,
    refusal: type[Exception],
    message: str,
) -> None:
    settings = media_settings.model_copy(update={"max_pixels": 40_000_000})
    with pytest.raises(refusal) as caught:
        await _store(data, member, settings, MediaPurpose.AVATAR)
    assert message in getattr(caught.value, "public_message", "")
    assert await Media.all().count() == 0
    assert files_in(Path(settings.directory)) == []


async def test_too_large_a_file_is_refused_before_decoding(
    member: LocalActor, media_settings: MediaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[bytes] = []
    monkeypatch.setattr(media_module, "encode_image", lambda data, *a: decoded.append(data))
    big = b"\x89PNG" + b"0" * media_settings.max_upload_bytes
    with pytest.raises(ImageTooLarge) as caught:
        await _store(big, member, media_settings, MediaPurpose.HEADER)
    assert caught.value.public_message == "This image file is too large: send a smaller one."
    assert decoded == [] and await Media.all().count() == 0


# --- stripped of metadata ------------------------------------------------------------------------


async def test_exif_and_gps_are_stripped_and_the_photo_turned_upright(
    member: LocalActor, media_settings: MediaSettings
) -> None:
    photo = photo_with_gps((200, 100), orientation=6)  # taken sideways
    sent = Image.open(io.BytesIO(photo)).getexif()
    assert sent.get_ifd(ExifTags.IFD.GPSInfo) and SECRET.encode() in photo  # the test is real
    media, path = await _store(photo, member, media_settings, MediaPurpose.ATTACHMENT)
    raw = path.read_bytes()
    assert SECRET.encode() not in raw and b"Exif" not in raw
    stored = opened(path)
    assert dict(stored.getexif()) == {} and stored.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert stored.size == (100, 200) == (media.width, media.height)  # rotated as it was seen


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
async def test_png_and_webp_metadata_is_stripped(
    member: LocalActor, media_settings: MediaSettings, fmt: str
) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = SECRET
    exif[ExifTags.IFD.GPSInfo] = GPS
    data = png_with_metadata() if fmt == "PNG" else image_bytes(fmt="WEBP", exif=exif.tobytes())
    assert SECRET.encode() in data or b"Exif" in data
    _, path = await _store(data, member, media_settings, MediaPurpose.AVATAR)
    raw = path.read_bytes()
    assert SECRET.encode() not in raw and b"Exif" not in raw and b"eXIf" not in raw
    stored = opened(path)
    assert dict(stored.getexif()) == {} and "Comment" not in stored.info


# --- resized per purpose -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "sent", "kept"),
    [
        (MediaPurpose.AVATAR, (1000, 600), (400, 400)),  # cropped square
        (MediaPurpose.AVATAR, (50, 80), (400, 400)),  # always 400×400, as Mastodon's
        (MediaPurpose.HEADER, (3000, 1500), (1500, 500)),  # cropped to 3:1, shrunk
        (MediaPurpose.HEADER, (1200, 1200), (1200, 400)),  # cropped, never enlarged
        (MediaPurpose.HEADER, (4000, 500), (1500, 500)),  # too wide: the middle
        (MediaPurpose.ATTACHMENT, (4000, 1000), (1920, 480)),  # the longer side to 1920
        (MediaPurpose.ATTACHMENT, (900, 2400), (720, 1920)),
        (MediaPurpose.ATTACHMENT, (640, 480), (640, 480)),  # small: as it is
    ],
)
async def test_sizes(
    member: LocalActor,
    media_settings: MediaSettings,
    purpose: MediaPurpose,
    sent: tuple[int, int],
    kept: tuple[int, int],
) -> None:
    settings = media_settings.model_copy(update={"max_upload_bytes": 8_388_608})
    media, path = await _store(image_bytes(sent, "JPEG"), member, settings, purpose)
    assert opened(path).size == kept == (media.width, media.height)


async def test_decoding_runs_off_the_event_loop(
    member: LocalActor, media_settings: MediaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_threads: list[str] = []
    to_thread = asyncio.to_thread

    async def recording(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        in_threads.append(getattr(func, "__name__", repr(func)))
        return await to_thread(func, *args, **kwargs)

    monkeypatch.setattr(media_module.asyncio, "to_thread", recording)
    await _store(image_bytes(), member, media_settings, MediaPurpose.AVATAR)
    assert in_threads[:2] == ["encode_image", "_write"]


# --- served ------------------------------------------------------------------------------------


async def test_served_with_its_type_nosniff_and_cached_for_ever(
    media_client: httpx.AsyncClient, member: LocalActor, tmp_path: Path
) -> None:
    settings = MediaSettings(directory=str(tmp_path / "media"))
    media, path = await _store(image_bytes(fmt="WEBP"), member, settings, MediaPurpose.AVATAR)
    r = await media_client.get(media_path(media))
    assert r.status_code == 200 and r.content == path.read_bytes()
    assert r.headers["content-type"] == "image/webp"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "content-security-policy" in r.headers
    head = await media_client.head(media_path(media))
    assert head.status_code == 200 and head.content == b""


async def test_unknown_media_is_404(
    media_client: httpx.AsyncClient, member: LocalActor, tmp_path: Path
) -> None:
    settings = MediaSettings(directory=str(tmp_path / "media"))
    media, path = await _store(image_bytes(), member, settings, MediaPurpose.AVATAR)
    other_extension = media.filename.replace(".png", ".jpg")
    for name in (
        "00000000-0000-4000-8000-000000000000.png",  # no such row
        other_extension,  # the row's file has another name
        media.uuid,
        "../instance.toml",
        "x.png",
        f"{media.uuid.upper()}.png",
    ):
        r = await media_client.get(f"/media/{name}")
        assert r.status_code == 404, name
    await delete_media(media, settings)  # row and file gone: 404, not an error
    assert not path.exists()
    assert (await media_client.get(media_path(media))).status_code == 404
    media2, path2 = await _store(image_bytes(), member, settings, MediaPurpose.AVATAR)
    path2.unlink()  # a file lost on disk
    assert (await media_client.get(media_path(media2))).status_code == 404


def test_the_default_directory_is_next_to_the_config_file(tmp_path: Path) -> None:
    config = parse_config(
        {"instance": {"domain": "velos.example", "secret_key": "s"}}, tmp_path / "instance.toml"
    )
    assert config.media.directory == str(tmp_path / "data" / "media")
    assert config.media.max_upload_bytes == 8 * 1_048_576
