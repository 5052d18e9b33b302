"""The relay: every admitted instance's public offers, announced to all the others, so a new
instance sees the network's offers without following anyone. Receivers fetch each announced
offer from its origin, never trusting the relay for its content."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from activitypub.activities import wrap_announce
from federation.context import Federation
from federation.delivery import publish
from federation.services.directory.actor import directory_actor
from models.actors import LocalActor, RemoteActor
from models.directory import DirectoryEntry, EntryState
from models.offers import Offer, OfferStatus

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


async def admitted_inboxes(except_domain: str | None = None) -> list[str]:
    rows = await DirectoryEntry.filter(
        state=EntryState.ADMITTED, source=None, inbox__not_isnull=True
    )
    return sorted({r.inbox for r in rows if r.domain != except_domain and r.inbox})


def _announce(fed: Federation, directory: LocalActor, object_id: str) -> dict[str, Any]:
    return wrap_announce(
        fed.urls.new_activity_id(),
        fed.urls.actor(directory),
        object_id,
        cc=[fed.urls.followers(directory)],
        published=datetime.now(UTC),
    )


async def backfill_entry(
    fed: Federation, entry: DirectoryEntry, progress: Progress | None = None
) -> int:
    """Announce every open, unexpired offer known here to a newly admitted instance."""
    if not entry.inbox:
        return 0
    directory = await directory_actor()
    offers = (
        await Offer.filter(
            status__in=[OfferStatus.OPEN, OfferStatus.FULL], expires_at__gt=datetime.now(UTC)
        )
        .exclude(instance_domain=entry.domain)
        .order_by("starts_at")
        .values_list("ap_id", flat=True)
    )
    for done, ap_id in enumerate(offers, start=1):
        await publish(fed, directory, _announce(fed, directory, str(ap_id)), [entry.inbox])
        if progress:
            progress(done, len(offers))
    log.info("directory backfill", extra={"domain": entry.domain, "offers": len(offers)})
    return len(offers)


async def relay(fed: Federation, offer_id: str, origin: RemoteActor) -> bool:
    """Announce an offer (created, changed or deleted at its origin) to every other admitted
    instance; False when the origin is not admitted here (nothing relayed)."""
    if not fed.directory.enabled:
        return False
    entry = await DirectoryEntry.get_or_none(
        domain=origin.domain, state=EntryState.ADMITTED, source=None
    )
    if entry is None:
        return False
    offer = await Offer.get_or_none(ap_id=offer_id)
    if offer is not None and str(offer.kind) not in (entry.kinds or []):
        entry.kinds = sorted({*(entry.kinds or []), str(offer.kind)})  # kinds offered, listed
        await entry.save(update_fields=["kinds"])
    directory = await directory_actor()
    inboxes = await admitted_inboxes(except_domain=origin.domain)
    if inboxes:
        await publish(fed, directory, _announce(fed, directory, offer_id), inboxes)
    return True
