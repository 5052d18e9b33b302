"""Host health on the hot path: what an answer from a host costs, and how a host that comes back
gets what was skipped while it was away, exactly once.

Every signed incoming request and every delivered activity reports that its host answered; on
SQLite a write there would compete with the worker for the database lock. The tests hold the
write lock (SQLite) or an exclusive table lock (PostgreSQL) from another connection: an answer
from a host known to be fine must complete without writing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError

from federation.context import Federation, SiteInfo
from federation.delivery import deliver_due, host_answered, queue_stats
from federation.settings import FederationSettings
from models.actors import LocalActor
from models.delivery import Delivery, DeliveryState, Host
from tests.conftest import TEST_DOMAIN
from tests.rig.database import is_postgres
from tests.rig.observe import queue_deliveries
from tests.rig.remote import RemoteServer

LOCK_GUARD = 20.0
"""Seconds before a blocked call counts as a deadlock (PostgreSQL waits for locks forever)."""


def _now() -> datetime:
    return datetime.now(UTC)


@contextlib.asynccontextmanager
async def _writes_locked(database_url: str) -> AsyncIterator[None]:
    """No other connection may write while this is held; reads go on."""
    if not is_postgres():
        ours = connections.get("default")
        [(busy,)] = (await ours.execute_query("PRAGMA busy_timeout"))[1]
        await ours.execute_script("PRAGMA busy_timeout = 0")  # a blocked write fails at once
        conn = sqlite3.connect(database_url[len("sqlite://") :], isolation_level=None, timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")  # the write lock; readers are not blocked
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
            await ours.execute_script(f"PRAGMA busy_timeout = {int(busy)}")
        return
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE host IN EXCLUSIVE MODE")  # only plain reads go on
            yield
    finally:
        await conn.close()


async def _answered_under_lock(database_url: str, fed: Federation, *domains: str) -> None:
    async with _writes_locked(database_url):
        async with asyncio.timeout(LOCK_GUARD):
            for domain in domains:
                await host_answered(domain, fed)


# --- what an answer costs -----------------------------------------------------------------------


async def test_an_answer_from_a_host_known_to_be_fine_writes_nothing(
    fed: Federation, database_url: str
) -> None:
    seen = _now() - timedelta(seconds=10)
    await Host.create(domain="fine.example", last_success_at=seen)
    # Under a held write lock: any write would fail (SQLite) or wait (PostgreSQL).
    await _answered_under_lock(database_url, fed, "fine.example", "never-failed.example")
    host = await Host.get(domain="fine.example")
    assert host.last_success_at == seen and host.failing_since is None and not host.unreachable
    assert not await Host.exists(domain="never-failed.example")  # no row for a host never failed


async def test_the_lock_is_real(fed: Federation, database_url: str) -> None:
    """The check above can fail: an answer that has something to write does not get through."""
    await Host.create(domain="streak.example", failing_since=_now() - timedelta(hours=1))
    with pytest.raises((OperationalError, TimeoutError)):  # SQLite: locked; PostgreSQL: waits
        async with _writes_locked(database_url):
            async with asyncio.timeout(1):
                await host_answered("streak.example", fed)
    assert (await Host.get(domain="streak.example")).failing_since is not None


async def test_an_answer_clears_a_streak_and_refreshes_an_old_success(fed: Federation) -> None:
    recent, old = _now() - timedelta(seconds=10), _now() - timedelta(minutes=5)
    await Host.create(domain="streak.example", failing_since=_now(), last_success_at=recent)
    await Host.create(domain="old.example", last_success_at=old)
    before = _now()
    await host_answered("streak.example", fed)
    await host_answered("old.example", fed)
    streak = await Host.get(domain="streak.example")
    assert streak.failing_since is None and streak.last_success_at >= before
    assert (await Host.get(domain="old.example")).last_success_at >= before


# --- coming back --------------------------------------------------------------------------------


async def test_a_host_heard_from_twice_at_once_is_requeued_once(
    fed: Federation, member: LocalActor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="federation.delivery")
    await Host.create(
        domain="back.example",
        failing_since=_now() - timedelta(days=9),
        last_failure_at=_now(),
        unreachable=True,
    )
    await queue_deliveries(fed, member, ["https://back.example/inbox", "https://back.example/u/b"])
    assert await deliver_due(fed) == 2
    assert set(await Delivery.all().values_list("state", flat=True)) == {DeliveryState.SKIPPED}

    await asyncio.gather(*(host_answered("back.example", fed) for _ in range(3)))
    [line] = [r for r in caplog.records if r.msg == "host reachable again"]
    assert line.__dict__["requeued"] == 2 and line.__dict__["given_up"] == 0
    host = await Host.get(domain="back.example")
    assert not host.unreachable and host.failing_since is None
    assert set(await Delivery.all().values_list("state", flat=True)) == {DeliveryState.PENDING}


async def test_rows_skipped_after_the_host_came_back_in_the_same_batch_are_requeued(
    member: LocalActor, remote: RemoteServer
) -> None:
    """One at a time per host: the probe answers and the host's recovery requeues what was
    skipped, then the batch (which read the host as unreachable) skips its other row. That row
    is queued again once the batch is done, not left behind."""
    await Host.create(
        domain=remote.host,
        failing_since=_now() - timedelta(days=9),
        last_failure_at=_now() - timedelta(days=2),  # due for its daily probe
        unreachable=True,
    )
    settings: dict[str, Any] = {"allow_private_addresses": True, "per_host_concurrency": 1}
    serial = Federation.create(
        FederationSettings(**settings), f"https://{TEST_DOMAIN}", SiteInfo("Test", "", ("en",))
    )
    try:
        probe, other = await queue_deliveries(
            serial, member, [remote.url("/inbox"), remote.url("/users/zoe/inbox")]
        )
        assert await deliver_due(serial) == 2
        assert [p.path for p in remote.posts] == ["/inbox"]  # the first claimed is the probe
        assert (await Delivery.get(id=probe.id)).state == DeliveryState.DELIVERED
        skipped = await Delivery.get(id=other.id)
        assert skipped.state == DeliveryState.PENDING and skipped.next_attempt_at <= _now()
        assert skipped.attempts == 0 and skipped.last_error == "host marked unreachable"
        assert await deliver_due(serial) == 1
    finally:
        await serial.aclose()
    assert (await Delivery.get(id=other.id)).state == DeliveryState.DELIVERED
    assert sorted(p.path for p in remote.posts) == ["/inbox", "/users/zoe/inbox"]


# --- counting -----------------------------------------------------------------------------------


async def test_queue_stats_count_every_state(fed: Federation, member: LocalActor) -> None:
    assert await queue_stats() == {s.value: 0 for s in DeliveryState}
    rows = await queue_deliveries(fed, member, [f"https://r{i}.example/inbox" for i in range(4)])
    await Delivery.filter(id=rows[0].id).update(state=DeliveryState.DELIVERED)
    await Delivery.filter(id__in=[rows[1].id, rows[2].id]).update(state=DeliveryState.SKIPPED)
    assert await queue_stats() == {"pending": 1, "delivered": 1, "failed": 0, "skipped": 2}
