"""What a member should know about: replies, mentions, new followers, favourites, boosts and
booking events, each told once.

``notify`` writes one row per recipient and event. Its ``dedupe_key`` (unique) is built from
the kind, the event, the recipient and the activity (or object) it is about, so a redelivered
activity, or the same note reaching two inboxes, notifies once; an undone favourite or a
deleted reply takes its notification with it (``forget``). A member reads their own, and an
instance admin also those of the coops (whose accounts the admins run: replies to a coop's
announcements, its new followers).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub.urls import path_for
from federation.context import Federation
from models.actors import ActorKind, LocalActor, RemoteActor
from models.bookings import Booking
from models.follows import Follow, FollowState
from models.notifications import Notification, NotificationKind

log = logging.getLogger(__name__)

PAGE_SIZE = 20
SOURCE_ROOM = 400
"""Characters of a source kept as is in a key (the column holds 500); longer ones are hashed."""
BookingEvent = Literal["requested", "accepted", "declined", "cancelled", "message"]
BOOKING_EVENTS: tuple[BookingEvent, ...] = (
    "requested",
    "accepted",
    "declined",
    "cancelled",
    "message",
)


def dedupe_key(kind: NotificationKind, event: str, recipient_id: int, source: str) -> str:
    """``kind[.event]:recipient:source``; a source too long for the column is hashed."""
    return f"{kind.value}{'.' + event if event else ''}:{recipient_id}:{_source_part(source)}"


def _source_part(source: str) -> str:
    if len(source) <= SOURCE_ROOM:
        return source
    return "sha256:" + hashlib.sha256(source.encode()).hexdigest()


async def notify(
    recipient_id: int,
    kind: NotificationKind,
    *,
    actor_uri: str,
    actor_name: str,
    source: str,
    object_uri: str | None = "",
    link: str = "",
    text: str = "",
    event: str = "",
) -> bool:
    """Tell ``recipient_id`` that ``actor_uri`` did ``kind`` (``source``: the activity or
    object it is about); False when already told. In the caller's transaction, if any (a
    savepoint: a duplicate never spoils it)."""
    key = dedupe_key(kind, event, recipient_id, source)
    if await Notification.exists(dedupe_key=key):
        return False
    try:
        async with in_transaction():
            await Notification.create(
                recipient_id=recipient_id,
                kind=kind,
                actor_uri=actor_uri[:500],
                actor_name=actor_name[:300],
                object_uri=(object_uri or "")[:500],
                link=link[:500],
                text=text[:500],
                event=event,
                dedupe_key=key,
                created_at=datetime.now(UTC),
            )
    except IntegrityError:  # the same event, told meanwhile by another worker
        return False
    log.info("notified", extra={"recipient": recipient_id, "kind": kind.value, "event": event})
    return True


async def forget(kinds: Iterable[NotificationKind], source: str) -> int:
    """Remove what ``source`` (an undone favourite, a deleted reply) notified."""
    suffix = ":" + _source_part(source)
    return await Notification.filter(kind__in=list(kinds), dedupe_key__endswith=suffix).delete()


async def notify_follow(record: Follow, target_id: int, follower_name: str) -> bool:
    """A new follower of an account here (or one asking, for an account that approves its
    followers by hand); told once per ``Follow``."""
    pending = record.state == FollowState.PENDING
    return await notify(
        target_id,
        NotificationKind.FOLLOW,
        actor_uri=record.follower_uri,
        actor_name=follower_name,
        source=record.ap_id,
        object_uri=record.target_uri,
        link=record.follower_uri,
        event="request" if pending else "",
    )


# --- booking events -----------------------------------------------------------------------------


async def notify_booking(
    booking: Booking,
    event: BookingEvent,
    to: Literal["author", "booker"],
    *,
    detail: str = "",
    source: str = "",
) -> bool:
    """Tell the booking's party ``to`` (when it is a member here) about ``event``, done by the
    other party; ``detail``: the message, or the reason given."""
    recipient = booking.author_id if to == "author" else booking.booker_id
    if recipient is None:
        return False
    other_uri, other_name = (
        (booking.booker_uri, booking.booker_name)
        if to == "author"
        else (booking.author_uri, booking.author_name)
    )
    detail = " ".join(detail.split())
    return await notify(
        recipient,
        NotificationKind.BOOKING,
        actor_uri=other_uri,
        actor_name=other_name,
        source=source or booking.ap_id,
        object_uri=booking.offer_uri,
        link=path_for("booking", uuid=booking.local_uuid),
        text=f"{booking.title} — {detail}" if detail else booking.title,
        event=event,
    )


# --- reading ------------------------------------------------------------------------------------


async def _reader_ids(member_id: int, admin: bool) -> list[int]:
    if not admin:
        return [member_id]
    coops = await LocalActor.filter(kind=ActorKind.COOP, deleted_at=None).values_list(
        "id", flat=True
    )
    return [member_id, *(cast(int, c) for c in coops)]


async def readers_of(member: LocalActor) -> list[int]:
    """Whose notifications ``member`` reads: their own, and the coops' for an admin."""
    return await _reader_ids(member.id, member.is_admin)


async def unread_count(member_id: int, admin: bool = False) -> int:
    """The navigation's count (a COUNT on the ``recipient_id, read_at`` index)."""
    ids = await _reader_ids(member_id, admin)
    return await Notification.filter(recipient_id__in=ids, read_at__isnull=True).count()


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    total: int
    unread: int


async def notifications_of(
    member: LocalActor, offset: int = 0, limit: int = PAGE_SIZE
) -> NotificationPage:
    """Newest first."""
    query = Notification.filter(recipient_id__in=await readers_of(member))
    items = await query.order_by("-created_at", "-id").offset(offset).limit(limit)
    total = await query.count()
    unread = await query.filter(read_at__isnull=True).count()
    return NotificationPage(items, total, unread)


async def mark_read(member: LocalActor, ids: Iterable[int] | None = None) -> int:
    """Mark ``ids`` (or every notification ``member`` reads) as read."""
    query = Notification.filter(recipient_id__in=await readers_of(member), read_at__isnull=True)
    if ids is not None:
        query = query.filter(id__in=list(ids))
    return await query.update(read_at=datetime.now(UTC))


@dataclass(frozen=True)
class Who:
    """Who did it, as a notification shows them: a name, ``name@host`` and their page."""

    uri: str
    name: str
    handle: str
    url: str


async def who_did(fed: Federation, notifications: list[Notification]) -> dict[str, Who]:
    """The actors of ``notifications``: remote ones from the cache, local ones from here."""
    uris = {n.actor_uri for n in notifications}
    remote = {a.ap_id: a for a in await RemoteActor.filter(ap_id__in=sorted(uris))}
    found: dict[str, Who] = {}
    for n in notifications:
        actor = remote.get(n.actor_uri)
        parsed = fed.urls.parse_actor(n.actor_uri)
        if actor is not None:
            handle, url = actor.handle, actor.url or actor.ap_id
            name = n.actor_name or actor.name or actor.username
        elif parsed is not None:
            handle, url = f"{parsed[1]}@{fed.urls.domain}", n.actor_uri
            name = n.actor_name or parsed[1]
        else:
            handle, url, name = "", n.actor_uri, n.actor_name or n.actor_uri
        found[n.actor_uri] = Who(n.actor_uri, name, handle, url)
    return found
