"""The relay: every admitted instance's public offers, announced to all the others, so a new
instance sees the network's offers without following anyone. Receivers fetch each announced
offer from its origin, never trusting the relay for its content.

Earlier offers travel too, both ways, bounded by ``BACKFILL_LIMIT``: a newly admitted instance
is sent the open offers of the instances admitted before it (``backfill_entry``), and the open
offers it published before joining reach the others (``relay_held`` for those already held
here; the instance sends the rest on the directory's ``Accept``, see ``membership``). Offers of
instances not admitted here (held for another reason: a local member follows their author) are
never announced.
"""

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

BACKFILL_LIMIT = 200
"""At most this many earlier offers are announced at one admission, soonest first."""
LIVE = (OfferStatus.OPEN, OfferStatus.FULL)
"""The statuses of an offer still worth announcing (a full one may free up)."""


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


async def _live_offers(domains: list[str]) -> list[str]:
    """The ids of the open, unexpired offers held here from ``domains`` (at most
    ``BACKFILL_LIMIT``, soonest first)."""
    if not domains:
        return []
    ids = (
        await Offer.filter(
            instance_domain__in=domains, status__in=LIVE, expires_at__gt=datetime.now(UTC)
        )
        .order_by("starts_at", "id")
        .limit(BACKFILL_LIMIT)
        .values_list("ap_id", flat=True)
    )
    return [str(i) for i in ids]


async def backfill_entry(
    fed: Federation, entry: DirectoryEntry, progress: Progress | None = None
) -> int:
    """Announce to a newly admitted instance the open, unexpired offers of the directory: those
    of the other admitted instances and of this one, never those held from anyone else."""
    if not entry.inbox:
        return 0
    directory = await directory_actor()
    admitted = await DirectoryEntry.filter(state=EntryState.ADMITTED, source=None).values_list(
        "domain", flat=True
    )
    domains = sorted({fed.urls.domain, *(str(d) for d in admitted)} - {entry.domain})
    offers = await _live_offers(domains)
    for done, ap_id in enumerate(offers, start=1):
        await publish(fed, directory, _announce(fed, directory, ap_id), [entry.inbox])
        if progress:
            progress(done, len(offers))
    log.info("directory backfill", extra={"domain": entry.domain, "offers": len(offers)})
    return len(offers)


async def relay_held(fed: Federation, entry: DirectoryEntry) -> int:
    """Announce to the other admitted instances the open offers of a newly admitted one that
    are held here already: those it published before joining and sent here for another reason
    (a local member follows their author) are not sent again under the same activity id, which
    this inbox would drop as a duplicate. The others come on our ``Accept`` (``membership``)."""
    inboxes = await admitted_inboxes(except_domain=entry.domain)
    offers = await _live_offers([entry.domain]) if inboxes else []
    if not offers:
        return 0
    directory = await directory_actor()
    for ap_id in offers:
        await publish(fed, directory, _announce(fed, directory, ap_id), inboxes)
    log.info(
        "directory relay of earlier offers", extra={"domain": entry.domain, "offers": len(offers)}
    )
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
