"""The rules a request must meet, checked on the booker's instance (against its copy of the
offer, to refuse early) and again on the author's (against the offer itself, which decides).

Each broken rule raises its coded refusal (``activitypub/bookings_errors.py``) before anything
is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from activitypub.bookings_errors import BookingForbidden, BookingRefused, invalid
from activitypub.bookings_input import BookingAsk
from activitypub.offer_schema import zone
from federation.services.bookings_capacity import overlapping
from models.actors import LocalActor
from models.bookings import Booking, BookingState
from models.offers import Offer, OfferKind, OfferStatus

ACTIVE = (BookingState.REQUESTED, BookingState.ACCEPTED)


@dataclass(frozen=True)
class Party:
    """One side of a booking: its actor id, its name, and the local actor when it is ours."""

    uri: str
    name: str = ""
    local: LocalActor | None = None


def happens_at(offer: Offer, ask: BookingAsk) -> datetime:
    """When the booked thing takes place: a stay's arrival, else the offer's start."""
    if offer.kind == OfferKind.STAY and ask.starts_at is not None:
        return ask.starts_at
    return offer.starts_at


def stay_nights(offer: Offer, starts_at: datetime, ends_at: datetime) -> int:
    """A stay's nights: the days from arrival to departure in the offer's own time zone (in
    UTC, an evening arrival west of Greenwich or a morning departure east of it falls on
    another day, and a night would be lost)."""
    tz = zone(offer.timezone) or UTC
    return (ends_at.astimezone(tz).date() - starts_at.astimezone(tz).date()).days


def _check_offer(offer: Offer, now: datetime) -> None:
    status = OfferStatus(offer.status)
    if offer.kind == OfferKind.DELIVERY_JOB and status in (
        OfferStatus.ASSIGNED,
        OfferStatus.PICKED_UP,
    ):
        raise BookingRefused("already_assigned")
    if status != OfferStatus.OPEN:
        raise BookingRefused("offer_not_open", status=status.value)
    if offer.expires_at <= now:
        raise BookingRefused("offer_not_open", status=OfferStatus.EXPIRED.value)
    if offer.kind != OfferKind.STAY and offer.starts_at <= now:
        # its departure, its job's start: when a request expires (``happens_at``), so one
        # asked later would be due at once
        raise BookingRefused("offer_started")


def _check_quantity(offer: Offer, ask: BookingAsk) -> None:
    if offer.kind == OfferKind.DELIVERY_JOB:
        if ask.quantity != 1:
            raise invalid("one_job", "quantity")
        return
    available = offer.quantity_available
    if offer.kind == OfferKind.STAY:
        if offer.quantity_total is not None and ask.quantity > offer.quantity_total:
            raise invalid("too_many_guests", "quantity", max=offer.quantity_total)
        return
    if available is not None and ask.quantity > available:
        raise BookingRefused("not_enough", "quantity", available=available)


def _check_stay(offer: Offer, ask: BookingAsk, now: datetime) -> None:
    start, end = ask.starts_at, ask.ends_at
    if start is None or end is None:
        raise invalid("dates_required", "starts_at" if start is None else "ends_at")
    if end <= start:
        raise invalid("dates_order", "ends_at")
    if start < now:
        raise invalid("in_the_past", "starts_at")
    window_end = offer.ends_at or offer.expires_at
    if start < offer.starts_at or end > window_end:
        raise invalid(
            "outside_window",
            "starts_at",
            start=offer.starts_at.isoformat(),
            end=window_end.isoformat(),
        )
    most = (offer.details or {}).get("max_nights")
    if isinstance(most, int) and stay_nights(offer, start, end) > most:
        raise invalid("too_many_nights", "ends_at", max=most)


def refusal_for_anyone(offer: Offer, booker_uri: str | None) -> BookingRefused | None:
    """Why the offer takes no request from ``booker_uri`` (None: anyone), whatever is asked: one's
    own offer, or one closed, full, expired, cancelled, assigned or already started. The pages
    say it instead of showing the form; the same checks run again when a request comes."""
    try:
        if booker_uri is not None and offer.author_uri == booker_uri:
            raise BookingForbidden("own_offer")
        _check_offer(offer, datetime.now(UTC))
    except BookingRefused as exc:
        return exc
    return None


async def check_request(offer: Offer, ask: BookingAsk, booker_uri: str) -> BookingAsk:
    """The request as it will be stored (a stay's dates kept, others' dropped), or the refusal
    of the first rule it breaks."""
    now = datetime.now(UTC)
    if offer.author_uri == booker_uri:
        raise BookingForbidden("own_offer")
    _check_offer(offer, now)
    _check_quantity(offer, ask)
    if offer.kind != OfferKind.STAY:
        return ask.model_copy(update={"starts_at": None, "ends_at": None})
    _check_stay(offer, ask, now)
    if await overlapping(offer.id, ask.starts_at, ask.ends_at):
        raise BookingRefused("overlap", "starts_at")
    return ask


async def check_not_twice(offer: Offer, booker_uri: str) -> None:
    """One active request per person for a ride or a job (a stay may be booked for other
    nights)."""
    if offer.kind == OfferKind.STAY:
        return
    if await Booking.filter(offer_id=offer.id, booker_uri=booker_uri, state__in=ACTIVE).exists():
        raise BookingRefused("already_booked")
