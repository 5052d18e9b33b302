"""Uploaded images: checked by their content, stripped, resized, stored, served.

An upload is never kept as sent. Pillow opens it only as PNG, JPEG, WebP or GIF (by its bytes,
whatever its name says), its pixel count is read from the header and refused past
``[media] max_pixels`` before anything is decoded (a decompression bomb never unpacks), then it
is decoded, turned upright (EXIF orientation), resized and encoded anew without any metadata:
no EXIF, no GPS position, no XMP, no comments; a photo taken at home does not tell where home
is. A GIF keeps its first frame, as a PNG. The decoding work runs in a thread, off the event
loop.

Sizes: an avatar is cropped square to 400×400 (as Mastodon's); a header is cropped to 3:1 and
shrunk to 1500×500 at most; an attachment keeps its shape, shrunk to 1920 px on its longer side.
Files are named ``<uuid>.<png|jpg|webp>`` under ``[media] directory`` and served at
``/media/<file>`` for ever (a new image is a new file).
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from activitypub.urls import is_uuid, path_for
from instance.config import MediaSettings
from models.actors import LocalActor
from models.errors import Malformed, NotFound, PayloadTooLarge
from models.media import Media, MediaPurpose

AVATAR = (400, 400)
HEADER = (1500, 500)
ATTACHMENT_SIDE = 1920
MAX_DESCRIPTION = 1500
FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
"""What Pillow may identify an upload as: no other decoder is ever tried on it."""
OUTPUT = {"PNG": "PNG", "GIF": "PNG", "JPEG": "JPEG", "WEBP": "WEBP"}
ENCODED = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
}
SERVED = re.compile(r"^(?P<uuid>[0-9a-f-]{36})\.(?:png|jpg|webp)$")
FOREVER = "public, max-age=31536000, immutable"
UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, TypeError)
"""What Pillow raises on a file that is not (or not quite) an image of an accepted format."""
BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


class ImageRefused(Malformed):
    public_message = "This file is not a PNG, JPEG, WebP or GIF image."


class ImageUnreadable(ImageRefused):
    public_message = "This image could not be read: it may be damaged."


class TooManyPixels(ImageRefused):
    public_message = "This image has too many pixels: send a smaller one."


class ImageTooLarge(PayloadTooLarge):
    public_message = "This image file is too large: send a smaller one."


@dataclass(frozen=True)
class Encoded:
    data: bytes
    media_type: str
    extension: str
    width: int
    height: int


def _resize(image: Image.Image, purpose: MediaPurpose) -> Image.Image:
    if purpose == MediaPurpose.AVATAR:
        return ImageOps.fit(image, AVATAR, Image.Resampling.LANCZOS)
    if purpose == MediaPurpose.HEADER:
        width, height = image.size
        ratio = HEADER[0] / HEADER[1]
        if width > height * ratio:  # too wide: keep the middle
            box_w, box_h = max(1, round(height * ratio)), height
        else:
            box_w, box_h = width, max(1, round(width / ratio))
        left, top = (width - box_w) // 2, (height - box_h) // 2
        image = image.crop((left, top, left + box_w, top + box_h))
        if box_w > HEADER[0]:
            image = image.resize(HEADER, Image.Resampling.LANCZOS)
        return image
    image = image.copy()
    image.thumbnail((ATTACHMENT_SIDE, ATTACHMENT_SIDE), Image.Resampling.LANCZOS)  # never enlarges
    return image


def _bound(purpose: MediaPurpose) -> tuple[int, int]:
    """The size a JPEG may be decoded at (a power-of-two reduction, far cheaper than a full
    decode): square, as the photo may still be turned upright."""
    side = {MediaPurpose.AVATAR: max(AVATAR), MediaPurpose.HEADER: max(HEADER)}
    edge = side.get(purpose, ATTACHMENT_SIDE)
    return edge, edge


def _decode(data: bytes, purpose: MediaPurpose, max_pixels: int) -> tuple[str, Image.Image]:
    """The upload's format and its first frame, upright; refused before decoding when it is
    not an accepted format or has too many pixels."""
    with Image.open(io.BytesIO(data), formats=FORMATS) as image:
        source = image.format or ""
        if source not in OUTPUT:
            raise ImageRefused(f"format {source!r}")
        if image.width * image.height > max_pixels:
            raise TooManyPixels(f"{image.width}x{image.height} > {max_pixels} pixels")
        if source == "JPEG":
            image.draft("RGB", _bound(purpose))
        image.seek(0)  # a GIF's (or an animated WebP's) first frame
        image.load()
        return source, ImageOps.exif_transpose(image)  # a copy: the file is closed after


def encode_image(data: bytes, purpose: MediaPurpose, max_pixels: int) -> Encoded:
    """Check, strip, resize and re-encode one upload (CPU work: call it in a thread)."""
    try:
        source, upright = _decode(data, purpose, max_pixels)
        output = OUTPUT[source]
        has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
        mode = "RGBA" if has_alpha and output != "JPEG" else "RGB"
        resized = _resize(upright.convert(mode), purpose)
        resized.info = {}  # nothing of the original's metadata is written back
        buffer = io.BytesIO()
        options = {"JPEG": {"quality": 85, "optimize": True}, "WEBP": {"quality": 85}}
        resized.save(buffer, format=output, **options.get(output, {}))
    except BOMB as exc:
        raise TooManyPixels(f"decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageRefused("not an accepted image format") from exc
    except UNREADABLE as exc:
        raise ImageUnreadable(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    media_type, extension = ENCODED[output]
    return Encoded(buffer.getvalue(), media_type, extension, resized.width, resized.height)


def media_file(settings: MediaSettings, filename: str) -> Path:
    return Path(settings.directory) / filename


def _write(directory: Path, filename: str, data: bytes) -> None:
    """Written whole or not at all: a temporary name, then renamed."""
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{filename}.part"
    temporary.write_bytes(data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, directory / filename)


async def store_image(
    data: bytes,
    *,
    owner: LocalActor,
    purpose: MediaPurpose,
    description: str = "",
    settings: MediaSettings,
) -> Media:
    """Check, strip, resize and store an uploaded image; its ``Media`` row.

    ``data``: the file as uploaded (any name, any declared type: only its bytes count).
    ``purpose``: AVATAR (400×400, cropped), HEADER (3:1, at most 1500×500) or ATTACHMENT (at
    most 1920 px on its longer side). ``description``: alt text, cut to 1500 characters.
    ``settings``: ``request.app.state.config.media``. Refusals are ``ImageRefused`` (400: not
    an accepted image, damaged, too many pixels) or ``ImageTooLarge`` (413), each with a
    ``public_message`` to show as it is (it is a catalogue msgid). Serve the file with
    ``media_path(media)`` on pages, ``activitypub.media.media_url`` in documents.
    """
    if len(data) > settings.max_upload_bytes:
        raise ImageTooLarge(f"{len(data)} bytes > {settings.max_upload_bytes}")
    if not data:
        raise ImageRefused("empty upload")
    encoded = await asyncio.to_thread(encode_image, data, purpose, settings.max_pixels)
    media_uuid = str(uuid.uuid4())
    filename = f"{media_uuid}.{encoded.extension}"
    await asyncio.to_thread(_write, Path(settings.directory), filename, encoded.data)
    try:
        return await Media.create(
            uuid=media_uuid,
            owner=owner,
            purpose=purpose,
            filename=filename,
            media_type=encoded.media_type,
            width=encoded.width,
            height=encoded.height,
            size_bytes=len(encoded.data),
            description=description.strip()[:MAX_DESCRIPTION],
            created_at=datetime.now(UTC),
        )
    except BaseException:
        await asyncio.to_thread(media_file(settings, filename).unlink, missing_ok=True)
        raise


async def delete_media(media: Media, settings: MediaSettings) -> None:
    """Remove an image's file and row (its URL then answers 404)."""
    await asyncio.to_thread(media_file(settings, media.filename).unlink, missing_ok=True)
    if media.pk is not None:
        await Media.filter(id=media.pk).delete()


async def delete_media_of(owner: LocalActor, settings: MediaSettings) -> int:
    """Remove every image an account uploaded (its deletion: nothing of it stays served)."""
    owned = await Media.filter(owner_id=owner.pk)
    for media in owned:
        await delete_media(media, settings)
    return len(owned)


def media_path(media: Media) -> str:
    """Where a page links an image (``<img src>``)."""
    return path_for("media", name=media.filename)


async def find_media(uuids: list[str | None]) -> dict[str, Media]:
    """The rows of these images, by uuid (missing ones left out)."""
    wanted = [u for u in uuids if u]
    return {m.uuid: m for m in await Media.filter(uuid__in=wanted)} if wanted else {}


async def serve_media(request: Request) -> Response:
    """``/media/<uuid>.<ext>``: the stored file, with its type, never sniffed, cached for ever
    (a new image has a new name); 404 for anything unknown."""
    name = request.path_params["name"]
    found = SERVED.match(name)
    if found is None or not is_uuid(found["uuid"]):
        raise NotFound(f"no media {name[:100]}")
    media = await Media.get_or_none(uuid=found["uuid"])
    if media is None or media.filename != name:
        raise NotFound(f"no media {name[:100]}")
    settings: MediaSettings = request.app.state.config.media
    path = media_file(settings, media.filename)
    try:
        stat = await asyncio.to_thread(path.stat)
    except FileNotFoundError:
        raise NotFound(f"media {name} has no file") from None
    headers = {"Cache-Control": FOREVER, "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=media.media_type, headers=headers, stat_result=stat)
