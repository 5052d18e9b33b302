"""When an account is deleted, its bookings in progress end, and the other party is told, so
that nobody waits for a ride whose driver is gone.

- A member here deletes their account (``end_member_bookings``, before its offers and the
  ``Delete`` of the actor): what they asked for is withdrawn or cancelled as a booker does it
  (``Undo`` of the request), what was asked of them is declined or cancelled as an author does
  it (``Reject``); a member here on the other side gets a notification. Sent while the actor
  still exists, so each notice is signed with a key the other server can still fetch.
- A remote actor's ``Delete`` arrives (``end_bookings_with``): its bookings with members here
  end the same way, as if it had sent those notices. Deliveries run concurrently, so its
  ``Delete`` may be processed before its ``Undo``/``Reject`` (which are then dropped, their
  signer gone): the outcome is the same whichever comes first.

A delivery job already picked up is left to its courier's report, as when an offer is deleted
(``bookings_offer_end``): only delivered or failed can end it. Finished, declined and expired
bookings are left as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import UTC, datetime

from tortoise.expressions import Q

from activitypub.bookings_errors import BookingRefused
from federation.context import Federation
from federation.services.bookings_decide import decline_booking
from federation.services.bookings_lifecycle import cancel
from federation.services.bookings_rules import ACTIVE
from federation.services.notifications import notify_booking
from models.actors import LocalActor
from models.bookings import Booking, BookingState

log = logging.getLogger(__name__)

ACCOUNT_DELETED = "The account was deleted"
"""The reason both sides record (and the other party reads), in the language of the wire, as
``bookings_offer_end.REASONS``."""


def _in_progress() -> dict[str, object]:
    return {"state__in": ACTIVE, "progress__isnull": True}


def _takes_part(actor: LocalActor) -> Q:
    return Q(booker_id=actor.id) | Q(author_id=actor.id)


async def under_way(actor: LocalActor) -> int:
    """Delivery jobs picked up and not yet delivered (or failed) that ``actor`` takes part
    in: a deletion would leave the other side waiting for a report that cannot come."""
    return await Booking.filter(
        _takes_part(actor), state=BookingState.ACCEPTED, progress__isnull=False
    ).count()


async def in_progress(actor: LocalActor) -> int:
    """How many of ``actor``'s bookings (asked for, or asked of them) a deletion cancels."""
    return await Booking.filter(_takes_part(actor), **_in_progress()).count()


async def _ended(booking: Booking, ending: Awaitable[object]) -> bool:
    """Await ``ending``; False when the booking changed meanwhile (answered, cancelled by the
    other side) and is left as it now is."""
    try:
        await ending
    except BookingRefused as exc:
        log.info("booking left as is", extra={"booking": booking.ap_id, "detail": exc.detail})
        return False
    return True


async def end_member_bookings(fed: Federation, actor: LocalActor) -> int:
    """Cancel what a member here asked for and what was asked of them; how many ended."""
    count = 0
    for booking in await Booking.filter(booker_id=actor.id, **_in_progress()).order_by("id"):
        count += await _ended(booking, cancel(fed, booking, "booker", ACCOUNT_DELETED))
    for booking in await Booking.filter(author_id=actor.id, **_in_progress()).order_by("id"):
        if booking.state == BookingState.REQUESTED:
            ending = decline_booking(fed, actor, booking, ACCOUNT_DELETED)
        else:
            ending = cancel(fed, booking, "author", ACCOUNT_DELETED)
        count += await _ended(booking, ending)
    if count:
        log.info("account's bookings ended", extra={"actor": actor.username, "count": count})
    return count


async def _declined(booking: Booking) -> bool:
    """A request to an author who is gone: declined, as its ``Reject`` would have done."""
    now = datetime.now(UTC)
    changed = await Booking.filter(id=booking.id, state=BookingState.REQUESTED).update(
        state=BookingState.DECLINED, reason=ACCOUNT_DELETED, decided_at=now, updated_at=now
    )
    if changed:
        booking.state, booking.reason = BookingState.DECLINED, ACCOUNT_DELETED
        await notify_booking(booking, "declined", "booker", detail=ACCOUNT_DELETED)
    return bool(changed)


async def end_bookings_with(fed: Federation, uri: str) -> int:
    """A remote actor was deleted: its bookings in progress with members here end as its own
    ``Undo`` or ``Reject`` would have ended them (the member here is notified); how many."""
    count = 0
    asked = Booking.filter(booker_uri=uri, booker_id__isnull=True, **_in_progress())
    for booking in await asked.order_by("id"):
        count += await _ended(booking, cancel(fed, booking, "booker", ACCOUNT_DELETED))
    answering = Booking.filter(author_uri=uri, author_id__isnull=True, **_in_progress())
    for booking in await answering.order_by("id"):
        if booking.state == BookingState.REQUESTED:
            count += await _declined(booking)
        else:
            count += await _ended(booking, cancel(fed, booking, "author", ACCOUNT_DELETED))
    if count:
        log.info("deleted actor's bookings ended", extra={"actor": uri, "count": count})
    return count
