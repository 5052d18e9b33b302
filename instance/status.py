"""What the database says about this instance's health: is it answering, are workers alive, how
far behind are the queues. Read by ``/healthz``, ``/metrics`` and the worker's error handling;
computed from the shared database, so it is right whichever process or host does the work."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from tortoise.connection import get_connection

from federation.delivery import queue_stats
from federation.queue import count_by_state
from models.activities import InboxItem, InboxState
from models.delivery import Delivery, Host
from models.workers import WorkerHeartbeat

PROBE_TIMEOUT = 3.0
"""Seconds a probe may take before the database counts as not answering."""
HEARTBEAT_STALE = timedelta(minutes=2)
"""A worker that has not beaten for this long is presumed stalled or gone (it beats every 15 s)."""


async def database_problem() -> str | None:
    """``None`` when the database answers a trivial read of our schema in time, else why not.

    The read touches a table (not ``SELECT 1``, which SQLite answers without its file), so a
    missing schema counts as unavailable; a SQLite file deleted under a running process, which
    would otherwise keep working on a ghost copy and lose every write, does too.
    """
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            await WorkerHeartbeat.all().limit(1).values_list("id", flat=True)
            return await missing_database_file()
    except TimeoutError:
        return f"no answer within {PROBE_TIMEOUT:g} s"
    except Exception as exc:  # whatever the driver raises (OSError, asyncpg, sqlite3, tortoise)
        return describe_error(exc)


_OPENED: dict[str, tuple[int, int]] = {}
"""Device and inode of each SQLite file when first checked, to notice it being replaced."""


async def missing_database_file() -> str | None:
    """Why the SQLite file in use is no longer at its path, if it is not (``None`` on
    PostgreSQL). SQLite goes on using a deleted or replaced file through its open handle, and
    every write would be lost: only a restart opens the file now at the path."""
    path = getattr(get_connection("default"), "filename", None)
    if not isinstance(path, str) or path == ":memory:":
        return None
    try:
        stat = await asyncio.to_thread(os.stat, path)
    except FileNotFoundError:
        return f"database file missing: {path} (restore it, then restart coopub)"
    identity = (stat.st_dev, stat.st_ino)
    if _OPENED.setdefault(path, identity) != identity:
        return f"database file replaced: {path} (restart coopub to use the new one)"
    return None


def describe_error(exc: BaseException) -> str:
    """One line: the error's type and message (drivers put newlines in theirs)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _age(now: datetime, since: datetime | None) -> float | None:
    return None if since is None else max(0.0, (now - since).total_seconds())


@dataclass
class QueueStatus:
    now: datetime
    deliveries: dict[str, int] = field(default_factory=dict)
    """Deliveries per state, every state present."""
    inbox: dict[str, int] = field(default_factory=dict)
    """Inbox items per state, every state present."""
    oldest_due_delivery: datetime | None = None
    oldest_due_inbox: datetime | None = None
    unreachable_hosts: int = 0
    newest_heartbeat: datetime | None = None
    live_workers: int = 0

    @property
    def delivery_lag(self) -> float:
        """Seconds since the oldest due pending delivery became due (0: nothing waiting)."""
        return _age(self.now, self.oldest_due_delivery) or 0.0

    @property
    def inbox_lag(self) -> float:
        return _age(self.now, self.oldest_due_inbox) or 0.0

    @property
    def heartbeat_age(self) -> float | None:
        """Seconds since the newest worker heartbeat; ``None`` when no worker has beaten."""
        return _age(self.now, self.newest_heartbeat)


async def _oldest_due(model: type[Delivery] | type[InboxItem], now: datetime) -> datetime | None:
    # Uses the (state, next_attempt_at) index: one row read.
    due = model.filter(state="pending", next_attempt_at__lte=now).order_by("next_attempt_at")
    oldest = await due.first().values_list("next_attempt_at", flat=True)
    return cast(datetime | None, oldest)  # Tortoise types a flat values_list as a tuple


async def queue_status(*, all_states: bool = True) -> QueueStatus:
    """The queues and workers now. ``all_states=False`` counts only the pending rows (cheap, for
    health checks); otherwise every state is counted (metrics)."""
    now = datetime.now(UTC)
    status = QueueStatus(now)
    if all_states:
        status.deliveries = await queue_stats()
        status.inbox = await count_by_state(InboxItem, (s.value for s in InboxState))
    else:
        status.deliveries = {"pending": await Delivery.filter(state="pending").count()}
        status.inbox = {"pending": await InboxItem.filter(state="pending").count()}
    status.oldest_due_delivery = await _oldest_due(Delivery, now)
    status.oldest_due_inbox = await _oldest_due(InboxItem, now)
    status.unreachable_hosts = await Host.filter(unreachable=True).count()
    beats = WorkerHeartbeat.all().order_by("-beat_at")
    newest = await beats.first().values_list("beat_at", flat=True)
    status.newest_heartbeat = cast(datetime | None, newest)  # Tortoise: typed as a tuple
    status.live_workers = await WorkerHeartbeat.filter(beat_at__gte=now - HEARTBEAT_STALE).count()
    return status
