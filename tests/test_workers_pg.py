"""Several workers, one queue: every delivery is claimed by exactly one of them.

``claim_due`` is exercised from concurrent tasks on both databases; on PostgreSQL two real
``coopub worker`` processes then drain a queue of 60 deliveries to a loopback server, which must
receive each (activity, inbox) exactly once when no worker dies (tests/test_worker_crash.py
kills one: then a row may be sent twice, never lost). Here each command runs one process
(``[worker] processes = 1``); tests/test_processes.py runs ``coopub serve`` with several worker
processes on both databases, SQLite included.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from activitypub.wire import AS2_CONTEXT
from federation.context import Federation
from federation.delivery import publish
from federation.queue import claim_due
from models.activities import Activity
from models.actors import LocalActor
from models.delivery import Delivery, DeliveryState
from tests.conftest import TEST_DOMAIN
from tests.rig.database import is_postgres
from tests.rig.remote import RemoteServer
from tests.skips import NEEDS_POSTGRES

ROOT = Path(__file__).resolve().parent.parent
ONLY_POSTGRES = pytest.mark.skipif(not is_postgres(), reason=NEEDS_POSTGRES)  # see tests/skips.py
LEASE = timedelta(seconds=60)


def _payload(fed: Federation, actor: LocalActor) -> dict[str, Any]:
    return {
        "@context": AS2_CONTEXT,
        "id": fed.urls.new_activity_id(),
        "type": "Announce",
        "actor": fed.urls.actor(actor),
        "object": "https://remote.example/notes/1",
        "to": [fed.urls.followers(actor)],
    }


async def _queue(fed: Federation, actor: LocalActor, inboxes: list[str]) -> Activity:
    return await publish(fed, actor, _payload(fed, actor), inboxes)


# --- claim_due ----------------------------------------------------------------------------------


async def test_concurrent_claims_are_disjoint(fed: Federation, member: LocalActor) -> None:
    await _queue(fed, member, [f"https://remote.example/inbox/{i}" for i in range(40)])
    all_ids = set(await Delivery.all().values_list("id", flat=True))
    assert len(all_ids) == 40
    start = asyncio.Event()
    tokens: dict[str, set[int]] = {}

    async def claimer() -> list[int]:
        await start.wait()
        mine: list[int] = []
        while rows := await claim_due(Delivery, DeliveryState.PENDING, 3, lease=LEASE):
            mine.extend(r.id for r in rows)
            assert rows[0].claim_token not in tokens  # a new token for every claim
            tokens[str(rows[0].claim_token)] = {r.id for r in rows}
            await asyncio.sleep(0)  # let the other claimer in between batches
        return mine

    tasks = [asyncio.create_task(claimer()) for _ in range(2)]
    start.set()
    first, second = await asyncio.wait_for(asyncio.gather(*tasks), 30)
    assert len(first) == len(set(first)) and len(second) == len(set(second))
    assert not set(first) & set(second)
    assert set(first) | set(second) == all_ids
    # Every row now carries a lease, so nothing is claimable until it expires.
    assert await claim_due(Delivery, DeliveryState.PENDING, 100, lease=LEASE) == []
    assert await Delivery.filter(locked_until__isnull=True).count() == 0
    # One token per claim, shared by the rows of that claim (in the database too).
    for token, ids in tokens.items():
        assert set(await Delivery.filter(claim_token=token).values_list("id", flat=True)) == ids


async def test_claims_respect_due_time_state_and_leases(
    fed: Federation, member: LocalActor
) -> None:
    await _queue(fed, member, [f"https://remote.example/inbox/{i}" for i in range(6)])
    ids = sorted(await Delivery.all().values_list("id", flat=True))
    now = datetime.now(UTC)
    await Delivery.filter(id=ids[0]).update(next_attempt_at=now + timedelta(minutes=5))
    await Delivery.filter(id=ids[1]).update(state=DeliveryState.DELIVERED)
    await Delivery.filter(id=ids[2]).update(locked_until=now + timedelta(minutes=1))
    await Delivery.filter(id=ids[3]).update(locked_until=now - timedelta(seconds=1))  # expired

    before = datetime.now(UTC)
    claimed = await claim_due(Delivery, DeliveryState.PENDING, 100, lease=LEASE)
    after = datetime.now(UTC)
    assert sorted(r.id for r in claimed) == ids[3:]
    leased = await Delivery.filter(id__in=ids[3:]).values_list("locked_until", flat=True)
    assert all(before + LEASE <= until <= after + LEASE for until in leased)
    assert {r.locked_until for r in claimed} == set(leased)  # the rows returned say so too
    assert len({r.claim_token for r in claimed}) == 1
    assert len(await claim_due(Delivery, DeliveryState.PENDING, 100, lease=LEASE)) == 0

    # A worker that died mid-way: its lease expires and another worker takes the rows.
    await Delivery.filter(id__in=ids[3:5]).update(locked_until=now - timedelta(seconds=1))
    again = await claim_due(Delivery, DeliveryState.PENDING, 100, lease=LEASE)
    assert sorted(r.id for r in again) == ids[3:5]


@ONLY_POSTGRES
async def test_claim_skips_rows_locked_by_another_transaction(
    fed: Federation, member: LocalActor
) -> None:
    await _queue(fed, member, [f"https://remote.example/inbox/{i}" for i in range(20)])
    all_ids = set(await Delivery.all().values_list("id", flat=True))
    held: list[int] = []
    locked, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with in_transaction():
            rows = await Delivery.all().order_by("id").limit(8).select_for_update()
            held.extend(r.id for r in rows)
            locked.set()
            await release.wait()

    task = asyncio.create_task(holder())
    try:
        await asyncio.wait_for(locked.wait(), 10)
        # Must neither wait for the holder nor return its rows.
        claimed = await asyncio.wait_for(
            claim_due(Delivery, DeliveryState.PENDING, 100, lease=LEASE), 5
        )
    finally:
        release.set()
        await task
    assert {r.id for r in claimed} == all_ids - set(held)
    later = await claim_due(Delivery, DeliveryState.PENDING, 100, lease=LEASE)
    assert {r.id for r in later} == set(held)  # released, never leased: claimable now


# --- two real worker processes ------------------------------------------------------------------


def _coopub() -> str:
    script = Path(sys.executable).parent / "coopub"
    return str(script if script.exists() else ROOT / ".venv" / "bin" / "coopub")


def _write_config(directory: Path, database_url: str) -> Path:
    path = directory / "instance.toml"
    path.write_text(
        "[instance]\n"
        f'domain = "{TEST_DOMAIN}"\n'
        'secret_key = "workers-test"\n'
        "[database]\n"
        f"url = {json.dumps(database_url)}\n"
        "[worker]\n"
        "processes = 1\n"  # two `coopub worker` of one process each
        "[federation]\n"
        "allow_private_addresses = true\n"
        "worker_poll_seconds = 0.1\n"
    )
    return path


async def _poll(condition: Any, what: str, seconds: float = 20.0) -> None:
    """Poll ``condition`` (an async predicate) every 0.1 s until it holds."""
    try:
        async with asyncio.timeout(seconds):
            while not await condition():  # noqa: ASYNC110 - polling another process's work
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out after {seconds} s waiting for {what}") from None


async def _start_worker(config: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            _coopub(),
            "worker",
            cwd=config.parent,
            env={**os.environ, "COOPUB_CONFIG": str(config)},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )


async def _stop(processes: list[asyncio.subprocess.Process]) -> None:
    """SIGTERM (the worker finishes its pass and exits), SIGKILL after 10 s."""
    for proc in processes:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    for proc in processes:
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@ONLY_POSTGRES
async def test_two_worker_processes_deliver_each_row_exactly_once(
    fed: Federation, member: LocalActor, database_url: str, tmp_path: Path
) -> None:
    config = _write_config(tmp_path, database_url)
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    async with RemoteServer(delay=0.05) as remote:  # slow enough for the two to overlap
        processes: list[asyncio.subprocess.Process] = []
        try:
            for log in logs:
                processes.append(await _start_worker(config, log))

            async def started() -> bool:
                for proc, log in zip(processes, logs, strict=True):
                    if proc.returncode is not None:
                        raise AssertionError(f"worker exited early:\n{log.read_text()}")
                return all('msg="worker started"' in log.read_text() for log in logs)

            await _poll(started, "both workers to start")

            inboxes = [remote.url(f"/users/u{i}/inbox") for i in range(20)]
            activities = [await _queue(fed, member, inboxes) for _ in range(3)]

            async def drained() -> bool:
                return not await Delivery.filter(state=DeliveryState.PENDING).exists()

            await _poll(drained, "the queue to drain")
        finally:
            await _stop(processes)
        output = [log.read_text() for log in logs]

    assert all(p.returncode == 0 for p in processes), output
    assert all('msg="worker stopped"' in text for text in output), output
    rows = await Delivery.all()
    assert len(rows) == 60
    assert {r.state for r in rows} == {DeliveryState.DELIVERED}, [r.last_error for r in rows]
    assert {r.attempts for r in rows} == {1}

    received = Counter((post.json()["id"], post.path) for post in remote.posts)
    expected = {(a.ap_id, f"/users/u{i}/inbox") for a in activities for i in range(20)}
    assert set(received) == expected
    assert set(received.values()) == {1}, received.most_common(3)
    assert len(remote.requests) == 60
    for post in remote.posts:
        remote.verify(post, member.public_key_pem)

    # Both processes took part (each claims at most a batch of 20 per pass).
    per_worker = [text.count('msg="delivered"') for text in output]
    assert sum(per_worker) == 60 and all(per_worker), per_worker
