"""A conversation per booking: messages between its two parties, and no one else.

A message written here is stored and sent to the other party alone as a private ``Note`` whose
``context`` is the agreement (or, before it, the request); one received is stored as plain text
(its HTML reduced by nh3), once (by its id).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub.bookings_input import MAX_MESSAGE
from federation.context import Federation
from federation.services.bookings_lifecycle import Side, local_side
from federation.services.bookings_send import send_message
from federation.services.notifications import notify_booking
from models.actors import LocalActor
from models.bookings import Booking, BookingMessage

log = logging.getLogger(__name__)


async def post_message(
    fed: Federation, actor: LocalActor, booking: Booking, content: str
) -> BookingMessage:
    """A party here writes to the other party."""
    side = local_side(booking, actor)
    sent = BookingMessage(
        booking_id=booking.id,
        ap_id=fed.urls.new_activity_id(),
        author_uri=booking.booker_uri if side == "booker" else booking.author_uri,
        content=content.strip()[:MAX_MESSAGE],
        created_at=datetime.now(UTC),
    )
    async with in_transaction():
        await sent.save()
        await send_message(fed, booking, sent)
        told: Side = "author" if side == "booker" else "booker"
        await notify_booking(booking, "message", told, detail=sent.content, source=sent.ap_id)
    log.info("booking message sent", extra={"booking": booking.ap_id, "by": side})
    return sent


async def receive_message(
    booking: Booking, ap_id: str, author_uri: str, text: str
) -> BookingMessage | None:
    """A message from the other party (already checked to be one); None when already stored.
    Dated when received: the conversation reads in the order it reached this instance (the
    sender's ``published`` is to the second, and its clock is not ours)."""
    try:
        received = await BookingMessage.create(
            booking_id=booking.id,
            ap_id=ap_id,
            author_uri=author_uri,
            content=text[:MAX_MESSAGE],
            created_at=datetime.now(UTC),
        )
    except IntegrityError:
        return None
    told: Side = "booker" if author_uri == booking.author_uri else "author"
    await notify_booking(booking, "message", told, detail=text, source=ap_id)
    return received
