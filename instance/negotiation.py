"""Content negotiation: one URL serves HTML to browsers and AS2 to servers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from activitypub.urls import WELL_KNOWN, match_path

AS2_MEDIA_TYPE = "application/activity+json"
PROGRAM_PATHS = (
    "shared_inbox",
    "instance_actor_inbox",
    "directory_actor_inbox",
    "actor_inbox",
    "openapi",
    "api_offers",
    "api_offer",
    "api_offer_action",
)
_AS2_MARKERS = ("application/activity+json", "application/ld+json", "application/json")


def wants_as2(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return any(marker in accept for marker in _AS2_MARKERS)


def for_programs(path: str) -> bool:
    """Paths only programs read (inboxes, discovery documents, the JSON API): their errors are
    JSON whatever the ``Accept`` header says."""
    return path.startswith(WELL_KNOWN) or any(
        match_path(name, path) is not None for name in PROGRAM_PATHS
    )


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    if for_programs(request.url.path):
        return False
    return "text/html" in accept and not wants_as2(request)


class AS2Response(JSONResponse):
    media_type = AS2_MEDIA_TYPE

    def __init__(self, content: Any, status_code: int = 200) -> None:
        super().__init__(content, status_code=status_code, headers={"Vary": "Accept"})
