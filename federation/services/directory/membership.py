"""The instance side: joining directories, leaving them, and where our offers go to be relayed.

Once a directory accepts us, our open offers published before joining are delivered to it too
(``send_earlier_offers``): the very ``Create`` each one went out with, kept in the outbox with
the offer as it is now, so the directory stores and relays them as any later one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import cast
from urllib.parse import urlsplit

from activitypub.urls import host_of, path_for
from federation.context import Federation
from federation.services.directory.relay import BACKFILL_LIMIT, LIVE
from federation.services.follows import follow, unfollow
from models.activities import Activity
from models.actors import ActorKind
from models.delivery import Delivery
from models.errors import Malformed
from models.follows import Follow, FollowState
from models.offers import Offer

log = logging.getLogger(__name__)


def directory_actor_url(url: str) -> str:
    """``https://directory.example`` → its directory actor, ``…/directory``."""
    parts = urlsplit(url.strip().rstrip("/"))
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise Malformed(f"not a URL: {url!r}", "Give the directory's address, https://…")
    return f"{parts.scheme}://{parts.netloc}{parts.path or path_for('directory_actor')}"


async def join(fed: Federation, url: str) -> Follow:
    return await follow(fed, await fed.instance_actor(), directory_actor_url(url))


async def leave(fed: Federation, url: str) -> None:
    await unfollow(fed, await fed.instance_actor(), directory_actor_url(url))


async def memberships(fed: Federation) -> list[Follow]:
    """The directories this instance asked to join, with their answer."""
    return await Follow.filter(local_follower=await fed.instance_actor()).order_by("id")


async def joined_inboxes(fed: Federation) -> list[str]:
    """Where this instance sends its public offers for the directories to relay."""
    rows = await Follow.filter(
        local_follower__kind=ActorKind.INSTANCE, state=FollowState.ACCEPTED
    ).prefetch_related("remote_target")
    return sorted({r.remote_target.delivery_inbox for r in rows if r.remote_target})


async def send_earlier_offers(fed: Federation, accepted_by: str) -> int:
    """``accepted_by`` accepted a follow: when it is a directory we joined, queue to its inbox
    the ``Create`` of each of our open, unexpired offers (at most ``BACKFILL_LIMIT``, soonest
    first). One delivery per activity and inbox: an ``Accept`` answered again sends nothing
    twice. Returns how many were queued."""
    joined = await Follow.get_or_none(
        local_follower__kind=ActorKind.INSTANCE, target_uri=accepted_by, state=FollowState.ACCEPTED
    ).prefetch_related("remote_target")
    if joined is None or joined.remote_target is None:
        return 0
    inbox = joined.remote_target.delivery_inbox
    if fed.urls.is_local(inbox):
        return 0
    offers = (
        await Offer.filter(
            local_uuid__not_isnull=True,
            author__deleted_at__isnull=True,
            status__in=LIVE,
            expires_at__gt=datetime.now(UTC),
        )
        .order_by("starts_at", "id")
        .limit(BACKFILL_LIMIT)
        .values_list("ap_id", flat=True)
    )
    creates = await Activity.filter(type="Create", object_uri__in=list(offers)).order_by("id")
    queued = Delivery.filter(activity_id__in=[a.id for a in creates], inbox=inbox)
    sent = set(cast(list[int], await queued.values_list("activity_id", flat=True)))
    now = datetime.now(UTC)
    objects: set[str | None] = set()
    rows: list[Delivery] = []
    for create in creates:
        if create.object_uri in objects:
            continue  # one Create per offer (there is only ever one; the first if not)
        objects.add(create.object_uri)
        if create.id not in sent:
            rows.append(
                Delivery(activity=create, inbox=inbox, host=host_of(inbox), next_attempt_at=now)
            )
    if rows:
        await Delivery.bulk_create(rows)
        fed.poke()
    log.info(
        "earlier offers sent to a directory", extra={"directory": accepted_by, "offers": len(rows)}
    )
    return len(rows)
