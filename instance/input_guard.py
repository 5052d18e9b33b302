"""Refuse a NUL character in the path or the query string before any route reads it.

Starlette hands ``%00`` to routes as a NUL character, and PostgreSQL refuses NUL in every text
value, so a page that looks up ``/u/al%00ice`` or searches ``?q=%00`` would fail with a 500
deep in the driver. One check here covers every route (forms are checked in
``instance.sessions.read_form``, JSON bodies in ``activitypub.json_body``). Lone surrogates
cannot come this way: the query string and the path are decoded with replacement characters.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from activitypub.json_body import NUL_MESSAGE
from instance.errors import on_coopub_error
from models.errors import Malformed


class RefuseNul:
    """Pure ASGI middleware: 400 (HTML or JSON, as every refusal) for a NUL in the URL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query: bytes = scope.get("query_string", b"")
        if scope["type"] == "http" and (
            "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query
        ):
            response = await on_coopub_error(Request(scope), Malformed("NUL in URL", NUL_MESSAGE))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
