"""Security headers on every response of every route, and pages that need nothing the policy
forbids: one stylesheet of our own (cached), no inline style or script anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub.urls import PATHS, path_for
from federation.context import Federation
from instance.app import create_app, routes
from instance.config import parse_config
from instance.security_headers import SECURITY_HEADERS
from instance.stylesheet import STYLESHEET, stylesheet_path
from models.actors import LocalActor
from tests.conftest import TEST_DOMAIN
from tests.test_urls import SAMPLE

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {
    "content-security-policy": (
        "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def assert_secured(r: httpx.Response) -> None:
    got = {name: r.headers.get(name) for name in EXPECTED}
    assert got == EXPECTED, (r.request.method, r.request.url, r.status_code)


def test_the_policy_is_the_documented_one() -> None:
    assert {k.lower(): v for k, v in SECURITY_HEADERS.items()} == EXPECTED
    assert "unsafe" not in EXPECTED["content-security-policy"]


async def test_every_route_answers_with_the_headers(
    client: httpx.AsyncClient, member: LocalActor
) -> None:
    seen = 0
    for route in routes():
        params = {k: SAMPLE[k] for k in re.findall(r"\{(\w+)", PATHS[route.name])}
        if route.name.startswith("actor"):
            params["username"] = member.username
        path = path_for(route.name, **params)
        for method in sorted(route.methods or {"GET"}):
            for accept in ("text/html", "application/activity+json"):
                r = await client.request(method, path, headers={"Accept": accept})
                assert_secured(r)
                seen += 1
    assert seen > 2 * len(PATHS)
    pages = [await client.get(p, headers={"Accept": "text/html"}) for p in ("/", "/login")]
    assert all(
        p.status_code == 200 and p.headers["content-type"].startswith("text/html") for p in pages
    )
    for r in (await client.get("/no/such/page"), await client.post("/inbox", content=b"{")):
        assert r.status_code in (400, 404) and r.headers["content-type"].startswith(
            "application/json"
        )
        assert_secured(r)


async def test_the_stylesheet_is_ours_and_cached(client: httpx.AsyncClient) -> None:
    page = await client.get("/login", headers={"Accept": "text/html"})
    link = re.search(r'<link rel="stylesheet" href="([^"]+)">', page.text)
    assert link and link.group(1) == stylesheet_path()
    css = await client.get(link.group(1))
    assert css.status_code == 200 and css.headers["content-type"] == "text/css; charset=utf-8"
    assert css.content == STYLESHEET.read_bytes() and b"body{" in css.content
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = await client.get(link.group(1), headers={"If-None-Match": css.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    stale = await client.get(path_for("stylesheet", query={"v": "old"}))
    assert stale.status_code == 200 and "immutable" not in stale.headers["cache-control"]
    assert_secured(css)


@pytest.mark.parametrize("template", sorted((ROOT / "templates").glob("*.html")), ids=str)
def test_templates_need_no_inline_style_or_script(template: Path) -> None:
    """What the policy would block: a <style> or <script> element, a style="" attribute, an
    on*="" handler, a javascript: URL, anything loaded from another origin."""
    text = template.read_text()
    assert re.findall(r"<style|<script|\sstyle\s*=|\son[a-z]+\s*=|javascript:", text) == []
    assert re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", text) == []


async def test_an_unexpected_error_is_a_page_with_the_headers_and_the_request_id(
    fed: Federation, database_url: str
) -> None:
    """A bug in a handler: Starlette's error middleware answers, outside the app's middleware;
    the 500 still carries the headers and the request id, and says what happened in the
    reader's language (JSON for programs)."""

    async def broken(request: Request) -> Response:
        raise RuntimeError("a bug")

    config = parse_config(
        {"instance": {"domain": TEST_DOMAIN, "secret_key": "t"}, "database": {"url": database_url}}
    )
    app = create_app(config, run_worker=False, fed=fed)
    app.router.routes.append(Route("/broken-for-the-test", broken))
    # the server (uvicorn) is told of the exception after the 500 is sent: not a client's business
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{TEST_DOMAIN}") as c:
        page = await c.get(
            "/broken-for-the-test", headers={"Accept": "text/html", "Accept-Language": "fr"}
        )
        data = await c.get("/broken-for-the-test", headers={"Accept": "application/json"})
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "Erreur interne" in page.text
    assert_secured(page)
    assert page.headers["x-request-id"]
    assert data.status_code == 500 and data.json()["status"] == 500
    assert_secured(data)
