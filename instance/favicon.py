"""The site's icon: the twin pines of the cooperative movement (two pine trees in a circle),
drawn here once and served two ways.

Browsers that read ``<link rel="icon" type="image/svg+xml">`` (base.html) take the SVG, sharp at
every size. Others, feed readers and any browser showing a JSON document, ask ``/favicon.ico``
whatever the page says: it answers a real ICO holding 16 and 32 px PNG images rasterised from
the same shapes, so the two never drift. Nothing is fetched from elsewhere and both are cached
(``instance/static_files.py``).
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from functools import cache

from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import path_for
from instance.static_files import digest_of, static_response

BOX = 32
"""The drawing's units: a 32 × 32 square."""
GOLD, GREEN = (0xF2, 0xC1, 0x4E), (0x1F, 0x6F, 0x4A)
DISC = (16.0, 16.0, 15.0)
"""Centre and radius of the gold disc."""
Point = tuple[float, float]


def _pine(x: float) -> list[list[Point]]:
    """A pine centred on ``x``: two tiers of branches and a trunk."""
    return [
        [(x, 4.5), (x - 4.5, 14.5), (x + 4.5, 14.5)],
        [(x, 9.0), (x - 5.5, 21.5), (x + 5.5, 21.5)],
        [(x - 1.1, 21.0), (x - 1.1, 26.0), (x + 1.1, 26.0), (x + 1.1, 21.0)],  # same turn: no hole
    ]


PINES = _pine(11.0) + _pine(21.0)
SVG_MEDIA_TYPE = "image/svg+xml"
ICO_MEDIA_TYPE = "image/vnd.microsoft.icon"
ICO_CACHE = "public, max-age=86400"
"""``/favicon.ico`` is never versioned: a day, then revalidated with its ETag."""


def _hex(colour: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in colour)


@cache
def favicon_svg() -> bytes:
    x, y, r = DISC
    paths = " ".join(
        "M" + " L".join(f"{px:g} {py:g}" for px, py in polygon) + " Z" for polygon in PINES
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {BOX} {BOX}">'
        f'<circle cx="{x:g}" cy="{y:g}" r="{r:g}" fill="{_hex(GOLD)}"/>'
        f'<path fill="{_hex(GREEN)}" d="{paths}"/></svg>\n'
    ).encode()


def _inside(polygon: list[Point], x: float, y: float) -> bool:
    """Even-odd rule: does a ray from (x, y) cross the outline an odd number of times?"""
    crossings = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            crossings = not crossings
    return crossings


def _colour_at(x: float, y: float) -> tuple[int, int, int] | None:
    if any(_inside(polygon, x, y) for polygon in PINES):
        return GREEN
    cx, cy, r = DISC
    return GOLD if (x - cx) ** 2 + (y - cy) ** 2 <= r * r else None


def _rgba(size: int, samples: int = 4) -> bytes:
    """The drawing at ``size`` px, each pixel the average of ``samples²`` points (smooth
    edges), as PNG scanlines (a 0 filter byte, then RGBA)."""
    scale = BOX / size
    rows = bytearray()
    for row in range(size):
        rows.append(0)
        for column in range(size):
            hits = [
                _colour_at(
                    (column + (i + 0.5) / samples) * scale, (row + (j + 0.5) / samples) * scale
                )
                for i in range(samples)
                for j in range(samples)
            ]
            opaque = [c for c in hits if c is not None]
            if not opaque:
                rows.extend((0, 0, 0, 0))
                continue
            rows.extend(round(sum(c[k] for c in opaque) / len(opaque)) for k in range(3))
            rows.append(round(255 * len(opaque) / len(hits)))
    return bytes(rows)


def _png(size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(_rgba(size), 9))
        + chunk(b"IEND", b"")
    )


@cache
def favicon_ico() -> bytes:
    """An ICO file holding PNG images (read by every browser since 2007)."""
    images = [(size, _png(size)) for size in (16, 32)]
    offset = 6 + 16 * len(images)
    directory, data = b"", b""
    for size, png in images:
        directory += struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), offset + len(data))
        data += png
    return struct.pack("<HHH", 0, 1, len(images)) + directory + data


def favicon_svg_path() -> str:
    """Where the pages link the icon (``{{ favicon_svg_path() }}`` in base.html)."""
    return path_for("favicon_svg", query={"v": digest_of(favicon_svg())})


async def favicon(request: Request) -> Response:
    """``/favicon.ico`` (drawn once per process, off the event loop: a few tenths of a second)."""
    content = await asyncio.to_thread(favicon_ico)
    return static_response(request, content, ICO_MEDIA_TYPE, unversioned=ICO_CACHE)


async def favicon_svg_file(request: Request) -> Response:
    return static_response(request, favicon_svg(), SVG_MEDIA_TYPE)
