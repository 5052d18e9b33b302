"""Background work: inbox processing, delivery, and periodic upkeep, in one loop per process.

``coopub serve`` runs it beside the web server (one process), or in worker processes of its own
(instance/processes.py); ``coopub worker`` runs one or several. Work queued in the same process
wakes the loop at once, work queued by another process too on PostgreSQL (instance/wake.py);
otherwise the loop polls every ``worker_poll_seconds``.

Several loops claim disjoint rows (federation/queue.py). The chores that are not claims (expiring
offers, the hourly upkeep) run in one loop per host only, ``upkeep=True``: two loops expiring the
same offer would each send its Update.

Each loop beats a heartbeat row (``host:pid``) every 15 s. When a pass fails it backs off
exponentially (from the poll interval up to a minute); a database outage is logged as one line
when it starts, every few minutes while it lasts and when it ends, never as a traceback a pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import cast

from federation.actors import fetch_actor
from federation.context import Federation
from federation.delivery import deliver_due
from federation.inbox import process_due
from federation.retention import give_up_skipped, purge
from federation.services.directory import merge_mirrors, refresh_entries
from federation.services.offers import expire_offers
from instance.heartbeat import BEAT_EVERY, beat, forget, forget_stale, worker_name
from instance.status import (
    PROBE_TIMEOUT,
    database_problem,
    describe_error,
    missing_database_file,
)
from models.actors import RemoteActor
from models.db import DatabaseUnreachable, is_outage
from models.errors import CoopubError

log = logging.getLogger(__name__)

UPKEEP_EVERY = timedelta(hours=1)
BACKOFF_MAX = 60.0
"""Longest wait, in seconds, between passes that keep failing."""
STILL_DOWN_EVERY = timedelta(minutes=5)
"""While the database stays unavailable, a reminder is logged this often."""
GATHER_SECONDS = 0.05
"""After a pass that found less than a batch, the pause before the next one, so that work
arriving steadily is taken a batch at a time: a received offer costs 2.4 ms of CPU in batches
of 2, 0.7 ms in batches of 20 (bench/store_offer.py --worker)."""


async def run_once(fed: Federation, *, upkeep: bool = True) -> int:
    """One pass over both queues (and expiry by the upkeep loop); returns how many items were
    handled."""
    handled = await process_due(fed)
    handled += await deliver_due(fed)
    if upkeep:
        handled += await expire_offers(fed)
    return handled


async def refresh_stale_actors(fed: Federation, limit: int = 50) -> int:
    """Refetch remote actors older than ``actor_refresh_hours`` (keys, inboxes, names)."""
    stale_before = datetime.now(UTC) - timedelta(hours=fed.settings.actor_refresh_hours)
    stale = RemoteActor.filter(fetched_at__lt=stale_before).limit(limit)
    # Tortoise types a flat values_list as tuples.
    uris = cast(list[str], await stale.values_list("ap_id", flat=True))
    for uri in uris:
        try:
            await fetch_actor(fed, uri, refresh=True)
        except CoopubError as exc:
            log.info("actor refresh failed", extra={"actor": uri, "error": str(exc)})
    return len(uris)


def upkeep_tasks(fed: Federation) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
    """The hourly chores, by name."""
    tasks: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("refresh actors", lambda: refresh_stale_actors(fed))
    ]
    if fed.directory.enabled:
        tasks += [
            ("directory refresh", lambda: refresh_entries(fed)),
            ("directory mirrors", lambda: merge_mirrors(fed)),
        ]
    return [
        *tasks,
        ("give up skipped deliveries", lambda: give_up_skipped(fed)),
        ("retention purge", lambda: purge(fed)),
        ("forget stale workers", forget_stale),
    ]


class Worker:
    """One worker loop and what it remembers between passes: its heartbeat, its schedule and
    the outage it is backing off from."""

    def __init__(self, fed: Federation, stop: asyncio.Event, *, upkeep: bool = True) -> None:
        self.fed = fed
        self.stop = stop
        self.runs_upkeep = upkeep
        self.name = worker_name()
        self.started_at = datetime.now(UTC)
        self.next_beat = self.started_at
        self.next_upkeep = self.started_at
        self.failures = 0
        """Passes failed in a row; sets the backoff."""
        self.down_since: datetime | None = None
        self.reported_at: datetime | None = None

    async def run(self) -> None:
        log.info("worker started", extra={"worker": self.name})
        try:
            while not self.stop.is_set():
                handled = 0
                try:
                    handled = await self.run_pass()
                except Exception as exc:  # a supervisor loop: report, back off, keep going
                    await self.failed(exc)
                else:
                    self.succeeded()
                if handled and not self.failures:
                    if handled < self.fed.settings.worker_batch_size:
                        await self.gather()
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_either(self.fed.wake, self.stop), self.wait())
        finally:
            await self.forget()
            log.info("worker stopped", extra={"worker": self.name})

    async def gather(self) -> None:
        """Pause ``GATHER_SECONDS`` (the queue ran dry: let the next batch fill), unless
        stopped."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), GATHER_SECONDS)

    async def run_pass(self) -> int:
        self.fed.wake.clear()  # first: a pass that fails must not leave it set (no backoff)
        if missing := await missing_database_file():
            raise DatabaseUnreachable(missing)
        await self.beat_if_due()
        handled = await run_once(self.fed, upkeep=self.runs_upkeep)
        if self.runs_upkeep and datetime.now(UTC) >= self.next_upkeep:
            await self.upkeep()
            self.next_upkeep = datetime.now(UTC) + UPKEEP_EVERY
        return handled

    async def beat_if_due(self) -> None:
        if datetime.now(UTC) >= self.next_beat:
            await beat(self.name, self.started_at)
            self.next_beat = datetime.now(UTC) + BEAT_EVERY

    async def upkeep(self) -> None:
        """Every task runs whatever the others did: one failing does not stop the rest."""
        for name, task in upkeep_tasks(self.fed):
            try:
                await self.beat_if_due()
                await task()
            except Exception as exc:  # reported, and the next task still runs
                if isinstance(exc, CoopubError) or is_outage(exc):
                    error = describe_error(exc)
                    log.error("upkeep task failed", extra={"task": name, "error": error})
                else:
                    log.error("upkeep task failed", extra={"task": name}, exc_info=exc)

    def wait(self) -> float:
        """Seconds to wait before the next pass: the poll interval, doubled for each failure."""
        poll = self.fed.settings.worker_poll_seconds
        if not self.failures:
            return poll
        factor: int = 2 ** min(self.failures, 32)  # int ** int is typed Any
        return min(BACKOFF_MAX, poll * factor)

    async def failed(self, exc: Exception) -> None:
        self.failures += 1
        retry_in = round(self.wait(), 3)
        problem = await database_problem()
        if problem is None and not is_outage(exc):
            log.error("worker pass failed", extra={"retry_in": retry_in}, exc_info=exc)
            return
        now = datetime.now(UTC)
        error = problem or describe_error(exc)
        if self.down_since is None or self.reported_at is None:
            self.down_since = self.reported_at = now
            log.error("database unavailable", extra={"error": error, "retry_in": retry_in})
        elif now - self.reported_at >= STILL_DOWN_EVERY:
            self.reported_at = now
            down = round((now - self.down_since).total_seconds())
            log.warning(
                "database still unavailable",
                extra={"error": error, "down_seconds": down, "retry_in": retry_in},
            )
        else:
            log.debug("database still unavailable", extra={"error": error, "retry_in": retry_in})

    def succeeded(self) -> None:
        if self.down_since is not None:
            down = round((datetime.now(UTC) - self.down_since).total_seconds())
            log.info("database available again", extra={"down_seconds": down})
        self.failures = 0
        self.down_since = self.reported_at = None

    async def forget(self) -> None:
        """Remove the heartbeat on a clean stop (best effort: the database may be gone)."""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                await forget(self.name)
        except Exception as exc:  # stopping anyway; the row expires after a day
            error = describe_error(exc)
            log.info("heartbeat not removed", extra={"worker": self.name, "error": error})


async def run_forever(fed: Federation, stop: asyncio.Event, *, upkeep: bool = True) -> None:
    await Worker(fed, stop, upkeep=upkeep).run()


async def _either(a: asyncio.Event, b: asyncio.Event) -> None:
    waits = [asyncio.create_task(a.wait()), asyncio.create_task(b.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
