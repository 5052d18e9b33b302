"""When an author closes, cancels or deletes an offer, its bookings follow, and the other party
is told, so that nobody waits for a ride that will not leave.

- Closed: the requests still waiting are declined ("The offer was closed"); accepted bookings
  stand (closing only stops new requests).
- Cancelled or deleted: the waiting requests are declined and the accepted bookings cancelled,
  with that reason. A delivery job already picked up is left to its courier's report: the crate
  is on its way and only delivered or failed can end it.

Each change is a conditional ``UPDATE``, so a booking answered or cancelled meanwhile is left as
it is. Called by ``services/offers`` in the transaction that changes the offer.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Literal

from federation.context import Federation
from federation.services.bookings_send import send_reject
from models.bookings import Booking, BookingState

log = logging.getLogger(__name__)

Ending = Literal["closed", "cancelled", "deleted"]
REASONS: dict[Ending, str] = {
    "closed": "The offer was closed",
    "cancelled": "The offer was cancelled",
    "deleted": "The offer was deleted",
}


async def end_bookings(fed: Federation, offer_id: int, ending: Ending) -> int:
    """Decline the waiting requests of a local offer (and cancel its accepted bookings unless
    it is only closed); how many bookings changed."""
    reason, now = REASONS[ending], datetime.now(UTC)
    states = [BookingState.REQUESTED]
    if ending != "closed":
        states.append(BookingState.ACCEPTED)
    count = 0
    for booking in await Booking.filter(offer_id=offer_id, state__in=states, progress__isnull=True):
        was = BookingState(booking.state)
        new = BookingState.DECLINED if was == BookingState.REQUESTED else BookingState.CANCELLED
        changed = await Booking.filter(id=booking.id, state=was, progress__isnull=True).update(
            state=new,
            reason=reason,
            private={},  # erased, as on any cancellation (bookings_lifecycle)
            decided_at=booking.decided_at or now,
            updated_at=now,
        )
        if not changed:
            continue
        booking.state, booking.reason = new, reason
        await send_reject(fed, booking, reason, cancelled=was == BookingState.ACCEPTED)
        count += 1
    if count:
        log.info("offer ended its bookings", extra={"offer_id": offer_id, "count": count})
    return count
