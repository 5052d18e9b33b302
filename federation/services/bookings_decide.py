"""The author's answer: accept (capacity taken atomically, private details sent to the booker
alone) or decline (with a reason). Accepting a delivery job assigns it: the other claims still
waiting are declined at once, "assigned to someone else".
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from activitypub.bookings_errors import BookingForbidden, BookingRefused
from activitypub.bookings_input import Details
from activitypub.offer_model import stored
from activitypub.offer_schema import SECTION
from federation.context import Federation
from federation.services.bookings_capacity import take
from federation.services.bookings_send import send_accept, send_reject
from federation.services.notifications import notify_booking
from federation.services.offers import publish_offer_change
from models.actors import LocalActor
from models.bookings import Booking, BookingState
from models.i18n import N_
from models.offers import Offer, OfferKind

log = logging.getLogger(__name__)

ASSIGNED_ELSEWHERE = N_("The job was assigned to someone else")


def _place_text(place: Any) -> str:
    if not isinstance(place, dict):
        return ""
    parts = [str(place.get(k) or "").strip() for k in ("name", "address")]
    return ", ".join(p for p in parts if p)


def default_details(offer: Offer) -> dict[str, Any]:
    """What the offer itself holds for the confirmed party: a stay's exact address and
    position, a job's pickup and dropoff addresses, a ride's starting point."""
    kind = OfferKind(offer.kind)
    section = stored(offer, owner=True)[SECTION[kind]]
    found: dict[str, Any] = {}
    if kind == OfferKind.STAY:
        exact = offer.private or {}
        found = {k: exact.get(k) for k in ("address", "latitude", "longitude")}
    elif kind == OfferKind.DELIVERY_JOB:
        found = {
            "pickup_address": _place_text(section.get("pickup")),
            "dropoff_address": _place_text(section.get("dropoff")),
        }
    else:
        found = {"meeting_point": _place_text(section.get("origin"))}
    return {k: v for k, v in found.items() if v not in (None, "")}


def _author_only(author: LocalActor, booking: Booking) -> None:
    if booking.author_id != author.id:
        raise BookingForbidden("not_author")


async def local_offer_of(booking: Booking) -> Offer:
    """The offer a booking received here is about (gone: it can no longer be decided)."""
    offer = await Offer.get_or_none(id=booking.offer_id) if booking.offer_id else None
    if offer is None or offer.local_uuid is None:
        raise BookingRefused("unknown_offer")
    return offer


async def accept_in_transaction(
    fed: Federation, booking: Booking, offer: Offer, extra: Details | None = None
) -> None:
    """Accept inside the caller's transaction: a refusal rolls everything back. A request whose
    date has passed is no longer accepted (it is expiring: the worker's next pass expires it
    and tells the booker, whose own instance expires it at that date too)."""
    now = datetime.now(UTC)
    private = {**default_details(offer), **(extra.model_dump(exclude_none=True) if extra else {})}
    agreement_id = fed.urls.agreement(booking.local_uuid)
    changed = await Booking.filter(
        id=booking.id, state=BookingState.REQUESTED, happens_at__gt=now
    ).update(
        state=BookingState.ACCEPTED,
        agreement_id=agreement_id,
        private=private,
        decided_at=now,
        updated_at=now,
    )
    if not changed:
        current = await Booking.get(id=booking.id)
        due = current.state == BookingState.REQUESTED  # then its date has passed
        state = BookingState.EXPIRED if due else BookingState(current.state)
        raise BookingRefused("not_requested", state=state.value)
    booking.state, booking.agreement_id, booking.private = (
        BookingState.ACCEPTED,
        agreement_id,
        private,
    )
    booking.decided_at = booking.updated_at = now
    await take(offer, booking)
    if offer.kind == OfferKind.DELIVERY_JOB:
        await _decline_other_claims(fed, booking, offer, now)
    await send_accept(fed, booking, offer)
    await notify_booking(booking, "accepted", "booker")
    await publish_offer_change(fed, offer.id)
    log.info("booking accepted", extra={"booking": booking.ap_id, "offer": offer.ap_id})


async def _decline_other_claims(
    fed: Federation, booking: Booking, offer: Offer, now: datetime
) -> None:
    others = await Booking.filter(offer_id=offer.id, state=BookingState.REQUESTED).exclude(
        id=booking.id
    )
    for other in others:
        changed = await Booking.filter(id=other.id, state=BookingState.REQUESTED).update(
            state=BookingState.DECLINED, reason=ASSIGNED_ELSEWHERE, decided_at=now, updated_at=now
        )
        if changed:
            other.state, other.reason = BookingState.DECLINED, ASSIGNED_ELSEWHERE
            await send_reject(fed, other, ASSIGNED_ELSEWHERE, cancelled=False)


async def accept_booking(
    fed: Federation, author: LocalActor, booking: Booking, details: Details | None = None
) -> Booking:
    """The author accepts a request; refused (nothing changed) when it no longer fits."""
    _author_only(author, booking)
    offer = await local_offer_of(booking)
    async with in_transaction():
        await accept_in_transaction(fed, booking, offer, details)
    return await Booking.get(id=booking.id)


async def decline_booking(
    fed: Federation, author: LocalActor, booking: Booking, reason: str = ""
) -> Booking:
    """The author declines a request; the booker is told why."""
    _author_only(author, booking)
    now = datetime.now(UTC)
    async with in_transaction():
        changed = await Booking.filter(id=booking.id, state=BookingState.REQUESTED).update(
            state=BookingState.DECLINED, reason=reason, decided_at=now, updated_at=now
        )
        if not changed:
            current = await Booking.get(id=booking.id)
            raise BookingRefused("not_requested", state=BookingState(current.state).value)
        booking.state, booking.reason = BookingState.DECLINED, reason
        await send_reject(fed, booking, reason, cancelled=False)
        await notify_booking(booking, "declined", "booker", detail=reason)
    log.info("booking declined", extra={"booking": booking.ap_id})
    return await Booking.get(id=booking.id)
