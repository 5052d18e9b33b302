"""Worker heartbeats: one row per worker process (``host:pid``), refreshed while it runs, so
``/healthz`` and ``/metrics`` can tell a stalled queue from an idle one across processes."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError

from models.workers import WorkerHeartbeat

BEAT_EVERY = timedelta(seconds=15)
FORGET_AFTER = timedelta(days=1)
"""Rows of workers that stopped without cleaning up (killed, host lost) are removed after this."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


async def beat(name: str, started_at: datetime) -> None:
    now = datetime.now(UTC)
    if await WorkerHeartbeat.filter(name=name).update(beat_at=now):
        return
    try:
        await WorkerHeartbeat.create(name=name, started_at=started_at, beat_at=now)
    except IntegrityError:  # another loop of this process created it meanwhile
        await WorkerHeartbeat.filter(name=name).update(beat_at=now)


async def forget(name: str) -> None:
    await WorkerHeartbeat.filter(name=name).delete()


async def forget_stale() -> int:
    """Remove the rows of workers silent for a day; returns how many."""
    return await WorkerHeartbeat.filter(beat_at__lt=datetime.now(UTC) - FORGET_AFTER).delete()
