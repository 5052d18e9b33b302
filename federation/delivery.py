"""The persistent outgoing queue: publish (one transaction) and deliver (any number of workers).

Rows are claimed with a lease (``federation/queue.py``), renewed while the batch runs, so several
worker processes never send the same row at the same time. Delivery is at least once: a worker
killed between sending a row and recording it (a batch's successes are recorded together when
the batch ends, ``federation/delivery_send.py``) leaves the row to be sent again by another once
the lease lapses (within ``lease_seconds``), and the receiver dedupes by activity id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from activitypub.apobject import APObject
from activitypub.urls import host_of
from federation.blocks import suspended_among, suspended_inboxes
from federation.context import Federation
from federation.delivery_send import SUSPENDED_ERROR, Sender, send_batch
from federation.hosts import host_answered
from federation.queue import claim_due, count_by_state, holding, new_token
from models.activities import Activity
from models.actors import LocalActor, RemoteActor
from models.delivery import Delivery, DeliveryState, queue_deliveries
from models.errors import Malformed
from models.follows import FollowState

log = logging.getLogger(__name__)

__all__ = [
    "SUSPENDED_ERROR",
    "deliver_due",
    "follower_inboxes",
    "host_answered",
    "publish",
    "queue_stats",
]

PASS_SECONDS = 2.0
"""How long one pass of the worker keeps claiming more deliveries."""
LARGEST_CLAIM = 100
"""A claim that comes back full is followed by one twice as large, up to this: a long queue (a
fan-out) is claimed in fewer, larger batches, each recorded in a few statements, while a few
rows still go to several workers, ``worker_batch_size`` at a time."""


def _now() -> datetime:
    return datetime.now(UTC)


async def publish(
    fed: Federation, actor: LocalActor, payload: dict[str, Any], inboxes: Iterable[str]
) -> Activity:
    """Store the activity and one delivery row per distinct remote inbox, in one transaction;
    nothing is queued for a suspended domain or account."""
    targets = sorted({i for i in inboxes if i and not fed.urls.is_local(i)})
    suspended = await suspended_among({host_of(i) for i in targets})
    if suspended:
        targets = [i for i in targets if host_of(i) not in suspended]
    barred = await suspended_inboxes(targets)  # a suspended account's own inbox
    if barred:
        targets = [i for i in targets if i not in barred]
    now = _now()
    act = APObject(payload)
    if act.id is None or not act.type:
        raise Malformed("an activity to publish has no id or no type")
    async with in_transaction() as conn:
        activity = await Activity.create(
            ap_id=act.id,
            actor=actor,
            type=act.type,
            object_uri=act.object_id,
            payload=payload,
            public=act.is_public,
            using_db=conn,
        )
        await queue_deliveries(conn, activity.id, [(i, host_of(i)) for i in targets], now)
    log.info(
        "activity queued",
        extra={"activity": activity.ap_id, "type": activity.type, "targets": len(targets)},
    )
    fed.poke()
    return activity


async def deliver_due(fed: Federation, *, actor: LocalActor | None = None) -> int:
    """Send the deliveries that are due, optionally only those of one actor's activities;
    returns how many were tried, once all of them are finished.

    Batches of ``worker_batch_size`` (then larger, up to ``LARGEST_CLAIM``) are claimed one
    after the other, the next as soon as every row claimed is being sent and a batch more stays
    under ``MAX_IN_FLIGHT`` requests (so the hosts stay busy, and no row is held that another
    worker could send now). Claiming stops when a claim comes back short (nothing more is due)
    or after ``PASS_SECONDS``, so that the worker's other queues get their turn between
    passes."""
    filters = {} if actor is None else {"activity__actor_id": actor.id}
    settings = fed.settings
    lease, size = timedelta(seconds=settings.lease_seconds), settings.worker_batch_size
    sender = Sender(fed)
    batches: list[asyncio.Task[None]] = []
    tried = 0
    stop_at = time.monotonic() + PASS_SECONDS
    try:
        while True:
            await sender.room.wait()
            token = new_token()
            rows = await claim_due(
                Delivery, DeliveryState.PENDING, size, lease=lease, token=token, **filters
            )
            tried += len(rows)
            if rows:
                sender.claimed(len(rows))
                batches.append(asyncio.create_task(_send_held(sender, rows, token)))
            if len(rows) < size or time.monotonic() >= stop_at:
                break
            size = min(2 * size, max(LARGEST_CLAIM, settings.worker_batch_size))
    except asyncio.CancelledError:
        for batch in batches:
            batch.cancel()
        raise
    finally:
        if batches:
            await asyncio.wait(batches)
    for batch in batches:
        if (error := batch.exception()) is not None:
            raise error
    return tried


async def _send_held(sender: Sender, rows: list[Delivery], token: str) -> None:
    async with holding(Delivery, token, sender.fed.settings, [r.id for r in rows]):
        await send_batch(sender, rows)


async def follower_inboxes(fed: Federation, actor: LocalActor) -> list[str]:
    """Where to deliver to ``actor``'s remote followers: one shared inbox per server when the
    follower advertises one, else its own inbox (``RemoteActor.delivery_inbox``); deduplicated.
    Two columns are read, not whole actors: a fan-out to 10,000 followers built 10,000 of them."""
    rows = await RemoteActor.filter(
        following_rel__target_uri=fed.urls.actor(actor),
        following_rel__state=FollowState.ACCEPTED,
    ).values_list("shared_inbox", "inbox")
    return sorted({shared or inbox for shared, inbox in rows})


async def queue_stats() -> dict[str, int]:
    """Deliveries per state, every state present (zero when none)."""
    return await count_by_state(Delivery, (s.value for s in DeliveryState))
