"""The navigation's counts, read in one statement (``instance.nav_counts.nav_counts``), are
what ``pending_requests`` and ``unread_count`` count, for a member and for an admin (who also
reads the coops' notifications, not a deleted coop's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from federation.context import Federation
from federation.services.accounts import create_actor
from federation.services.bookings import pending_requests
from federation.services.notifications import unread_count
from instance.nav_counts import nav_counts
from models.actors import ActorKind, LocalActor
from models.bookings import Booking, BookingState
from models.notifications import Notification, NotificationKind
from models.offers import OfferKind, Purpose

NOW = datetime.now(UTC)


async def _booking(n: int, author: LocalActor, state: BookingState) -> None:
    await Booking.create(
        local_uuid=f"00000000-0000-4000-8000-{n:012d}",
        ap_id=f"https://peer.example/bookings/{n}",
        offer_uri="https://coop.example/offers/1",
        kind=OfferKind.RIDE,
        purpose=Purpose.OFFER,
        title="Lyon → Grenoble",
        booker_uri="https://peer.example/u/zoe",
        author_id=author.id,
        author_uri=f"https://coop.example/users/{author.username}",
        quantity=1,
        happens_at=NOW + timedelta(days=2),
        state=state,
        created_at=NOW,
        updated_at=NOW,
    )


async def _notification(n: int, recipient: LocalActor, read: bool) -> None:
    await Notification.create(
        recipient_id=recipient.id,
        kind=NotificationKind.FOLLOW,
        actor_uri="https://peer.example/u/zoe",
        dedupe_key=f"follow:{n}",
        created_at=NOW,
        read_at=NOW if read else None,
    )


async def _expected(member: LocalActor, admin: bool) -> tuple[int, int]:
    return await pending_requests(member.id), await unread_count(member.id, admin=admin)


async def test_the_counts_are_the_services(fed: Federation, coop: LocalActor) -> None:
    alice = await create_actor(ActorKind.MEMBER, "alice", coop=coop)
    bob = await create_actor(ActorKind.MEMBER, "bob", coop=coop)
    gone = await create_actor(ActorKind.COOP, "gone")
    for admin in (False, True):
        assert await nav_counts(alice.id, admin=admin) == (0, 0)
    states = [BookingState.REQUESTED] * 3 + [BookingState.ACCEPTED, BookingState.DECLINED]
    for n, state in enumerate(states):
        await _booking(n, alice, state)
    await _booking(10, bob, BookingState.REQUESTED)
    unread = [alice, alice, bob, coop, gone, gone]
    for n, who in enumerate(unread):
        await _notification(n, who, read=False)
    for n, who in enumerate([alice, coop], start=len(unread)):
        await _notification(n, who, read=True)
    await LocalActor.filter(id=gone.id).update(deleted_at=NOW)

    assert await nav_counts(alice.id) == await _expected(alice, False) == (3, 2)
    assert await nav_counts(alice.id, admin=True) == await _expected(alice, True) == (3, 3)
    assert await nav_counts(bob.id) == await _expected(bob, False) == (1, 1)
    assert await nav_counts(bob.id, admin=True) == await _expected(bob, True) == (1, 2)
