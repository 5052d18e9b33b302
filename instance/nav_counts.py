"""The navigation's counts, on every page: requests waiting for the member's answer, and
unread notifications.

Templates render synchronously and cannot query, so this middleware counts before the page is
built and leaves the numbers in the request's scope (``base.html`` shows them). Only for a
logged-in member asking for a page (``text/html``, not a program's path): a ``COUNT`` on the
bookings' ``author_id`` index and one on the notifications' ``recipient_id, read_at``, nothing
for anyone else.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from federation.services.bookings import pending_requests
from federation.services.notifications import unread_count
from instance.negotiation import for_programs

PENDING = "coopub.pending_requests"
"""The scope key: the count, absent when not counted."""
UNREAD = "coopub.unread_notifications"


class PendingRequests:
    """Must sit inside the session middleware, which puts the session in the scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            member = (scope.get("session") or {}).get("member")
            accept = Headers(scope=scope).get("accept", "").lower()
            if (
                isinstance(member, int)
                and "text/html" in accept
                and not for_programs(scope["path"])
            ):
                scope[PENDING] = await pending_requests(member)
                admin = (scope.get("session") or {}).get("admin") is True
                scope[UNREAD] = await unread_count(member, admin=admin)
        await self.app(scope, receive, send)
