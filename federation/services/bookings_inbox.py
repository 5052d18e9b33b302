"""The other party's instance speaking: each booking activity received, checked, applied.

Registered in ``services/handlers.py``. Who may say what is checked before anything changes:
only the offer's author answers a request (``Accept``, ``Reject``), only the booker withdraws
it (``Undo``), each side updates only the agreement's id on its own host, and a message comes
from the other party of a booking. A request refused by the rules is answered with a ``Reject``
stating the reason; anything else refused raises (the inbox records it, see
``federation/outcome.py``): nothing is changed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

from tortoise.expressions import Q

from activitypub.apobject import APObject, first_id
from activitypub.bookings import (
    PROPOSAL,
    AcceptActivity,
    MessageActivity,
    RejectActivity,
    RequestActivity,
    StatusActivity,
    UndoActivity,
    read_activity,
)
from activitypub.bookings_build import plain_text
from activitypub.bookings_dm import message_text
from activitypub.bookings_errors import BookingRefused, InvalidBooking
from activitypub.bookings_input import MAX_MESSAGE, BookingAsk, parse_input
from activitypub.urls import is_uuid, match_path
from federation.context import Federation
from federation.services.bookings import receive_request
from federation.services.bookings_lifecycle import (
    REMOTE_SKEW,
    cancel,
    complete,
    progress,
    remote_side,
)
from federation.services.bookings_messages import receive_message
from federation.services.bookings_rules import Party
from federation.services.bookings_send import send_refusal
from federation.services.notifications import notify_booking
from models.actors import ActorKind, LocalActor, RemoteActor
from models.bookings import Booking, BookingMessage, BookingState, Progress
from models.errors import Blocked, Malformed, NotFound
from models.offers import Offer

log = logging.getLogger(__name__)


async def _addressee(fed: Federation, act: APObject) -> LocalActor | None:
    """The member here a request is addressed to."""
    for uri in act.audience:
        parsed = fed.urls.parse_actor(uri)
        if parsed and parsed[0] == ActorKind.MEMBER:
            found = await LocalActor.get_or_none(username=parsed[1], deleted_at=None)
            if found is not None:
                return found
    return None


async def _refuse(
    fed: Federation, author: LocalActor, signer: RemoteActor, request_id: str, reason: str
) -> None:
    await send_refusal(fed, author, signer, request_id, reason)
    log.info("booking refused", extra={"request": request_id, "reason": reason})


async def on_offer(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    """``Offer{Agreement}``: a request for one of our offers."""
    if act.id is None:
        raise Malformed("Offer without an id")
    if await Booking.exists(ap_id=act.id):
        return  # delivered twice
    addressee = await _addressee(fed, act)
    try:
        request = read_activity(act.raw, RequestActivity, followers=signer.followers_url)
    except Malformed as exc:
        if addressee is None:
            raise
        reason = BookingRefused("malformed", detail=str(exc)[:300]).public_message
        await _refuse(fed, addressee, signer, act.id, f"{reason} ({str(exc)[:300]})")
        return
    offer = await Offer.get_or_none(ap_id=request.object.offer_id, local_uuid__not_isnull=True)
    author = await LocalActor.get_or_none(id=offer.author_id) if offer and offer.author_id else None
    if offer is None or author is None:
        if addressee is None:
            raise NotFound(f"Offer for {request.object.offer_id}: not an offer of ours")
        unknown = BookingRefused("unknown_offer").public_message
        await _refuse(fed, addressee, signer, act.id, unknown)
        return
    agreement = request.object
    try:
        ask = parse_input(
            BookingAsk,
            {
                "quantity": agreement.quantity,
                "starts_at": agreement.startTime,
                "ends_at": agreement.endTime,
                "message": plain_text(agreement.content or "", MAX_MESSAGE),
            },
        )
        booker = Party(signer.ap_id, signer.name or signer.username)
        await receive_request(fed, offer, ask, booker, ap_id=act.id)
    except (BookingRefused, InvalidBooking) as exc:
        await _refuse(fed, author, signer, act.id, exc.public_message)


async def _sent_from_here(act: APObject, signer: RemoteActor) -> Booking | None:
    """The booking an author's answer is about: a request sent from here, to that author."""
    oid = act.object_id or ""
    booking = await Booking.get_or_none(ap_id=oid) or await Booking.get_or_none(agreement_id=oid)
    if booking is None:
        return None
    if booking.booker_id is None or booking.author_id is not None:
        raise Blocked(f"{act.type} of {oid}: not a request sent from here")
    if signer.ap_id != booking.author_uri:
        raise Blocked(f"{signer.ap_id} answered a request to {booking.author_uri}")
    return booking


async def on_booking_accept(fed: Federation, act: APObject, signer: RemoteActor) -> bool:
    """``Accept{result: Agreement}``: our request is accepted (False: not about a booking).

    A request this side expired on its own clock, no answer having come (``decided_at`` unset),
    still takes it: the author decided before the date by its clock (its instance refuses to
    accept after it) and holds the seats; refusing would leave the two sides disagreeing."""
    booking = await _sent_from_here(act, signer)
    if booking is None:
        return False
    result = read_activity(act.raw, AcceptActivity, followers=signer.followers_url).result
    if result.offer_id != booking.offer_uri or result.quantity != booking.quantity:
        raise Malformed(f"Accept of {booking.ap_id}: the agreement is not what was asked")
    if await Booking.filter(agreement_id=result.id).exclude(id=booking.id).exists():
        raise Malformed(f"Accept of {booking.ap_id}: agreement {result.id} already used")
    now = datetime.now(UTC)
    details = result.privateDetails.stored() if result.privateDetails else {}
    waiting = Q(state=BookingState.REQUESTED) | Q(
        state=BookingState.EXPIRED, decided_at__isnull=True
    )
    changed = await Booking.filter(waiting, id=booking.id).update(
        state=BookingState.ACCEPTED,
        agreement_id=result.id,
        private=details,
        decided_at=now,
        updated_at=now,
    )
    if not changed:
        raise BookingRefused("not_requested", state=BookingState(booking.state).value)
    await notify_booking(booking, "accepted", "booker")
    log.info("booking accepted by its author", extra={"booking": booking.ap_id})
    return True


ENDED_UNANSWERED = (BookingState.EXPIRED, BookingState.DECLINED, BookingState.CANCELLED)


async def on_booking_reject(fed: Federation, act: APObject, signer: RemoteActor) -> bool:
    """``Reject`` of our request (declined, refused, expired) or of the agreement (cancelled
    by its author)."""
    booking = await _sent_from_here(act, signer)
    if booking is None:
        return False
    reason = plain_text(
        read_activity(act.raw, RejectActivity, followers=signer.followers_url).content or "", 2000
    )
    if booking.state == BookingState.ACCEPTED:
        await cancel(fed, booking, "author", reason)
        return True
    now = datetime.now(UTC)
    state = BookingState.EXPIRED if booking.happens_at < now else BookingState.DECLINED
    changed = await Booking.filter(id=booking.id, state=BookingState.REQUESTED).update(
        state=state, reason=reason, decided_at=now, updated_at=now
    )
    if not changed and booking.state in ENDED_UNANSWERED:
        # Both sides expire an unanswered request at its date, and a withdrawal can cross
        # the author's answer: the request is already over here, the Reject only confirms it.
        log.info("reject of an ended request", extra={"booking": booking.ap_id})
        return True
    if not changed:
        raise BookingRefused("not_requested", state=BookingState(booking.state).value)
    if state == BookingState.DECLINED:
        await notify_booking(booking, "declined", "booker", detail=reason)
    log.info("booking declined by its author", extra={"booking": booking.ap_id})
    return True


async def on_booking_undo(fed: Federation, act: APObject, signer: RemoteActor) -> bool:
    """``Undo`` of a request made to us: the booker withdraws it or cancels the booking."""
    booking = await Booking.get_or_none(ap_id=act.object_id or "")
    if booking is None:
        return False
    if remote_side(booking, signer.ap_id) != "booker":
        raise Blocked(f"{signer.ap_id} undid a request of {booking.booker_uri}")
    reason = plain_text(
        read_activity(act.raw, UndoActivity, followers=signer.followers_url).content or "", 2000
    )
    await cancel(fed, booking, "booker", reason)
    return True


async def _by_agreement(agreement_id: str) -> Booking | None:
    booking = await Booking.get_or_none(agreement_id=agreement_id)
    if booking is None and agreement_id.endswith(PROPOSAL):
        booking = await Booking.get_or_none(ap_id=agreement_id.removesuffix(PROPOSAL))
    return booking


async def on_booking_update(fed: Federation, act: APObject, signer: RemoteActor) -> bool:
    """``Update{Agreement{status}}``: done, not happened, or a job's progress, from the other
    party, each side naming the agreement by its own id."""
    inner = act.object
    if inner is None or not inner.is_a("Agreement"):
        return False
    booking = await _by_agreement(inner.id or "")
    if booking is None:
        raise NotFound(f"Update of agreement {inner.id}: no such booking")
    side = remote_side(booking, signer.ap_id)
    own_id = booking.agreement_id if side == "author" else booking.ap_id + PROPOSAL
    if side is None or inner.id != own_id:
        raise Blocked(f"{signer.ap_id} updated agreement {inner.id} of {booking.ap_id}")
    changed = read_activity(act.raw, StatusActivity, followers=signer.followers_url).object
    note = plain_text(changed.content or "", 2000)
    if changed.status in ("done", "not_happened"):
        await complete(fed, booking, side, changed.status, note, skew=REMOTE_SKEW)
    elif changed.status is not None:
        await progress(fed, booking, side, Progress(changed.status), note)
    return True


def _named_here(fed: Federation, ref: str) -> str | None:
    """The booking a direct message we sent is named under (``/bookings/{uuid}#dm-…``)."""
    if not fed.urls.is_local(ref):
        return None
    found = match_path("booking", urlsplit(ref).path)
    return found["uuid"] if found and is_uuid(found["uuid"]) else None


async def _conversation(fed: Federation, note: APObject) -> Booking | None:
    """The booking a note belongs to: by its ``context``, or the message it answers."""
    for ref in (first_id(note.raw.get("context")), first_id(note.raw.get("inReplyTo"))):
        if not ref:
            continue
        named = _named_here(fed, ref)
        if named is not None:
            return await Booking.get_or_none(local_uuid=named)
        booking = await Booking.get_or_none(agreement_id=ref) or await Booking.get_or_none(
            ap_id=ref
        )
        if booking is not None:
            return booking
        answered = await BookingMessage.get_or_none(ap_id=ref)
        if answered is not None:
            return await Booking.get(id=answered.booking_id)
    return None


async def on_booking_note(fed: Federation, act: APObject, signer: RemoteActor) -> bool:
    """``Create`` of a private ``Note`` in a booking's conversation (False: not one)."""
    inner = act.object
    if inner is None or not inner.is_a("Note") or act.is_public or inner.is_public:
        return False
    booking = await _conversation(fed, inner)
    if booking is None:
        return False
    if remote_side(booking, signer.ap_id) is None:
        raise Blocked(f"{signer.ap_id} is not a party to {booking.ap_id}")
    note = read_activity(act.raw, MessageActivity, followers=signer.followers_url).object
    text = message_text(note, MAX_MESSAGE)
    if await receive_message(booking, note.id, signer.ap_id, text):
        log.info("booking message received", extra={"booking": booking.ap_id})
    return True
