"""The one stylesheet of the pages, served by the application itself.

The Content-Security-Policy (``instance/security_headers.py``) allows no inline style, so the
pages link ``/static/coopub.css?v=<digest>``. The digest changes with the file: a browser may
keep a versioned copy for a year (``immutable``), and a new release is fetched at once. An
unversioned or stale request is answered with an ETag to revalidate.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import path_for
from instance.static_files import digest_of, static_response

STYLESHEET = Path(__file__).resolve().parent.parent / "templates" / "static" / "coopub.css"
MEDIA_TYPE = "text/css; charset=utf-8"


@cache
def _stylesheet() -> bytes:
    """The file, read once per process."""
    return STYLESHEET.read_bytes()


def stylesheet_path() -> str:
    """Where the pages link the stylesheet (``{{ stylesheet_path() }}`` in base.html)."""
    return path_for("stylesheet", query={"v": digest_of(_stylesheet())})


async def stylesheet(request: Request) -> Response:
    return static_response(request, _stylesheet(), MEDIA_TYPE)
