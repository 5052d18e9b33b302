"""Purging finished background work, run by the worker's upkeep.

Processed inbox items, delivered or failed deliveries and the non-public activities they carried
are only kept for a while (``[retention]``); public activities are the outbox and stay. Counts of
failed logins past their ``expires_at`` (``[limits] login_forget_hours``) go too. Rows are
deleted in batches of ``BATCH`` ids, each its own short statement, so a large table is never
locked for long and the web server keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from tortoise.models import Model

from federation.context import Federation
from models.activities import Activity, InboxItem, InboxState
from models.delivery import Delivery, DeliveryState
from models.login_failures import LoginFailure

log = logging.getLogger(__name__)

BATCH = 1000
MAX_BATCHES = 100
"""At most this many batches per table and upkeep: a huge backlog is worked off over several
upkeeps instead of holding up the worker's other work."""


@dataclass
class Purged:
    inbox_items: int = 0
    deliveries: int = 0
    activities: int = 0
    login_failures: int = 0
    more: bool = False
    """The batch limit was reached: more remains for the next upkeep."""


@dataclass(frozen=True)
class Batches:
    size: int = BATCH
    limit: int = MAX_BATCHES


async def _delete_batches(batches: Batches, model: type[Model], **filters: Any) -> tuple[int, bool]:
    deleted = 0
    for _ in range(batches.limit):
        ids = (
            await model.filter(**filters)
            .order_by("id")
            .limit(batches.size)
            .values_list("id", flat=True)
        )
        if ids:
            deleted += await model.filter(id__in=list(ids)).delete()
        if len(ids) < batches.size:
            return deleted, False
        await asyncio.sleep(0)  # let requests served by this process in between
    return deleted, True


async def _delete_orphan_activities(batches: Batches, before: datetime) -> tuple[int, bool]:
    """Non-public activities older than ``before`` that no delivery refers to any more."""
    deleted, last_id = 0, 0
    for _ in range(batches.limit):
        query = Activity.filter(public=False, created_at__lt=before, id__gt=last_id)
        ids = cast(  # Tortoise types a flat values_list as tuples
            list[int], await query.order_by("id").limit(batches.size).values_list("id", flat=True)
        )
        if not ids:
            return deleted, False
        last_id = ids[-1]
        referenced = Delivery.filter(activity_id__in=ids).distinct()
        busy = set(cast(list[int], await referenced.values_list("activity_id", flat=True)))
        orphans = [i for i in ids if i not in busy]
        if orphans:  # deliveries are only ever created with their activity: none can appear
            deleted += await Activity.filter(id__in=orphans).delete()
        if len(ids) < batches.size:
            return deleted, False
        await asyncio.sleep(0)
    return deleted, True


async def purge(
    fed: Federation, now: datetime | None = None, batches: Batches = Batches()
) -> Purged:
    """Delete what ``fed.retention`` no longer keeps; pending work is never touched."""
    now = now or datetime.now(UTC)
    inbox_before = now - timedelta(days=fed.retention.inbox_days)
    deliveries_before = now - timedelta(days=fed.retention.deliveries_days)
    finished_inbox = [InboxState.DONE, InboxState.IGNORED, InboxState.FAILED]
    finished_deliveries = [DeliveryState.DELIVERED, DeliveryState.FAILED]
    inbox, more_inbox = await _delete_batches(
        batches, InboxItem, state__in=finished_inbox, received_at__lt=inbox_before
    )
    deliveries, more_deliveries = await _delete_batches(
        batches, Delivery, state__in=finished_deliveries, created_at__lt=deliveries_before
    )
    activities, more_activities = await _delete_orphan_activities(batches, deliveries_before)
    logins, more_logins = await _delete_batches(batches, LoginFailure, expires_at__lte=now)
    more = more_inbox or more_deliveries or more_activities or more_logins
    purged = Purged(inbox, deliveries, activities, logins, more)
    log.info(
        "retention purge",
        extra={
            "inbox_items": purged.inbox_items,
            "deliveries": purged.deliveries,
            "activities": purged.activities,
            "login_failures": purged.login_failures,
            "more": purged.more,
        },
    )
    return purged


async def give_up_skipped(
    fed: Federation, now: datetime | None = None, batches: Batches = Batches()
) -> int:
    """Skipped deliveries (their host was unreachable) past ``give_up_after_hours`` will not be
    sent when the host returns: they become failed, and retention purges them later."""
    before = (now or datetime.now(UTC)) - timedelta(hours=fed.settings.give_up_after_hours)
    failed = 0
    for _ in range(batches.limit):
        ids = list(
            await Delivery.filter(state=DeliveryState.SKIPPED, created_at__lt=before)
            .order_by("id")
            .limit(batches.size)
            .values_list("id", flat=True)
        )
        if ids:
            failed += await Delivery.filter(id__in=ids, state=DeliveryState.SKIPPED).update(
                state=DeliveryState.FAILED
            )
        if len(ids) < batches.size:
            break
        await asyncio.sleep(0)
    if failed:
        log.info("skipped deliveries given up", extra={"deliveries": failed})
    return failed
