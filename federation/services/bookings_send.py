"""Telling the other party: each booking event as its activity, to that party's inbox alone.

Nothing is sent when the other party is on this instance (one row serves both) or when the
event came from the other party (the sender is not ours). A booking asked for by direct message
(a Mastodon or GoToSocial user, ``via = direct_message``) is answered by direct messages, which
those servers show in the person's conversation.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from activitypub.bookings import PROPOSAL, AgreementStatus, PrivateDetails
from activitypub.bookings_build import (
    NoteTo,
    Terms,
    accept_request,
    message,
    reject,
    request_offer,
    status_update,
    undo_request,
)
from activitypub.offer_errors import CodedRefusal
from activitypub.offer_to_as import CURRENCY_IRI
from federation.actors import fetch_actor
from federation.context import Federation
from federation.delivery import publish
from federation.services.bookings_rules import stay_nights
from federation.services.bookings_texts import dm_text, refusal_text
from models.actors import LocalActor, RemoteActor
from models.bookings import Booking, BookingMessage, BookingState, BookingVia
from models.errors import CoopubError
from models.offers import Offer, OfferKind

log = logging.getLogger(__name__)

Build = Callable[[str, str], dict[str, Any]]
"""(sender id, recipient id) → the activity."""


def _now() -> datetime:
    return datetime.now(UTC)


def _nights(offer: Offer, booking: Booking) -> int:
    if booking.starts_at is None or booking.ends_at is None:
        return 1
    return max(1, stay_nights(offer, booking.starts_at, booking.ends_at))


def terms_of(booking: Booking, offer: Offer | None) -> Terms:
    """The agreement's terms; the price in return when the offer has one (per seat, per night,
    or for the job)."""
    price = None
    currency = None
    if offer is not None and offer.price_cents is not None:
        units = {
            OfferKind.RIDE: booking.quantity,
            OfferKind.STAY: _nights(offer, booking),
            OfferKind.DELIVERY_JOB: 1,
        }[OfferKind(offer.kind)]
        price = f"{offer.price_cents * units / 100:g}"
        currency = CURRENCY_IRI.get(offer.currency, offer.currency)
    return Terms(
        offer_id=booking.offer_uri,
        quantity=booking.quantity,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        price=price,
        currency=currency,
    )


async def recipient(fed: Federation, uri: str) -> RemoteActor:
    """The remote party, as cached (it signed to us, or we fetched it before asking)."""
    return await RemoteActor.get_or_none(ap_id=uri) or await fetch_actor(fed, uri)


async def _send(fed: Federation, booking: Booking, by_author: bool, build: Build) -> bool:
    """Publish what ``build`` makes, from our party to the remote one; False when there is no
    one to tell (both here, or the event came from them)."""
    sender_id = booking.author_id if by_author else booking.booker_id
    other_local = booking.booker_id if by_author else booking.author_id
    if sender_id is None or other_local is not None:
        return False
    sender = await LocalActor.get(id=sender_id)
    other_uri = booking.booker_uri if by_author else booking.author_uri
    try:
        other = await recipient(fed, other_uri)
    except CoopubError as exc:  # gone, unreachable: the change stands, they are not told
        log.warning("booking party not told", extra={"actor": other_uri, "error": str(exc)})
        return False
    sender_uri = booking.author_uri if by_author else booking.booker_uri
    await publish(fed, sender, build(sender_uri, other.ap_id), [other.delivery_inbox])
    return True


async def language_of(booking: Booking) -> str:
    offer = await Offer.get_or_none(id=booking.offer_id) if booking.offer_id else None
    return offer.language if offer is not None else "en"


async def _direct(
    fed: Federation, booking: Booking, event: str, note: str = "", note_id: str | None = None
) -> bool:
    """A direct message from the author to a booker who asked by direct message: in reply to
    their latest message (or their request), mentioning them, so Mastodon shows it in their
    conversation. A message that is not one of the conversation's is named under the booking's
    page here, so that a reply to it is known to be about the booking."""
    if booking.author_id is None or booking.booker_id is not None:
        return False
    try:
        other = await recipient(fed, booking.booker_uri)
    except CoopubError as exc:
        log.warning("booker not told", extra={"actor": booking.booker_uri, "error": str(exc)})
        return False
    last = (
        await BookingMessage.filter(booking_id=booking.id, author_uri=booking.booker_uri)
        .order_by("-created_at", "-id")
        .first()
    )
    answered = last.ap_id if last is not None else booking.ap_id
    to = NoteTo(other.ap_id, in_reply_to=answered, mention=f"@{other.handle}")
    text = note if event == "message" else dm_text(booking, event, await language_of(booking), note)
    ident = note_id or f"{fed.urls.booking(booking.local_uuid)}#dm-{uuid.uuid4()}"

    def build(sender: str, _: str) -> dict[str, Any]:
        return message(fed.urls.new_activity_id(), ident, sender, to, text, _now())

    return await _send(fed, booking, True, build)


# --- the events ------------------------------------------------------------------------------


async def send_request(fed: Federation, booking: Booking, offer: Offer) -> bool:
    """The booker's ``Offer{Agreement}`` to the offer's author."""
    terms = terms_of(booking, offer)
    return await _send(
        fed,
        booking,
        False,
        lambda me, them: request_offer(booking.ap_id, me, them, terms, booking.message, _now()),
    )


async def send_accept(fed: Federation, booking: Booking, offer: Offer | None) -> bool:
    """``Accept{result: Agreement}`` with the private details, to the booker alone."""
    if booking.via == BookingVia.DIRECT_MESSAGE:
        return await _direct(fed, booking, "accepted")
    terms = terms_of(booking, offer)
    details = PrivateDetails.from_stored(booking.private) if booking.private else None
    agreement_id = booking.agreement_id or ""

    def build(me: str, them: str) -> dict[str, Any]:
        return accept_request(
            fed.urls.new_activity_id(),
            me,
            them,
            booking.ap_id,
            terms,
            agreement_id=agreement_id,
            details=details,
            published=_now(),
        )

    return await _send(fed, booking, True, build)


async def send_reject(fed: Federation, booking: Booking, reason: str, *, cancelled: bool) -> bool:
    """A request declined or expired (``Reject`` of the Offer), or an accepted booking cancelled
    by its author (``Reject`` of the agreement)."""
    if booking.via == BookingVia.DIRECT_MESSAGE:
        event = "cancelled" if cancelled else BookingState(booking.state).value
        return await _direct(fed, booking, event, reason)
    target = booking.agreement_id if cancelled and booking.agreement_id else booking.ap_id
    return await _send(
        fed,
        booking,
        True,
        lambda me, them: reject(fed.urls.new_activity_id(), me, them, target, reason, _now()),
    )


async def send_received(fed: Federation, booking: Booking) -> bool:
    """A request by direct message, stored and waiting for the author: the person is told it
    arrived (their app shows nothing else until the answer)."""
    if booking.via != BookingVia.DIRECT_MESSAGE or booking.state != BookingState.REQUESTED:
        return False
    return await _direct(fed, booking, "requested")


async def send_refusal_dm(
    fed: Federation,
    offer: Offer,
    author: LocalActor,
    booker: RemoteActor,
    asked: str,
    refused: CodedRefusal,
) -> None:
    """A request by direct message (``asked``: its note) refused by the rules, nothing stored:
    the reason, as a direct message in reply to theirs, in the offer's language."""
    first = refused.problems[0]
    english = getattr(refused, "public_message", "") or first.message()
    text = refusal_text(offer.title, first.code, dict(first.params), english, offer.language)
    to = NoteTo(booker.ap_id, in_reply_to=asked, mention=f"@{booker.handle}")
    me = fed.urls.actor(author)
    note = message(fed.urls.new_activity_id(), fed.urls.new_activity_id(), me, to, text, _now())
    await publish(fed, author, note, [booker.delivery_inbox])


async def send_refusal(
    fed: Federation, author: LocalActor, booker: RemoteActor, request_id: str, reason: str
) -> None:
    """A request refused by the rules: nothing was stored, the booker is told why."""
    activity = reject(
        fed.urls.new_activity_id(), fed.urls.actor(author), booker.ap_id, request_id, reason, _now()
    )
    await publish(fed, author, activity, [booker.delivery_inbox])


async def send_undo(fed: Federation, booking: Booking, reason: str) -> bool:
    """The booker withdraws its request, or cancels its booking: ``Undo`` of its Offer."""
    return await _send(
        fed,
        booking,
        False,
        lambda me, them: undo_request(
            fed.urls.new_activity_id(), me, them, booking.ap_id, reason, _now()
        ),
    )


async def send_status(
    fed: Federation, booking: Booking, by_author: bool, status: AgreementStatus, note: str
) -> bool:
    """``Update{Agreement{status}}``: each side names the agreement by its own id."""
    if by_author and booking.via == BookingVia.DIRECT_MESSAGE:
        return await _direct(fed, booking, status, note)
    agreement = booking.agreement_id if by_author else booking.ap_id + PROPOSAL
    if not agreement:
        return False
    return await _send(
        fed,
        booking,
        by_author,
        lambda me, them: status_update(
            fed.urls.new_activity_id(), me, them, agreement, status, note, _now()
        ),
    )


async def send_message(fed: Federation, booking: Booking, sent: BookingMessage) -> bool:
    """A message of the conversation, as a private ``Note`` in the booking's ``context``."""
    by_author = sent.author_uri == booking.author_uri
    if by_author and booking.via == BookingVia.DIRECT_MESSAGE:
        return await _direct(fed, booking, "message", sent.content, sent.ap_id)
    context = booking.agreement_id or booking.ap_id

    def build(me: str, them: str) -> dict[str, Any]:
        to = NoteTo(them, context=context)
        return message(fed.urls.new_activity_id(), sent.ap_id, me, to, sent.content, _now())

    return await _send(fed, booking, by_author, build)
