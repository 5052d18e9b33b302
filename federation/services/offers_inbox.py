"""Remote offers pushed to our inbox (``Create``, ``Update``, ``Delete`` from their author), and
the one place any remote offer is stored (``store_remote_offer``: pushed, announced, fetched,
backfilled).

An offer pushed to us is stored only with a reason (``offer_reasons``), and the row that check
read (the copy held here, or none) is the one storing goes on from: one ``Offer`` lookup per
received offer, not two.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from activitypub.apobject import APObject
from activitypub.offers import as_to_offer_fields, is_offer_document
from federation.context import Federation
from federation.services.alerts import matched
from federation.services.directory import relay
from federation.services.offer_reasons import Pushed, pushed_offer
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
    fields = as_to_offer_fields(raw, author_uri)
    if pushed is not None and pushed.ap_id == fields["ap_id"]:
        existing = pushed.held
    else:
        existing = await Offer.get_or_none(ap_id=fields["ap_id"])
    if existing is not None and existing.local_uuid is not None:
        raise Blocked(f"{fields['ap_id']} is a local offer")
    if existing is not None and existing.author_uri != author_uri:
        raise Blocked(f"{author_uri} sent an offer of {existing.author_uri}")
    if fields["expires_at"] < datetime.now(UTC):
        if existing is not None:
            await existing.delete()
        return None
    if author is None or author.ap_id != author_uri:
        author = await RemoteActor.get_or_none(ap_id=author_uri)
    fields["author_name"] = (author.name or author.username) if author else ""
    fields["coop_uri"] = None
    if existing is not None:
        if existing.updated_at > fields["updated_at"]:
            return existing  # an older copy arriving late (an Announce after an Update)
        await Offer.filter(id=existing.id).update(**fields)
        return await matched(await Offer.get(id=existing.id))
    return await matched(await Offer.create(**fields))


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
