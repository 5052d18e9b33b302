"""Capacity, decided atomically on the author's instance: seats, nights and jobs.

Every change is a conditional ``UPDATE`` of the offer's row (``quantity_available =
quantity_available - q WHERE quantity_available >= q AND status = 'open'``): the database
applies them one at a time, so concurrent acceptances never take more than there is and the
count never goes negative. Called inside the caller's transaction; a refusal raised here rolls
the whole decision back. A stay's nights are checked against the accepted bookings once the
offer's row is locked by an ``UPDATE`` (a row lock until commit on PostgreSQL, of the kind that
does not conflict with the foreign-key checks of inserted bookings; SQLite serialises writers).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.expressions import F

from activitypub.bookings_errors import BookingRefused
from models.bookings import Booking, BookingState, Progress
from models.offers import Offer, OfferKind, OfferStatus

PROGRESS_STATUS = {
    Progress.PICKED_UP: OfferStatus.PICKED_UP,
    Progress.DELIVERED: OfferStatus.DELIVERED,
    Progress.FAILED: OfferStatus.FAILED,
}
HELD = (BookingState.ACCEPTED, BookingState.DONE, BookingState.NOT_HAPPENED)
"""Bookings that hold nights (a stay that took place still took them)."""


def _now() -> datetime:
    return datetime.now(UTC)


async def _refused(offer_id: int, quantity: int) -> BookingRefused:
    """Why the offer could not take ``quantity``, read after the conditional update failed."""
    offer = await Offer.get(id=offer_id)
    taken = offer.status in (OfferStatus.ASSIGNED, OfferStatus.PICKED_UP)
    if offer.kind == OfferKind.DELIVERY_JOB and taken:
        return BookingRefused("already_assigned")
    if offer.status != OfferStatus.OPEN:
        return BookingRefused("offer_not_open", status=OfferStatus(offer.status).value)
    return BookingRefused("not_enough", "quantity", available=offer.quantity_available or 0)


async def overlapping(
    offer_id: int, starts_at: datetime | None, ends_at: datetime | None, exclude: int | None = None
) -> bool:
    """Whether a held booking of this stay (other than ``exclude``) shares a night with the
    stay from ``starts_at`` to ``ends_at``."""
    if starts_at is None or ends_at is None:
        return False
    query = Booking.filter(
        offer_id=offer_id, state__in=HELD, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if exclude is not None:
        query = query.exclude(id=exclude)
    return await query.exists()


async def take(offer: Offer, booking: Booking) -> None:
    """Give the booking its share of the offer, or refuse with nothing changed."""
    now, q = _now(), booking.quantity
    if offer.kind == OfferKind.DELIVERY_JOB:
        taken = await Offer.filter(id=offer.id, status=OfferStatus.OPEN).update(
            status=OfferStatus.ASSIGNED, updated_at=now
        )
        if not taken:
            raise await _refused(offer.id, q)
        return
    if offer.kind == OfferKind.STAY:
        # The update locks the row until commit: the next acceptance of this stay waits here,
        # then sees this one's nights.
        locked = await Offer.filter(id=offer.id, status=OfferStatus.OPEN).update(updated_at=now)
        if not locked:
            raise await _refused(offer.id, q)
        if await overlapping(offer.id, booking.starts_at, booking.ends_at, exclude=booking.id):
            raise BookingRefused("overlap", "starts_at")
        return
    if offer.quantity_available is None:  # a proposal without a count: nothing to take
        return
    taken = await Offer.filter(
        id=offer.id, status=OfferStatus.OPEN, quantity_available__gte=q
    ).update(quantity_available=F("quantity_available") - q, updated_at=now)
    if not taken:
        raise await _refused(offer.id, q)
    await Offer.filter(id=offer.id, status=OfferStatus.OPEN, quantity_available=0).update(
        status=OfferStatus.FULL
    )


async def give_back(offer_id: int, booking: Booking) -> bool:
    """The booking's share returns to the offer (a cancellation); True when the offer changed.
    A closed, cancelled or expired offer stays as it is."""
    now, q = _now(), booking.quantity
    offer = await Offer.get_or_none(id=offer_id)
    if offer is None or offer.kind == OfferKind.STAY:
        return False
    if offer.kind == OfferKind.DELIVERY_JOB:
        reopened = await Offer.filter(id=offer_id, status=OfferStatus.ASSIGNED).update(
            status=OfferStatus.OPEN, updated_at=now
        )
        return bool(reopened)
    if offer.quantity_available is None:
        return False
    returned = await Offer.filter(
        id=offer_id, status__in=(OfferStatus.OPEN, OfferStatus.FULL)
    ).update(quantity_available=F("quantity_available") + q, updated_at=now)
    if offer.quantity_total is not None:  # never more than offered (an author's edit between)
        await Offer.filter(id=offer_id, quantity_available__gt=offer.quantity_total).update(
            quantity_available=offer.quantity_total
        )
    await Offer.filter(id=offer_id, status=OfferStatus.FULL, quantity_available__gt=0).update(
        status=OfferStatus.OPEN
    )
    return bool(returned)


async def job_progressed(offer_id: int | None, progress: Progress) -> bool:
    """A delivery job's offer follows its assignee's progress; True when it changed."""
    if offer_id is None:
        return False
    before = {
        Progress.PICKED_UP: (OfferStatus.ASSIGNED,),
        Progress.DELIVERED: (OfferStatus.PICKED_UP,),
        Progress.FAILED: (OfferStatus.PICKED_UP,),
    }[progress]
    changed = await Offer.filter(id=offer_id, status__in=before).update(
        status=PROGRESS_STATUS[progress], updated_at=_now()
    )
    return bool(changed)
