"""Remote offers pushed to our inbox (``Create``, ``Update``, ``Delete`` from their author), and
the one place any remote offer is stored (``store_remote_offer``: pushed, announced, fetched,
backfilled).

An offer pushed to us is stored only with a reason (``offer_reasons``), and the row that check
read (the copy held here, or none) is the one storing goes on from: one ``Offer`` lookup per
received offer, not two.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub.apobject import APObject
from activitypub.offers import as_to_offer_fields, is_offer_document
from federation.context import Federation
from federation.services.alerts import candidate_searches, match_offer, matched
from federation.services.directory import relay
from federation.services.offer_reasons import Pushed, pushed_offer, pushed_offers
from models.actors import RemoteActor
from models.errors import Blocked, NotFound
from models.offers import Offer

log = logging.getLogger(__name__)


async def store_remote_offer(
    raw: dict[str, Any],
    author_uri: str,
    author: RemoteActor | None = None,
    *,
    pushed: Pushed | None = None,
) -> Offer | None:
    """Store or update a remote offer; expired ones and local ids are not stored, and an offer
    held here is only ever changed by its own author (no takeover by a neighbour). ``pushed``:
    the row ``offer_reasons`` read already, used when it was read under the same id."""
    return await _store(as_to_offer_fields(raw, author_uri), author_uri, author, pushed)


async def _store(
    fields: dict[str, Any], author_uri: str, author: RemoteActor | None, pushed: Pushed | None
) -> Offer | None:
    if pushed is not None and pushed.ap_id == fields["ap_id"]:
        existing = pushed.held
    else:
        existing = await Offer.get_or_none(ap_id=fields["ap_id"])
    if existing is not None and existing.local_uuid is not None:
        raise Blocked(f"{fields['ap_id']} is a local offer")
    if existing is not None and existing.author_uri != author_uri:
        raise Blocked(f"{author_uri} sent an offer of {existing.author_uri}")
    if _gone_by(fields):
        if existing is not None:
            await existing.delete()
        return None
    if author is None or author.ap_id != author_uri:
        author = await RemoteActor.get_or_none(ap_id=author_uri)
    fields = _authored(fields, author)
    if existing is not None:
        if existing.updated_at > fields["updated_at"]:
            return existing  # an older copy arriving late (an Announce after an Update)
        await Offer.filter(id=existing.id).update(**fields)
        return await matched(await Offer.get(id=existing.id))
    return await matched(await Offer.create(**fields))


def _authored(fields: dict[str, Any], author: RemoteActor | None) -> dict[str, Any]:
    """An offer's fields with what is taken from its author here, not from the document."""
    name = (author.name or author.username) if author else ""
    return {**fields, "author_name": name, "coop_uri": None}


async def on_create(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    raw = act.object_document()
    if raw is None or not is_offer_document(raw):
        raise NotFound(f"Create of {act.object_id}: not an offer")
    pushed = await pushed_offer(fed, act, raw, signer)
    offer = await store_remote_offer(raw, signer.ap_id, signer, pushed=pushed)
    extra = {"offer": act.object_id, "stored": offer is not None, "why": pushed.reason}
    log.info("remote offer stored", extra=extra)
    if offer is not None:
        await relay(fed, offer.ap_id, signer)


async def on_create_offers(
    fed: Federation, items: Sequence[tuple[APObject, dict[str, Any], RemoteActor]]
) -> list[Exception | None]:
    """``on_create`` of several offer documents at once (a worker batch; no two the same
    offer): what each call would have raised, or None. The reasons are read for all at once
    (``pushed_offers``), the new offers inserted in one statement, the saved searches read
    once; an offer held already, or gone by, is stored as ``store_remote_offer`` does."""
    if not items:
        return []
    answers: list[Exception | None] = [None] * len(items)
    stored: dict[int, Offer | None] = {}
    pushed = await pushed_offers(fed, items)
    new: dict[int, dict[str, Any]] = {}
    for i, ((_, raw, signer), why) in enumerate(zip(items, pushed, strict=True)):
        try:
            if isinstance(why, Exception):
                raise why
            fields = as_to_offer_fields(raw, signer.ap_id)
            if why.held is None and why.ap_id == fields["ap_id"] and not _gone_by(fields):
                new[i] = _authored(fields, signer)
            else:
                stored[i] = await _store(fields, signer.ap_id, signer, why)
        except Exception as exc:  # that item's outcome, as its own call would have raised
            answers[i] = exc
    try:
        stored |= await _inserted(new)
    except IntegrityError:  # one of them stored meanwhile (another worker, a fetch): each on
        # its own, its copy read again (the one read before the insert is stale: None), so
        # that one stored meanwhile is updated as any copy held, not inserted again
        for i, fields in new.items():
            _, _, signer = items[i]
            try:
                stored[i] = await _store(fields, signer.ap_id, signer, None)
            except Exception as exc:  # that item's outcome
                answers[i] = exc
    except Exception as exc:  # the outcome of the new ones
        answers = [exc if i in new else answer for i, answer in enumerate(answers)]
    for i, (act, _, signer) in enumerate(items):
        why = pushed[i]
        if answers[i] is not None or isinstance(why, Exception):
            continue
        extra = {"offer": act.object_id, "stored": stored[i] is not None, "why": why.reason}
        log.info("remote offer stored", extra=extra)
        if (offer := stored[i]) is not None:
            try:
                await relay(fed, offer.ap_id, signer)
            except Exception as exc:  # that item's outcome
                answers[i] = exc
    return answers


def _gone_by(fields: dict[str, Any]) -> bool:
    expires: datetime = fields["expires_at"]
    return expires < datetime.now(UTC)


async def _inserted(new: dict[int, dict[str, Any]]) -> dict[int, Offer | None]:
    """Insert the new offers (their fields) in one statement (``IntegrityError``, nothing
    inserted, when one was stored meanwhile), then record the saved searches they match."""
    offers = {i: Offer(**fields) for i, fields in new.items()}
    if not offers:
        return {}
    async with in_transaction():
        await Offer.bulk_create(list(offers.values()))
    searches = await candidate_searches(list(offers.values()))
    if searches:
        ap_ids = [offer.ap_id for offer in offers.values()]
        ids = dict(await Offer.filter(ap_id__in=ap_ids).values_list("ap_id", "id"))
        for offer in offers.values():
            offer.id = ids[offer.ap_id]
            await match_offer(offer, searches)
    return dict(offers)


async def on_update_offer(fed: Federation, act: APObject, signer: RemoteActor) -> bool:
    """True when the Update was about an offer (handled), False to let others try."""
    raw = act.object_document()
    if raw is None or not is_offer_document(raw):
        return False
    pushed = await pushed_offer(fed, act, raw, signer)
    stored = await store_remote_offer(raw, signer.ap_id, signer, pushed=pushed)
    await relay(fed, stored.ap_id if stored else str(act.object_id), signer)
    return True


async def on_delete_offer(fed: Federation, act: APObject, signer: RemoteActor) -> bool:
    deleted = await Offer.filter(
        ap_id=act.object_id or "", author_uri=signer.ap_id, local_uuid__isnull=True
    ).delete()
    if deleted:
        log.info("remote offer deleted", extra={"offer": act.object_id})
        await relay(fed, str(act.object_id), signer)
    return bool(deleted)
