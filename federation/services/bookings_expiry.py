"""Requests nobody answered before their date expire, on both sides.

Run with the offers' expiry, at every worker pass (one indexed query when there is nothing to
do). Each instance expires its own rows; the author's also tells a remote booker (a ``Reject``
of the request, or a direct message), so the booker learns it even if its own clock is late.
A request holds no seats, so no offer changes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from federation.context import Federation
from federation.services.bookings_send import send_reject
from models.bookings import Booking, BookingState
from models.i18n import N_

log = logging.getLogger(__name__)

EXPIRED_REASON = N_("The request expired without an answer")
BATCH = 100


async def expire_bookings(fed: Federation) -> int:
    """Expire the unanswered requests whose date has passed; how many were expired."""
    now = datetime.now(UTC)
    due = await Booking.filter(state=BookingState.REQUESTED, happens_at__lt=now).limit(BATCH)
    count = 0
    for booking in due:
        async with in_transaction():
            changed = await Booking.filter(id=booking.id, state=BookingState.REQUESTED).update(
                state=BookingState.EXPIRED, reason=EXPIRED_REASON, updated_at=now
            )
            if not changed:
                continue
            booking.state, booking.reason = BookingState.EXPIRED, EXPIRED_REASON
            await send_reject(fed, booking, EXPIRED_REASON, cancelled=False)
        count += 1
        log.info("booking expired", extra={"booking": booking.ap_id})
    return count
