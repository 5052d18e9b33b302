"""Security headers on every response, as pure ASGI middleware.

The pages load nothing but this site's own stylesheet (``/static/coopub.css``) and run no
script at all, so the policy allows only ``'self'``: no inline script or style, no ``style=``
attribute, no other origin; a template that needs one fails in the browser test instead of
weakening the policy. Pages may not be framed (clickjacking), bases and form targets stay on
this site, and no response is ever sniffed as another type. The headers go on JSON too: they
cost nothing there, and a JSON document opened in a browser is a page like any other.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
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
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
