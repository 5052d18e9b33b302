"""The navigation's counts, on every page: requests waiting for the member's answer, and
unread notifications.

Templates render synchronously and cannot query, so this middleware counts before the page is
built and leaves the numbers in the request's scope (``base.html`` shows them). Only for a
logged-in member asking for a page (``text/html``, not a program's path): a ``COUNT`` on the
bookings' ``author_id`` index and one on the notifications' ``recipient_id, read_at``, in one
statement written once (``nav_counts``: what ``pending_requests`` and ``unread_count`` count;
building their two or three queries with Tortoise doubled the cost of a member's page), nothing
for anyone else.
"""

from __future__ import annotations

from functools import cache

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise import connections

from instance.negotiation import for_programs
from models.actors import ActorKind
from models.bookings import BookingState

PENDING = "coopub.pending_requests"
"""The scope key: the count, absent when not counted."""
UNREAD = "coopub.unread_notifications"


@cache
def _counts_sql(postgres: bool, admin: bool) -> str:
    """Requests waiting for the member's answer (``pending_requests``) and their unread
    notifications (``unread_count``: an admin's include the coops')."""
    member = "$1" if postgres else "?"
    readers = f"recipient_id = {member}"
    if admin:
        coops = (
            f"SELECT id FROM local_actor WHERE kind = '{ActorKind.COOP.value}'"
            " AND deleted_at IS NULL"
        )
        readers = f"({readers} OR recipient_id IN ({coops}))"
    return (
        f"SELECT (SELECT COUNT(*) FROM booking WHERE author_id = {member}"
        f" AND state = '{BookingState.REQUESTED.value}') AS pending,"
        f" (SELECT COUNT(*) FROM notification WHERE {readers} AND read_at IS NULL) AS unread"
    )


async def nav_counts(member_id: int, admin: bool = False) -> tuple[int, int]:
    """``(pending_requests(member_id), unread_count(member_id, admin))``, in one query."""
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    values = [member_id] if postgres else [member_id, member_id]  # "?" is not numbered
    _, rows = await conn.execute_query(_counts_sql(postgres, admin), values)
    return int(rows[0]["pending"]), int(rows[0]["unread"])


class PendingRequests:
    """Must sit inside the session middleware, which puts the session in the scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        member = (scope.get("session") or {}).get("member") if scope["type"] == "http" else None
        if isinstance(member, int):  # the headers are read for members only
            accept = Headers(scope=scope).get("accept", "").lower()
            if "text/html" in accept and not for_programs(scope["path"]):
                admin = (scope.get("session") or {}).get("admin") is True
                scope[PENDING], scope[UNREAD] = await nav_counts(member, admin=admin)
        await self.app(scope, receive, send)
