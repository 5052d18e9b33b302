"""Reading requests safely: a bounded body, JSON read with limits, the URI as the signer saw it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from activitypub.json_body import load_json
from models.errors import PayloadTooLarge


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"declared {declared} bytes > {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"body over {limit} bytes")
    return bytes(body)


async def read_json(request: Request, limit: int, *, empty: Any = None) -> Any:
    """A bounded JSON body read by ``activitypub.json_body.load_json`` (depth, Unicode, finite
    numbers): the one way every route reads JSON. ``empty``: what an empty body stands for
    (``None``: an empty body is refused like any other non-JSON)."""
    body = await read_body(request, limit)
    if empty is not None and not body.strip():
        return empty
    return load_json(body)


def target_uri(request: Request) -> str:
    """The absolute request URI on our public base URL (a reverse proxy may have changed the
    scheme); signatures cover the path and query, and the Host header separately."""
    base: str = request.app.state.fed.urls.base  # Starlette types app.state as Any
    uri = base + request.url.path
    if request.url.query:
        uri += "?" + request.url.query
    return uri
