"""The responses for the files the pages link (the stylesheet, the icon), built once by the
application itself: cached for a year when asked for by their versioned path, revalidated
with an ETag otherwise."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=300, must-revalidate"


def digest_of(content: bytes) -> str:
    """The version in a file's links (``?v=<digest>``): it changes with the file."""
    return hashlib.sha256(content).hexdigest()[:16]


def static_response(
    request: Request,
    content: bytes,
    media_type: str,
    *,
    unversioned: str = REVALIDATE,
) -> Response:
    """``content`` as a cacheable answer: ``immutable`` when the request names its digest
    (``?v=``), ``unversioned`` otherwise; 304 when the browser's copy is current."""
    digest = digest_of(content)
    etag = f'"{digest}"'
    versioned = request.query_params.get("v") == digest
    headers = {"ETag": etag, "Cache-Control": FOREVER if versioned else unversioned}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=media_type, headers=headers)
