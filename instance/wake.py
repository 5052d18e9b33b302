"""Waking worker processes when another process queues work (PostgreSQL's LISTEN/NOTIFY).

``fed.poke()`` sets an event of its own process: enough when the worker loop runs there. When
the workers run in processes of their own (several web processes, ``coopub serve --no-worker``
beside ``coopub worker``, workers on other hosts), a web process forwards its pokes as one
``NOTIFY`` (pokes within ``COALESCE_SECONDS`` make one), and every worker process ``LISTEN``s on
a connection of its own: new rows are picked up within milliseconds, wherever the worker runs.

SQLite has no such channel: there a worker in another process finds new rows at its next poll
(``worker_poll_seconds``, 1 s by default). Missing a wake-up never loses work, only time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints (no py.typed)
from tortoise import connections

from federation.context import Federation
from models.db import DRIVER_ERRORS, engine

log = logging.getLogger(__name__)

CHANNEL = "coopub_work"
COALESCE_SECONDS = 0.01
"""A poke is forwarded this long after it came: a burst of pokes (an inbox under load) makes one
notification, and the transaction that queued the work has usually committed by then."""
RECONNECT_SECONDS = 5.0


def notifies(database_url: str) -> bool:
    """Whether processes of this database can wake each other (PostgreSQL only)."""
    return engine(database_url) == "postgres"


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def forward_pokes(fed: Federation, stop: asyncio.Event) -> None:
    """In a web process without a worker loop: turn this process's pokes into notifications."""
    while not stop.is_set():
        waiting = asyncio.create_task(fed.wake.wait())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([waiting, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            stopping.cancel()
        if stop.is_set():
            return
        await asyncio.sleep(COALESCE_SECONDS)
        fed.wake.clear()
        try:
            await connections.get("default").execute_query("SELECT pg_notify($1, '')", [CHANNEL])
        except DRIVER_ERRORS as exc:  # the worker's next poll finds the work anyway
            log.debug("worker not notified", extra={"error": str(exc) or repr(exc)})


async def listen_for_work(database_url: str, fed: Federation, stop: asyncio.Event) -> None:
    """In a worker process: poke this process's loop at every notification, on a connection of
    its own, reconnected when it is lost (polling covers the gap)."""
    dsn = database_url.replace("postgres://", "postgresql://", 1)
    while not stop.is_set():
        try:
            conn = await asyncpg.connect(dsn)
        except DRIVER_ERRORS as exc:
            log.debug("not listening for work", extra={"error": str(exc) or repr(exc)})
            if await _stopped(stop, RECONNECT_SECONDS):
                return
            continue
        try:
            await conn.add_listener(CHANNEL, lambda *_: fed.poke())
            while not conn.is_closed():
                if await _stopped(stop, RECONNECT_SECONDS):
                    return
        except DRIVER_ERRORS as exc:
            log.debug("listening for work stopped", extra={"error": str(exc) or repr(exc)})
        finally:
            with contextlib.suppress(*DRIVER_ERRORS):
                await conn.close(timeout=2)
