"""The site's icon: linked from every page as an SVG, and ``/favicon.ico`` (asked by browsers
whatever the page links) a real ICO drawn from the same shapes; both ours and cached."""

from __future__ import annotations

import io
import re
import struct
from xml.etree import ElementTree

import httpx
from PIL import Image

from activitypub.urls import path_for
from instance.favicon import GOLD, GREEN


def icon_links(html: str) -> dict[str, str]:
    """The page's ``<link rel="icon">``: href → its other attributes."""
    found = re.findall(r'<link rel="icon" href="([^"]+)"([^>]*)>', html)
    return dict(found)


async def test_every_page_links_the_icon(client: httpx.AsyncClient) -> None:
    for path in ("/", "/login", "/search", "/no/such/page"):
        page = await client.get(path, headers={"Accept": "text/html"})
        links = icon_links(page.text)
        ico, svg = list(links)
        assert ico == "/favicon.ico" and 'sizes="16x16 32x32"' in links[ico], path
        assert re.fullmatch(r"/static/favicon\.svg\?v=[0-9a-f]{16}", svg), svg
        assert 'type="image/svg+xml"' in links[svg], path


async def test_the_svg_icon_is_ours_and_cached(client: httpx.AsyncClient) -> None:
    page = await client.get("/login", headers={"Accept": "text/html"})
    link = list(icon_links(page.text))[1]
    r = await client.get(link)
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    svg = ElementTree.fromstring(r.content)
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.tag == f"{ns}svg" and svg.get("viewBox") == "0 0 32 32"
    [disc] = svg.iter(f"{ns}circle")
    [pines] = svg.iter(f"{ns}path")
    assert disc.get("fill") == "#f2c14e" and GOLD == (0xF2, 0xC1, 0x4E)
    assert pines.get("fill") == "#1f6f4a" and GREEN == (0x1F, 0x6F, 0x4A)
    assert pines.get("d", "").count("Z") == 6  # two pines: two tiers and a trunk each
    assert b"http" not in r.content.replace(b"http://www.w3.org/2000/svg", b"")  # nothing fetched
    again = await client.get(link, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    stale = await client.get(path_for("favicon_svg", query={"v": "old"}))
    assert stale.status_code == 200 and "immutable" not in stale.headers["cache-control"]


async def test_favicon_ico_is_an_icon_of_two_sizes(client: httpx.AsyncClient) -> None:
    r = await client.get("/favicon.ico")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/vnd.microsoft.icon"
    assert r.headers["cache-control"] == "public, max-age=86400"
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    reserved, kind, count = struct.unpack("<HHH", r.content[:6])
    assert (reserved, kind, count) == (0, 1, 2)
    icon = Image.open(io.BytesIO(r.content))
    assert icon.format == "ICO" and icon.info["sizes"] == {(16, 16), (32, 32)}
    big = icon.ico.getimage((32, 32)).convert("RGBA")
    assert big.getpixel((0, 0))[3] == 0  # round: the corners are transparent
    assert big.getpixel((16, 3))[:3] == GOLD  # the disc, between the treetops
    assert big.getpixel((11, 17))[:3] == GREEN  # the left pine
    assert big.getpixel((21, 17))[:3] == GREEN  # the right pine
    assert big.getpixel((16, 28))[:3] == GOLD  # the ground, under the trunks
    small = icon.ico.getimage((16, 16)).convert("RGBA")
    assert small.getpixel((0, 0))[3] == 0 and small.getpixel((5, 9))[:3] == GREEN
    again = await client.get("/favicon.ico", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
