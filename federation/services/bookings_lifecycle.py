"""After the answer: cancellation (either side, with a reason; the seats come back), completion
(done or didn't happen, either side, once it has taken place) and a delivery job's progress
(the courier's side only: picked up, then delivered or failed).

Cancelling erases the private details (meeting point, contact, exact address) from the
booking's row, on each instance as it learns of it: the booking will not take place, so a
host's address or a driver's phone number has no business staying with the other party (the
author's offer keeps its own). A booking that took place (done, not happened) keeps them: both
parties saw them, and a bag left in the car still needs the contact.

Each function takes the ``side`` acting, so the same rules hold for a member here (through the
API or a page) and for the other party's instance (through the inbox, ``bookings_inbox``): a
rule broken raises its coded refusal and nothing changes. Only a change made here is told to
the other party (``bookings_send`` sends nothing for one that came from them).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Literal

from tortoise.transactions import in_transaction

from activitypub.bookings import AgreementStatus
from activitypub.bookings_errors import BookingForbidden, BookingRefused
from federation.context import Federation
from federation.services.bookings_capacity import give_back, job_progressed
from federation.services.bookings_send import send_reject, send_status, send_undo
from federation.services.notifications import notify_booking
from federation.services.offers import publish_offer_change
from models.actors import LocalActor
from models.bookings import Booking, BookingState, Progress
from models.errors import NotFound
from models.offers import OfferKind

log = logging.getLogger(__name__)

Side = Literal["booker", "author"]
Outcome = Literal["done", "not_happened"]
PREVIOUS: dict[Progress, Progress | None] = {
    Progress.PICKED_UP: None,
    Progress.DELIVERED: Progress.PICKED_UP,
    Progress.FAILED: Progress.PICKED_UP,
}
WIRE_STATUS: dict[Progress, AgreementStatus] = {
    Progress.PICKED_UP: "picked_up",
    Progress.DELIVERED: "delivered",
    Progress.FAILED: "failed",
}
FINAL = {Progress.DELIVERED: BookingState.DONE, Progress.FAILED: BookingState.NOT_HAPPENED}
REMOTE_SKEW = timedelta(minutes=5)
"""Another instance's clock may run a little ahead of ours."""


def local_side(booking: Booking, actor: LocalActor) -> Side:
    """The side a member here takes in a booking (404 for anyone else)."""
    if booking.booker_id == actor.id:
        return "booker"
    if booking.author_id == actor.id:
        return "author"
    raise NotFound(f"{actor.username} is not a party to {booking.ap_id}", "No such booking")


def remote_side(booking: Booking, uri: str) -> Side | None:
    """The side a remote actor takes (None: not a party, or the party that is ours)."""
    if uri == booking.booker_uri and booking.booker_id is None:
        return "booker"
    if uri == booking.author_uri and booking.author_id is None:
        return "author"
    return None


def _state(booking: Booking) -> str:
    return BookingState(booking.state).value


async def _release(fed: Federation, booking: Booking) -> None:
    """Seats (or the job) back to an offer of ours, and everyone with a copy told."""
    if booking.author_id is None or booking.offer_id is None:
        return
    if await give_back(booking.offer_id, booking):
        await publish_offer_change(fed, booking.offer_id)


def _cancellable(booking: Booking, side: Side) -> BookingState:
    """The state ``side`` may cancel the booking from, or the refusal."""
    was = BookingState(booking.state)
    if was == BookingState.REQUESTED and side == "author":
        raise BookingRefused("not_accepted", state=was.value)
    if was not in (BookingState.REQUESTED, BookingState.ACCEPTED):
        raise BookingRefused("not_accepted", state=was.value)
    if booking.progress is not None:
        raise BookingRefused("picked_up")
    return was


async def _mark_cancelled(booking: Booking, side: Side, reason: str) -> BookingState:
    """The conditional ``UPDATE`` to cancelled, private details erased; the state it left.
    ``booking`` may be stale: a request accepted since (the booker's ``Undo`` crossed the
    author's ``Accept``) is cancelled as an accepted booking, not refused, since the state
    moves at most once between the two that allow it."""
    current = booking
    for _ in range(2):
        was = _cancellable(current, side)
        changed = await Booking.filter(id=booking.id, state=was, progress__isnull=True).update(
            state=BookingState.CANCELLED, reason=reason, private={}, updated_at=datetime.now(UTC)
        )
        if changed:
            return was
        current = await Booking.get(id=booking.id)
    raise BookingRefused("not_accepted", state=_state(current))


async def cancel(fed: Federation, booking: Booking, side: Side, reason: str) -> Booking:
    """Either side cancels an accepted booking, the booker withdraws its request (the author
    declines one instead, ``decline_booking``)."""
    async with in_transaction():
        was = await _mark_cancelled(booking, side, reason)
        booking.state, booking.reason, booking.private = BookingState.CANCELLED, reason, {}
        if was == BookingState.ACCEPTED:
            await _release(fed, booking)
        if side == "booker":
            await send_undo(fed, booking, reason)
        else:
            await send_reject(fed, booking, reason, cancelled=True)
        told: Side = "author" if side == "booker" else "booker"
        await notify_booking(booking, "cancelled", told, detail=reason)
    log.info("booking cancelled", extra={"booking": booking.ap_id, "by": side})
    return await Booking.get(id=booking.id)


async def complete(
    fed: Federation,
    booking: Booking,
    side: Side,
    outcome: Outcome,
    note: str = "",
    *,
    skew: timedelta = timedelta(0),
) -> Booking:
    """Either side says whether it took place, once it has (rides and stays; a delivery job
    ends with its progress)."""
    if booking.kind == OfferKind.DELIVERY_JOB:
        raise BookingRefused("use_progress")
    if booking.state != BookingState.ACCEPTED:
        raise BookingRefused("not_accepted", state=_state(booking))
    if datetime.now(UTC) + skew < booking.happens_at:
        raise BookingRefused("too_early", date=booking.happens_at.isoformat())
    state = BookingState.DONE if outcome == "done" else BookingState.NOT_HAPPENED
    now = datetime.now(UTC)
    async with in_transaction():
        changed = await Booking.filter(id=booking.id, state=BookingState.ACCEPTED).update(
            state=state, reason=note, updated_at=now
        )
        if not changed:
            current = await Booking.get(id=booking.id)
            raise BookingRefused("not_accepted", state=_state(current))
        await send_status(fed, booking, side == "author", outcome, note)
    log.info("booking completed", extra={"booking": booking.ap_id, "outcome": outcome})
    return await Booking.get(id=booking.id)


async def progress(
    fed: Federation, booking: Booking, side: Side, step: Progress, note: str = ""
) -> Booking:
    """A delivery job's progress, from the courier's side, in order: picked up, then
    delivered or failed. The job's offer (ours) follows, and says so to its followers."""
    if booking.kind != OfferKind.DELIVERY_JOB:
        raise BookingRefused("not_a_job")
    if side != ("booker" if booking.courier_is_booker else "author"):
        raise BookingForbidden("not_courier")
    if booking.state != BookingState.ACCEPTED:
        raise BookingRefused("not_accepted", state=_state(booking))
    before = PREVIOUS[step]
    if booking.progress != before:
        raise BookingRefused("progress_order", "progress", progress=step.value)
    now = datetime.now(UTC)
    async with in_transaction():
        same = {"progress": before} if before else {"progress__isnull": True}
        changed = await Booking.filter(id=booking.id, state=BookingState.ACCEPTED, **same).update(
            progress=step,
            progress_note=note,
            state=FINAL.get(step, BookingState.ACCEPTED),
            updated_at=now,
        )
        if not changed:
            raise BookingRefused("progress_order", "progress", progress=step.value)
        if booking.author_id is not None and await job_progressed(booking.offer_id, step):
            await publish_offer_change(fed, booking.offer_id or 0)
        await send_status(fed, booking, side == "author", WIRE_STATUS[step], note)
    log.info("job progress", extra={"booking": booking.ap_id, "progress": step.value})
    return await Booking.get(id=booking.id)


# --- for members here ------------------------------------------------------------------------


async def cancel_booking(
    fed: Federation, actor: LocalActor, booking: Booking, reason: str = ""
) -> Booking:
    return await cancel(fed, booking, local_side(booking, actor), reason)


async def complete_booking(
    fed: Federation, actor: LocalActor, booking: Booking, outcome: Outcome, note: str = ""
) -> Booking:
    return await complete(fed, booking, local_side(booking, actor), outcome, note)


async def report_progress(
    fed: Federation, actor: LocalActor, booking: Booking, step: Progress, note: str = ""
) -> Booking:
    return await progress(fed, booking, local_side(booking, actor), step, note)
