"""Background work: inbox processing, delivery, and periodic upkeep, in one loop per process.

``coopub serve`` runs it beside the web server; ``coopub worker`` runs it alone (several may run
on PostgreSQL). Work queued in the same process wakes the loop at once; otherwise it polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from federation.actors import fetch_actor
from federation.context import Federation
from federation.delivery import deliver_due
from federation.directory import merge_mirrors, refresh_entries
from federation.inbox import process_due
from federation.offers import expire_offers
from models.actors import RemoteActor
from models.errors import CoopubError

log = logging.getLogger(__name__)

UPKEEP_EVERY = timedelta(hours=1)


async def run_once(fed: Federation) -> int:
    """One pass over both queues; returns how many items were handled."""
    handled = await process_due(fed)
    handled += await deliver_due(fed)
    handled += await expire_offers(fed)
    return handled


async def refresh_stale_actors(fed: Federation, limit: int = 50) -> int:
    """Refetch remote actors older than ``actor_refresh_hours`` (keys, inboxes, names)."""
    stale_before = datetime.now(UTC) - timedelta(hours=fed.settings.actor_refresh_hours)
    uris = (
        await RemoteActor.filter(fetched_at__lt=stale_before)
        .limit(limit)
        .values_list("ap_id", flat=True)
    )
    for uri in uris:
        try:
            await fetch_actor(fed, uri, refresh=True)
        except CoopubError as exc:
            log.info("actor refresh failed", extra={"actor": uri, "error": str(exc)})
    return len(uris)


async def run_forever(fed: Federation, stop: asyncio.Event) -> None:
    next_upkeep = datetime.now(UTC)
    log.info("worker started")
    while not stop.is_set():
        try:
            fed.wake.clear()
            handled = await run_once(fed)
            if datetime.now(UTC) >= next_upkeep:
                await refresh_stale_actors(fed)
                if fed.directory.enabled:
                    await refresh_entries(fed)
                    await merge_mirrors(fed)
                next_upkeep = datetime.now(UTC) + UPKEEP_EVERY
        except Exception:  # a supervisor loop: log whatever went wrong and keep going
            log.exception("worker pass failed")
            handled = 0
        if handled:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_either(fed.wake, stop), fed.settings.worker_poll_seconds)
    log.info("worker stopped")


async def _either(a: asyncio.Event, b: asyncio.Event) -> None:
    waits = [asyncio.create_task(a.wait()), asyncio.create_task(b.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
