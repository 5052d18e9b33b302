"""Security headers on every response, as pure ASGI middleware.

The pages load nothing but this site's own stylesheet (``/static/coopub.css``) and run no
script at all, so the policy allows only ``'self'``: no inline script or style, no ``style=``
attribute, no other origin; a template that needs one fails in the browser test instead of
weakening the policy. Pages may not be framed (clickjacking), bases and form targets stay on
this site, and no response is ever sniffed as another type. The headers go on JSON too: they
cost nothing there, and a JSON document opened in a browser is a page like any other.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_RAW_HEADERS = tuple(
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in SECURITY_HEADERS.items()
)
"""``SECURITY_HEADERS`` as ASGI wants them: encoded once, not per response."""


class SecurityHeaders:
    """Add ``SECURITY_HEADERS`` to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = message.setdefault("headers", [])
                present = {name.lower() for name, _ in raw}
                missing = [h for h in _RAW_HEADERS if h[0] not in present]
                if missing:
                    message["headers"] = [*raw, *missing]
            await send(message)

        await self.app(scope, receive, send_with_headers)
