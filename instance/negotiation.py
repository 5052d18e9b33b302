"""Content negotiation: one URL serves HTML to browsers and AS2 to servers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

AS2_MEDIA_TYPE = "application/activity+json"
_AS2_MARKERS = ("application/activity+json", "application/ld+json", "application/json")


def wants_as2(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return any(marker in accept for marker in _AS2_MARKERS)


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    if request.url.path.endswith("/inbox") or request.url.path.startswith("/.well-known"):
        return False
    return "text/html" in accept and not wants_as2(request)


class AS2Response(JSONResponse):
    media_type = AS2_MEDIA_TYPE

    def __init__(self, content: Any, status_code: int = 200) -> None:
        super().__init__(content, status_code=status_code, headers={"Vary": "Accept"})
