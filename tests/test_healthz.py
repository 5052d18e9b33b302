"""``/healthz`` and the worker's heartbeat, in process against the real application and
database, and on a real ``coopub serve`` whose database is lost under it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from federation.context import Federation
from instance.heartbeat import worker_name
from instance.worker import run_forever
from models.activities import InboxState
from models.actors import LocalActor
from models.delivery import Delivery
from models.workers import WorkerHeartbeat
from tests.rig.instances import Instance
from tests.rig.observe import beat, inbox_item, now, queue_deliveries, resolved, until

# --- /healthz -------------------------------------------------------------------------------------


async def test_healthz_without_a_worker_is_degraded(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200  # the web server works: curl -f and load balancers keep it
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    report = r.json()
    assert report["status"] == "degraded"
    assert report["reason"] == "no worker heartbeat"
    assert report["database"] == "ok"
    assert report["worker"] == {"heartbeat_age_seconds": None, "alive": 0}


async def test_healthz_with_a_stale_heartbeat_is_degraded(client: httpx.AsyncClient) -> None:
    await beat(timedelta(minutes=5))
    report = (await client.get("/healthz")).json()
    assert report["status"] == "degraded"
    assert "heartbeat" in report["reason"]
    assert report["worker"]["heartbeat_age_seconds"] >= 300
    assert report["worker"]["alive"] == 0


async def test_healthz_ok_reports_the_queues(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor
) -> None:
    await beat(timedelta(seconds=5))
    late, later = await queue_deliveries(
        fed, member, ["https://a.example/inbox", "https://b.example/inbox"]
    )
    await Delivery.filter(id=late.id).update(next_attempt_at=now() - timedelta(seconds=90))
    await Delivery.filter(id=later.id).update(next_attempt_at=now() + timedelta(hours=1))
    for state in (InboxState.PENDING, InboxState.PENDING, InboxState.DONE):
        await inbox_item(state)

    r = await client.get("/healthz")
    assert r.status_code == 200
    report = r.json()
    assert report["status"] == "ok" and "reason" not in report
    assert report["worker"]["alive"] == 1
    assert 5 <= report["worker"]["heartbeat_age_seconds"] < 120
    assert report["deliveries"]["pending"] == 2
    assert 90 <= report["deliveries"]["oldest_due_seconds"] < 3600  # the due one, not the later
    assert report["inbox"]["pending"] == 2
    assert report["inbox"]["oldest_due_seconds"] >= 30


# --- the worker's heartbeat ---------------------------------------------------------------------


async def test_the_worker_beats_and_removes_its_heartbeat_on_stop(
    client: httpx.AsyncClient, fed: Federation
) -> None:
    await beat(timedelta(days=2), name="crashed:99")  # a worker that died a while ago
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(fed, stop))
    try:
        mine = await until(
            lambda: WorkerHeartbeat.get_or_none(name=worker_name()), "the worker's heartbeat"
        )
        assert mine.started_at <= mine.beat_at
        # Its first upkeep forgets the dead worker.
        await until(lambda: _gone("crashed:99"), "the stale heartbeat removed")
        report = (await client.get("/healthz")).json()
        assert report["status"] == "ok" and report["worker"]["alive"] == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert await WorkerHeartbeat.all().count() == 0  # a clean stop removes the row


async def _gone(name: str) -> bool:
    return not await WorkerHeartbeat.exists(name=name)


# --- a real `coopub serve` ----------------------------------------------------------------------


async def _lose_database(instance: Instance) -> None:
    """Make a running instance's database go away: delete the SQLite file, drop the PostgreSQL
    database (which also ends its connections)."""
    url = instance.database_url
    if url.startswith("sqlite://"):
        await asyncio.to_thread(Path(url[len("sqlite://") :]).unlink)
        return
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE "{parts.path.lstrip("/")}" WITH (FORCE)')
    finally:
        await conn.close()


async def test_a_served_instance_logs_requests_and_reports_its_health(tmp_path: Path) -> None:
    instance = await Instance.create("watched", tmp_path)
    try:
        async with httpx.AsyncClient(base_url=instance.base_url) as http:
            r = await http.get("/nodeinfo/2.1", headers={"X-Request-Id": "e2e-req-7"})
            assert r.status_code == 200 and r.headers["x-request-id"] == "e2e-req-7"

            async def healthy() -> dict[str, Any] | None:
                report = (await http.get("/healthz")).json()
                return report if report["status"] == "ok" else None

            report = await until(healthy, "the in-process worker's heartbeat")
            assert report["worker"]["alive"] == 1
            metrics = await http.get("/metrics")  # this test is a loopback client
            assert metrics.status_code == 200 and "coopub_workers_alive 1.0" in metrics.text

            def access_line() -> str | None:
                lines = [ln for ln in instance.log().splitlines() if "e2e-req-7" in ln]
                return lines[0] if lines else None

            line = await until(lambda: resolved(access_line()), "the access line")
            for part in (
                'logger="coopub.access"',
                'msg="request"',
                'method="GET"',
                'path="/nodeinfo/2.1"',
                "status=200",
                'request_id="e2e-req-7"',
                'client="127.0.0.1"',
                "duration_ms=",
            ):
                assert part in line, (part, line)

            await _lose_database(instance)
            down: list[httpx.Response] = []

            async def answers_down() -> bool:
                r = await http.get("/healthz")
                if r.status_code == 503:
                    down.append(r)
                return len(down) >= 5  # the worker meanwhile fails (and backs off) again

            await until(answers_down, "/healthz saying down", every=0.3)
            assert down[0].json() == {
                "status": "down",
                "reason": "database unavailable",
                "database": "unavailable",
            }
            assert down[0].headers["cache-control"] == "no-store"
            for _ in range(2):  # scrapes still answer, saying the database is down
                metrics = await http.get("/metrics")
                assert metrics.status_code == 200 and "coopub_database_up 0.0" in metrics.text
                assert "coopub_deliveries" not in metrics.text
            await until(
                lambda: resolved('msg="database unavailable"' in instance.log()),
                "the worker's outage line",
            )
        log = instance.log()
        assert log.count('msg="database unavailable"') == 1, log[-3000:]
        assert log.count('msg="metrics without database"') == 1, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
        assert "\x1b[" not in log and "\\u001b[" not in log
        assert "color_message" not in log
    finally:
        await instance.stop()
