"""The one stylesheet of the pages, served by the application itself.

The Content-Security-Policy (``instance/security_headers.py``) allows no inline style, so the
pages link ``/static/coopub.css?v=<digest>``. The digest changes with the file: a browser may
keep a versioned copy for a year (``immutable``), and a new release is fetched at once. An
unversioned or stale request is answered with an ETag to revalidate.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import path_for

STYLESHEET = Path(__file__).resolve().parent.parent / "templates" / "static" / "coopub.css"
MEDIA_TYPE = "text/css; charset=utf-8"
FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=300, must-revalidate"


@cache
def _stylesheet() -> tuple[bytes, str]:
    """The file and its digest, read once per process."""
    content = STYLESHEET.read_bytes()
    return content, hashlib.sha256(content).hexdigest()[:16]


def stylesheet_path() -> str:
    """Where the pages link the stylesheet (``{{ stylesheet_path() }}`` in base.html)."""
    return path_for("stylesheet", query={"v": _stylesheet()[1]})


async def stylesheet(request: Request) -> Response:
    content, digest = _stylesheet()
    etag = f'"{digest}"'
    versioned = request.query_params.get("v") == digest
    headers = {"ETag": etag, "Cache-Control": FOREVER if versioned else REVALIDATE}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=MEDIA_TYPE, headers=headers)
