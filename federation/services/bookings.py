"""Asking for an offer, on either side, and reading bookings back.

``request_booking`` is the booker's side: a local offer is decided here at once; a remote one
is checked against our copy, stored as requested and asked for with ``Offer{Agreement}`` to its
author alone. ``receive_request`` is the author's side, whoever asks (a member here, a remote
``Offer``, a direct message from Mastodon): the rules, then the row, then (when the offer
accepts automatically) the acceptance, all in one transaction: a refusal leaves nothing.

The rest of the lifecycle is beside this module: ``bookings_decide`` (accept, decline),
``bookings_lifecycle`` (cancel, complete, progress), ``bookings_messages``,
``bookings_expiry``, ``bookings_inbox`` (the remote side of each).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub.bookings_errors import BookingRefused
from activitypub.bookings_input import BookingAsk
from activitypub.urls import is_uuid
from federation.actors import fetch_actor
from federation.context import Federation
from federation.services.bookings_decide import accept_in_transaction
from federation.services.bookings_rules import (
    ACTIVE,
    Party,
    check_not_twice,
    check_request,
    happens_at,
)
from federation.services.bookings_send import send_request
from federation.services.notifications import notify_booking
from federation.services.offers import fetch_remote_offer
from models.actors import LocalActor
from models.bookings import Booking, BookingMessage, BookingState, BookingVia
from models.errors import CoopubError, NotFound
from models.offers import Offer

log = logging.getLogger(__name__)


def local_party(fed: Federation, actor: LocalActor) -> Party:
    return Party(fed.urls.actor(actor), actor.name or actor.username, actor)


async def find_offer(fed: Federation, uri: str) -> Offer:
    """An offer by its id: ours, our copy of a remote one, or fetched from its origin."""
    offer = await Offer.get_or_none(ap_id=uri)
    if offer is not None:
        return offer
    if not fed.urls.is_local(uri):
        try:
            fetched = await fetch_remote_offer(fed, uri)
        except CoopubError as exc:
            raise NotFound(f"offer {uri}: {exc}", "No such offer") from exc
        except IntegrityError:  # its Create reached our inbox meanwhile: stored by the worker
            fetched = await Offer.get_or_none(ap_id=uri)
        if fetched is not None:
            return fetched
    raise NotFound(f"no offer {uri[:200]}", "No such offer")


def _row(
    offer: Offer, ask: BookingAsk, booker: Party, author: Party, *, ap_id: str, local_uuid: str
) -> Booking:
    now = datetime.now(UTC)
    return Booking(
        local_uuid=local_uuid,
        ap_id=ap_id,
        offer_id=offer.id,
        offer_uri=offer.ap_id,
        kind=offer.kind,
        purpose=offer.purpose,
        title=offer.title,
        booker=booker.local,
        booker_uri=booker.uri,
        booker_name=booker.name[:200],
        author=author.local,
        author_uri=author.uri,
        author_name=author.name[:200],
        quantity=ask.quantity,
        starts_at=ask.starts_at,
        ends_at=ask.ends_at,
        happens_at=happens_at(offer, ask),
        message=ask.message,
        created_at=now,
        updated_at=now,
    )


async def receive_request(
    fed: Federation,
    offer: Offer,
    ask: BookingAsk,
    booker: Party,
    *,
    ap_id: str,
    via: BookingVia = BookingVia.COOPUB,
    local_uuid: str | None = None,
) -> Booking:
    """A request for one of our offers (``ap_id``: the request's own id). Refused with its
    coded reason and nothing stored, or stored as requested, or accepted at once when the offer
    accepts automatically and it fits."""
    if offer.local_uuid is None or offer.author_id is None:
        raise BookingRefused("unknown_offer")
    ask = await check_request(offer, ask, booker.uri)
    await check_not_twice(offer, booker.uri)
    author = await LocalActor.get(id=offer.author_id)
    row = _row(
        offer,
        ask,
        booker,
        Party(offer.author_uri, author.name or author.username, author),
        ap_id=ap_id,
        local_uuid=local_uuid or str(uuid.uuid4()),
    )
    row.via = via
    async with in_transaction():
        await row.save()
        if (offer.details or {}).get("auto_accept"):
            await accept_in_transaction(fed, row, offer)
        await notify_booking(row, "requested", "author", detail=ask.message)
    log.info(
        "booking requested",
        extra={"booking": row.ap_id, "offer": offer.ap_id, "state": row.state.value},
    )
    return await Booking.get(id=row.id)


async def request_booking(
    fed: Federation, booker: LocalActor, offer: Offer, ask: BookingAsk
) -> Booking:
    """A member here asks for an offer (ours, or a remote one we know)."""
    local_uuid = str(uuid.uuid4())
    me = local_party(fed, booker)
    if offer.local_uuid is not None:
        ap_id = fed.urls.booking(local_uuid)
        return await receive_request(fed, offer, ask, me, ap_id=ap_id, local_uuid=local_uuid)
    ask = await check_request(offer, ask, me.uri)
    await check_not_twice(offer, me.uri)
    author = await fetch_actor(fed, offer.author_uri)  # before the transaction: may fetch
    row = _row(
        offer,
        ask,
        me,
        Party(author.ap_id, offer.author_name or author.name or author.username),
        ap_id=fed.urls.booking(local_uuid),
        local_uuid=local_uuid,
    )
    async with in_transaction():
        await row.save()
        await send_request(fed, row, offer)
    log.info("booking requested", extra={"booking": row.ap_id, "offer": offer.ap_id})
    return row


# --- reading ---------------------------------------------------------------------------------


async def bookings_made(member: LocalActor) -> list[Booking]:
    """What a member asked for, newest first."""
    return await Booking.filter(booker_id=member.id).order_by("-created_at", "-id")


async def requests_received(member: LocalActor) -> list[Booking]:
    """The requests and bookings on a member's offers, newest first."""
    return await Booking.filter(author_id=member.id).order_by("-created_at", "-id")


async def booking_for(member: LocalActor, local_uuid: str) -> Booking:
    """A booking the member takes part in; any other (or a malformed id) is a 404."""
    booking = await Booking.get_or_none(local_uuid=local_uuid) if is_uuid(local_uuid) else None
    if booking is None or member.id not in (booking.booker_id, booking.author_id):
        raise NotFound(f"no booking {local_uuid[:100]}", "No such booking")
    return booking


async def messages_of(booking: Booking) -> list[BookingMessage]:
    return await BookingMessage.filter(booking_id=booking.id).order_by("created_at", "id")


async def pending_requests(member_id: int) -> int:
    """How many requests wait for the member's answer (the navigation's count, on every page:
    one COUNT over the ``author_id`` index, by id so that no member row is read for it)."""
    return await Booking.filter(author_id=member_id, state=BookingState.REQUESTED).count()


async def known_offer(uri: str) -> Offer:
    """An offer this instance has (ours, or our copy of a remote one), never fetched: the
    pages show only what is here."""
    offer = await Offer.get_or_none(ap_id=uri[:500])
    if offer is None:
        raise NotFound(f"no offer {uri[:200]}", "No such offer")
    return offer


async def active_requests(member: LocalActor, offer: Offer) -> list[Booking]:
    """The member's requests and bookings of an offer still under way (the offer's page links
    to them)."""
    return await Booking.filter(offer_id=offer.id, booker_id=member.id, state__in=ACTIVE).order_by(
        "-created_at", "-id"
    )
