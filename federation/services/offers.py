"""Offers across instances: publishing local ones, storing remote ones, keeping both current.

A local offer goes out as ``Create``/``Update``/``Delete`` to the author's followers and to the
coop's followers (shared inboxes first); the coop also ``Announce``s it, so that Mastodon users
following the coop see it boosted. Remote offers are stored from those activities, from an
``Announce`` (fetched from their origin, since the announcer is not their author), and from the
author's outbox when we first follow them (backfill); only with a reason to hold them, and only
ever changed by their own author (``offer_reasons``); storing them, and what the inbox does
with pushed ones, is ``offers_inbox``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from tortoise.transactions import in_transaction

from activitypub.activities import with_object, wrap_announce, wrap_delete, wrap_object
from activitypub.apobject import APObject
from activitypub.offer_errors import OfferError, OfferRefused
from activitypub.offer_input import parse_offer
from activitypub.offer_model import offer_fields
from activitypub.offer_schema import OfferDescription
from activitypub.offers import is_offer_document, offer_to_as, served_offer
from activitypub.urls import is_uuid
from federation.actors import fetch_actor
from federation.collections import remote_pages
from federation.context import Federation
from federation.delivery import follower_inboxes, publish
from federation.services.alerts import match_offer, matched
from federation.services.bookings_expiry import expire_bookings
from federation.services.bookings_offer_end import Ending, end_bookings
from federation.services.directory import joined_inboxes
from federation.services.moves import check_not_moved
from federation.services.offer_reasons import followed_here
from federation.services.offers_inbox import store_remote_offer
from models.activities import Activity
from models.actors import LocalActor, RemoteActor
from models.bookings import Booking, BookingState
from models.errors import CoopubError, Malformed, NotFound
from models.offers import Offer, OfferKind, OfferStatus

log = logging.getLogger(__name__)

BACKFILL_LIMIT = 200
CLOSED_STATES = frozenset(
    {
        OfferStatus.CLOSED,
        OfferStatus.CANCELLED,
        OfferStatus.EXPIRED,
        OfferStatus.DELIVERED,
        OfferStatus.FAILED,
    }
)
ALLOWED_STATUS = {
    OfferKind.RIDE: {OfferStatus.OPEN, OfferStatus.FULL, OfferStatus.CLOSED, OfferStatus.CANCELLED},
    OfferKind.STAY: {OfferStatus.OPEN, OfferStatus.FULL, OfferStatus.CLOSED, OfferStatus.CANCELLED},
    OfferKind.DELIVERY_JOB: {
        OfferStatus.OPEN,
        OfferStatus.ASSIGNED,
        OfferStatus.PICKED_UP,
        OfferStatus.DELIVERED,
        OfferStatus.FAILED,
        OfferStatus.CANCELLED,
        OfferStatus.CLOSED,
    },
}


async def offer_document(fed: Federation, offer: Offer) -> dict[str, Any]:
    author = await LocalActor.get_or_none(id=offer.author_id) if offer.author_id else None
    if author is None:
        raise NotFound(f"{offer.ap_id} is not a local offer")
    coop = await LocalActor.get_or_none(id=author.coop_id) if author.coop_id else None
    return offer_to_as(
        offer,
        followers=fed.urls.followers(author),
        url=offer.ap_id,
        coop_uri=fed.urls.actor(coop) if coop else None,
    )


async def _audience(
    fed: Federation, author: LocalActor, offer: Offer
) -> tuple[list[str], LocalActor | None]:
    """The author's and the coop's followers, the directories this instance joined, and the
    instances of remote members who booked the offer (their copy shows what is left)."""
    coop = await LocalActor.get_or_none(id=author.coop_id) if author.coop_id else None
    inboxes = set(await follower_inboxes(fed, author)) | set(await joined_inboxes(fed))
    if coop:
        inboxes |= set(await follower_inboxes(fed, coop))
    if offer.id is not None:
        inboxes |= set(await _booker_inboxes(offer))
    return sorted(inboxes), coop


async def _booker_inboxes(offer: Offer) -> list[str]:
    bookers = await Booking.filter(offer_id=offer.id, booker_id=None).values_list(
        "booker_uri", flat=True
    )
    if not bookers:
        return []
    return [a.delivery_inbox for a in await RemoteActor.filter(ap_id__in=set(bookers))]


async def _send(
    fed: Federation, author: LocalActor, offer: Offer, kind: Literal["Create", "Update", "Delete"]
) -> None:
    """Send Create/Update/Delete of ``offer``; on Create the coop announces it too."""
    inboxes, coop = await _audience(fed, author, offer)
    author_id = fed.urls.actor(author)
    cc = [fed.urls.followers(author)]
    now = datetime.now(UTC)
    if kind == "Delete":
        delete = wrap_delete(
            fed.urls.new_activity_id(), author_id, offer.ap_id, cc=cc, published=now
        )
        await publish(fed, author, delete, inboxes)
        return
    doc = await offer_document(fed, offer)
    activity = wrap_object(kind, fed.urls.new_activity_id(), author_id, doc, cc=cc, published=now)
    await publish(fed, author, activity, inboxes)
    if kind == "Create" and coop is not None:
        announce = wrap_announce(
            fed.urls.new_activity_id(),
            fed.urls.actor(coop),
            offer.ap_id,
            cc=[fed.urls.followers(coop)],
            published=now,
        )
        await publish(fed, coop, announce, await follower_inboxes(fed, coop))


async def _refresh_outbox(fed: Federation, offer: Offer) -> None:
    """Keep the outbox's Create showing the offer as it is now (peers backfill from it)."""
    create = await Activity.get_or_none(type="Create", object_uri=offer.ap_id)
    if create is not None:
        create.payload = with_object(create.payload, await offer_document(fed, offer))
        await create.save(update_fields=["payload"])


def _checked(offer: OfferDescription | Mapping[str, Any], language: str) -> OfferDescription:
    """A description checked by the caller (API, form) as is; JSON-like data is checked as the
    API checks it."""
    if isinstance(offer, Mapping):
        return parse_offer(dict(offer), default_language=language)
    return offer


async def create_offer(
    fed: Federation, author: LocalActor, offer: OfferDescription | Mapping[str, Any]
) -> Offer:
    check_not_moved(author)
    language = fed.site.languages[0]
    described = _checked(offer, language)
    local_uuid = str(uuid.uuid4())
    now = datetime.now(UTC)
    coop = await LocalActor.get_or_none(id=author.coop_id) if author.coop_id else None
    async with in_transaction():
        created = await Offer.create(
            ap_id=fed.urls.offer(local_uuid),
            local_uuid=local_uuid,
            author=author,
            author_uri=fed.urls.actor(author),
            author_name=author.name or author.username,
            coop_uri=fed.urls.actor(coop) if coop else None,
            instance_domain=fed.urls.domain,
            status=OfferStatus.OPEN,
            published_at=now,
            updated_at=now,
            **offer_fields(described, language=language),
        )
        await _send(fed, author, created, "Create")
    log.info("offer created", extra={"offer": created.ap_id, "kind": created.kind.value})
    return await matched(created)


async def local_offer(author: LocalActor | None, local_uuid: str) -> Offer:
    """A local offer; with ``author``, only one of theirs (others are 404, not 403). A
    malformed id is a 404 like any other unknown one."""
    offer = await Offer.get_or_none(local_uuid=local_uuid) if is_uuid(local_uuid) else None
    if offer is None or (author is not None and offer.author_id != author.id):
        raise NotFound(f"no offer {local_uuid[:100]}", "No such offer")
    return offer


async def update_offer(
    fed: Federation,
    author: LocalActor,
    offer: Offer,
    change: OfferDescription | Mapping[str, Any],
) -> Offer:
    described = _checked(change, offer.language)
    if described.kind != offer.kind:
        raise Malformed("kind changed", "The kind of an offer cannot change")
    fields = offer_fields(described, language=offer.language, previous=offer)
    for key, value in fields.items():
        setattr(offer, key, value)
    if offer.status == OfferStatus.FULL and (offer.quantity_available or 0) > 0:
        offer.status = OfferStatus.OPEN
    return await _save_and_update(fed, author, offer)


async def set_status(
    fed: Federation, author: LocalActor, offer: Offer, status: OfferStatus
) -> Offer:
    kind = OfferKind(offer.kind)
    if status not in ALLOWED_STATUS[kind]:
        params = {"kind": kind.value, "status": status.value}
        raise OfferRefused(OfferError("status", "status_not_allowed", params))
    if offer.status in CLOSED_STATES and status != offer.status:
        current = OfferStatus(offer.status).value
        raise OfferRefused(OfferError("status", "already_closed", {"status": current}))
    if status != offer.status:
        await _check_not_held(offer, status)
    offer.status = status
    async with in_transaction():
        if status in ENDINGS:
            await end_bookings(fed, offer.id, ENDINGS[status])
        return await _save_and_update(fed, author, offer)


ENDINGS: dict[OfferStatus, Ending] = {
    OfferStatus.CLOSED: "closed",
    OfferStatus.CANCELLED: "cancelled",
}


async def _check_not_held(offer: Offer, status: OfferStatus) -> None:
    """A delivery job assigned through a booking moves with its courier's reports: reopening
    it would assign it twice. Before pickup its author may still close or cancel it (the
    courier is told); once picked up, only delivered or failed ends it."""
    if offer.kind != OfferKind.DELIVERY_JOB:
        return
    held = await Booking.filter(offer_id=offer.id, state=BookingState.ACCEPTED).first()
    if held is not None and (held.progress is not None or status not in ENDINGS):
        raise OfferRefused(OfferError("status", "held_by_booking", {}))


async def _save_and_update(fed: Federation, author: LocalActor, offer: Offer) -> Offer:
    offer.updated_at = datetime.now(UTC)
    async with in_transaction():
        await offer.save()
        await _refresh_outbox(fed, offer)
        await _send(fed, author, offer, "Update")
    await match_offer(offer)
    return offer


async def publish_offer_change(fed: Federation, offer_id: int) -> Offer | None:
    """The offer as it is now (seats left, full, assigned, delivered…) to everyone who has a
    copy: its ``Update``, whose text states the status and what is left. For changes already
    written (a booking decided, cancelled, a job's progress)."""
    offer = await Offer.get_or_none(id=offer_id)
    if offer is None or offer.author_id is None:
        return None
    author = await LocalActor.get(id=offer.author_id)
    await _refresh_outbox(fed, offer)
    await _send(fed, author, offer, "Update")
    return offer


async def delete_offer(fed: Federation, author: LocalActor, offer: Offer) -> None:
    async with in_transaction():
        await end_bookings(fed, offer.id, "deleted")
        await _send(fed, author, offer, "Delete")
        await Activity.filter(object_uri=offer.ap_id, type__in=("Create", "Announce")).delete()
        await offer.delete()
    log.info("offer deleted", extra={"offer": offer.ap_id})


async def expire_offers(fed: Federation) -> int:
    """Local offers past their time become ``expired`` (and say so); remote copies go."""
    now = datetime.now(UTC)
    count = 0
    due = await Offer.filter(
        local_uuid__not_isnull=True,
        expires_at__lt=now,
        status__in=[OfferStatus.OPEN, OfferStatus.FULL],
    )
    for offer in due:
        author = await LocalActor.get_or_none(id=offer.author_id) if offer.author_id else None
        if author is None:
            continue
        offer.status = OfferStatus.EXPIRED
        await _save_and_update(fed, author, offer)
        count += 1
    count += await Offer.filter(local_uuid__isnull=True, expires_at__lt=now).delete()
    return count + await expire_bookings(fed)


# --- remote offers ------------------------------------------------------------------------


async def fetch_remote_offer(fed: Federation, uri: str) -> Offer | None:
    """Fetch an offer from its origin and store it (for Announces and backfill)."""
    _, raw = await fed.http.get_json(uri, signer=await fed.instance_signer())
    doc, author_uri = served_offer(raw, uri)
    await fetch_actor(fed, author_uri)
    return await store_remote_offer(doc, author_uri)


async def on_announce(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    """A coop or a directory boosts an offer: its author is someone else, so the object is
    fetched from its origin rather than trusted from the announcer, and only when the announcer
    is followed here (``offer_reasons``). A directory announces changes and deletions the same
    way: a copy whose origin now answers 404/410 is dropped."""
    uri = act.object_id
    if not uri:
        raise NotFound("Announce without object")
    if fed.urls.is_local(uri):
        return
    if not await followed_here([signer.ap_id], or_asked=True):
        raise NotFound(f"Announce of {uri} by {signer.ap_id}: nobody here follows it")
    embedded = act.object
    if embedded is not None and not is_offer_document(embedded.raw):
        raise NotFound(f"Announce of {uri}: not an offer")
    try:
        await fetch_remote_offer(fed, uri)
    except NotFound as exc:
        gone = await Offer.filter(ap_id=uri, local_uuid__isnull=True).delete()
        if not gone:
            raise NotFound(f"Announce of {uri}: nothing there, nothing here") from exc
        log.info("announced offer gone at its origin", extra={"offer": uri})
    except Malformed as exc:
        raise NotFound(f"Announce of {uri}: {exc}") from exc


async def backfill(fed: Federation, actor: RemoteActor) -> int:
    """Store the open offers in a newly followed actor's outbox (bounded)."""
    if not actor.outbox:
        return 0
    stored = 0
    seen = 0
    try:
        async for page in remote_pages(fed, actor.outbox, host=actor.domain):
            seen += len(page.items)
            for activity in page.activities:
                if activity.actor_id != actor.ap_id or not activity.is_a("Create"):
                    continue
                raw = activity.object_document()
                if raw is not None and is_offer_document(raw):
                    stored += await _backfill_one(raw, actor)
            if seen >= BACKFILL_LIMIT:
                break
    except CoopubError as exc:
        log.warning("backfill stopped", extra={"actor": actor.ap_id, "error": str(exc)})
    log.info("backfill done", extra={"actor": actor.ap_id, "offers": stored})
    return stored


async def _backfill_one(raw: dict[str, Any], actor: RemoteActor) -> int:
    """1 when the offer was stored; a refused one is logged and the backfill goes on."""
    try:
        return 1 if await store_remote_offer(raw, actor.ap_id) else 0
    except CoopubError as exc:
        log.info("backfill item refused", extra={"offer": APObject(raw).id, "error": str(exc)})
        return 0
