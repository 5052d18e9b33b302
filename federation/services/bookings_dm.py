"""Booking from Mastodon or GoToSocial: a direct message in reply to one of our offers.

Someone who sees an offer in their app replies to it privately (``to`` the author alone, a
``Mention``, neither public nor to their followers): that note is their request, for the
quantity it names ("2", "2 places") or one, with their words as its message. It meets the same
rules as any request (``receive_request``); a refusal is answered by direct message with the
reason, and nothing is stored. A second such reply while their request stands is a message in
its conversation. Everything afterwards goes back to them as direct messages
(``bookings_send``), and their replies to those join the conversation (``bookings_inbox``).
"""

from __future__ import annotations

import logging

from activitypub.apobject import APObject, first_id
from activitypub.bookings import MessageActivity, read_activity
from activitypub.bookings_dm import message_text, quantity_in
from activitypub.bookings_errors import BookingRefused, InvalidBooking
from activitypub.bookings_input import MAX_MESSAGE, BookingAsk, parse_input
from federation.context import Federation
from federation.services.bookings import receive_request
from federation.services.bookings_messages import receive_message
from federation.services.bookings_rules import ACTIVE, Party
from federation.services.bookings_send import send_received, send_refusal_dm
from models.actors import LocalActor, RemoteActor
from models.bookings import Booking, BookingVia
from models.offers import Offer, OfferKind

log = logging.getLogger(__name__)


async def _offer_answered(fed: Federation, note: APObject, signer: RemoteActor) -> Offer | None:
    """Our offer a note answers privately, addressed to the offer's author; else None."""
    replied = first_id(note.raw.get("inReplyTo"))
    if not replied or not fed.urls.is_local(replied):
        return None
    offer = await Offer.get_or_none(ap_id=replied, local_uuid__not_isnull=True)
    if offer is None or offer.author_id is None or offer.author_uri not in note.audience:
        return None
    if signer.followers_url and signer.followers_url in note.audience:
        return None  # a reply to their followers too: not a direct message
    return offer


async def on_direct_message(fed: Federation, act: APObject, signer: RemoteActor) -> bool:
    """``Create{Note}``, private, in reply to an offer of ours: a request for it (False: not
    one)."""
    inner = act.object
    if inner is None or not inner.is_a("Note") or act.is_public or inner.is_public:
        return False
    offer = await _offer_answered(fed, inner, signer)
    if offer is None:
        return False
    note = read_activity(act.raw, MessageActivity, followers=signer.followers_url).object
    if await Booking.exists(ap_id=note.id):
        return True  # delivered twice
    text = message_text(note, MAX_MESSAGE)
    standing = await Booking.filter(
        offer_id=offer.id, booker_uri=signer.ap_id, state__in=ACTIVE
    ).first()
    if standing is not None:
        await receive_message(standing, note.id, signer.ap_id, text)
        log.info("booking message received", extra={"booking": standing.ap_id})
        return True
    author = await LocalActor.get(id=offer.author_id)
    quantity = 1 if offer.kind == OfferKind.DELIVERY_JOB else quantity_in(text) or 1
    booker = Party(signer.ap_id, signer.name or signer.username)
    try:
        ask = parse_input(BookingAsk, {"quantity": quantity, "message": text})
        booking = await receive_request(
            fed, offer, ask, booker, ap_id=note.id, via=BookingVia.DIRECT_MESSAGE
        )
    except (BookingRefused, InvalidBooking) as exc:
        await send_refusal_dm(fed, offer, author, signer, note.id, exc)
        log.info("booking by direct message refused", extra={"note": note.id, "reason": str(exc)})
        return True
    await send_received(fed, booking)
    return True
