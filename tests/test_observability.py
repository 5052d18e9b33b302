"""Observability: ``/healthz``, ``/metrics``, the access log with request ids, log hygiene, the
worker's heartbeat, and how the worker behaves when its database goes away.

Routes are tested in process against the real application and database; the access log, the
absence of escape sequences and a database lost under a running server are tested on a real
``coopub serve``. A worker losing its database runs in its own Tortoise context (pointed at a
database that fails), so the session's database stays untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tortoise.context import TortoiseContext

from federation.context import Federation
from federation.delivery import publish
from instance.app import create_app
from instance.config import parse_config
from instance.heartbeat import worker_name
from instance.logs import KeyValueFormatter
from instance.worker import Worker, run_forever
from models.activities import InboxItem, InboxState
from models.actors import LocalActor
from models.db import tortoise_config
from models.delivery import Delivery, DeliveryState, Host
from models.workers import WorkerHeartbeat
from tests.conftest import TEST_DOMAIN
from tests.rig.database import is_postgres
from tests.rig.instances import Instance, free_port

AS2 = "application/activity+json"


def _now() -> datetime:
    return datetime.now(UTC)


@contextlib.asynccontextmanager
async def _client(
    fed: Federation,
    database_url: str,
    *,
    peer: str = "127.0.0.1",
    **sections: dict[str, Any],
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client on an application with these settings, seen as coming from
    ``peer`` (the address the server sees: a proxy's, when there is one)."""
    config = parse_config(
        {
            "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
            "database": {"url": database_url},
            **sections,
        }
    )
    app = create_app(config, run_worker=False, fed=fed)
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{TEST_DOMAIN}") as c:
        yield c


async def _until(
    check: Callable[[], Awaitable[Any]], what: str, within: float = 30.0, every: float = 0.05
) -> Any:
    """Poll ``check`` until it returns something truthy (which is returned)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(every)
    raise TimeoutError(f"not within {within} s: {what}")


async def _async(value: Any) -> Any:
    return value


async def _queue(fed: Federation, actor: LocalActor, inboxes: list[str]) -> list[Delivery]:
    payload = {
        "id": fed.urls.new_activity_id(),
        "type": "Announce",
        "actor": fed.urls.actor(actor),
        "object": "https://remote.example/notes/1",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    activity = await publish(fed, actor, payload, inboxes)
    return list(await Delivery.filter(activity_id=activity.id).order_by("inbox"))


async def _inbox_item(state: InboxState) -> None:
    n = await InboxItem.all().count()
    await InboxItem.create(
        activity_id=f"https://remote.example/activities/{n}",
        actor_uri="https://remote.example/users/zoe",
        type="Create",
        payload={},
        state=state,
        next_attempt_at=_now() - timedelta(seconds=30),
    )


async def _beat(age: timedelta, name: str = "elsewhere:1") -> None:
    await WorkerHeartbeat.create(name=name, started_at=_now() - age, beat_at=_now() - age)


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
    await _beat(timedelta(minutes=5))
    report = (await client.get("/healthz")).json()
    assert report["status"] == "degraded"
    assert "heartbeat" in report["reason"]
    assert report["worker"]["heartbeat_age_seconds"] >= 300
    assert report["worker"]["alive"] == 0


async def test_healthz_ok_reports_the_queues(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor
) -> None:
    await _beat(timedelta(seconds=5))
    late, later = await _queue(fed, member, ["https://a.example/inbox", "https://b.example/inbox"])
    await Delivery.filter(id=late.id).update(next_attempt_at=_now() - timedelta(seconds=90))
    await Delivery.filter(id=later.id).update(next_attempt_at=_now() + timedelta(hours=1))
    for state in (InboxState.PENDING, InboxState.PENDING, InboxState.DONE):
        await _inbox_item(state)

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
    await _beat(timedelta(days=2), name="crashed:99")  # a worker that died a while ago
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(fed, stop))
    try:
        mine = await _until(
            lambda: WorkerHeartbeat.get_or_none(name=worker_name()), "the worker's heartbeat"
        )
        assert mine.started_at <= mine.beat_at
        # Its first upkeep forgets the dead worker.
        await _until(lambda: _gone("crashed:99"), "the stale heartbeat removed")
        report = (await client.get("/healthz")).json()
        assert report["status"] == "ok" and report["worker"]["alive"] == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert await WorkerHeartbeat.all().count() == 0  # a clean stop removes the row


async def _gone(name: str) -> bool:
    return not await WorkerHeartbeat.exists(name=name)


# --- /metrics -----------------------------------------------------------------------------------


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str):
    return samples.get((name, frozenset(labels.items())))


async def test_metrics_report_the_database_and_the_requests(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor
) -> None:
    rows = await _queue(fed, member, [f"https://r{i}.example/inbox" for i in range(4)])
    await Delivery.filter(id=rows[0].id).update(state=DeliveryState.DELIVERED)
    await Delivery.filter(id=rows[1].id).update(state=DeliveryState.FAILED)
    await Delivery.filter(id=rows[2].id).update(next_attempt_at=_now() - timedelta(seconds=120))
    await Delivery.filter(id=rows[3].id).update(next_attempt_at=_now() + timedelta(hours=1))
    for state in (InboxState.PENDING, InboxState.DONE, InboxState.DONE):
        await _inbox_item(state)
    await Host.create(domain="r9.example", unreachable=True)
    await Host.create(domain="r8.example", unreachable=False)
    await _beat(timedelta(seconds=10))
    # Requests recorded by this web process: by route template, never by raw path.
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/u/alice", headers={"Accept": AS2})).status_code == 200
    assert (await client.get("/u/nobody", headers={"Accept": AS2})).status_code == 404
    assert (await client.get("/a/b/c/d")).status_code == 404

    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert r.headers["cache-control"] == "no-store"
    samples = _samples(r.text)

    assert _value(samples, "coopub_database_up") == 1
    deliveries = {
        s.value: _value(samples, "coopub_deliveries", state=s.value) for s in DeliveryState
    }
    assert deliveries == {"pending": 2, "delivered": 1, "failed": 1, "skipped": 0}
    inbox = {s.value: _value(samples, "coopub_inbox_items", state=s.value) for s in InboxState}
    assert inbox == {"pending": 1, "done": 2, "ignored": 0, "failed": 0}
    assert 120 <= _value(samples, "coopub_delivery_lag_seconds") < 3600
    assert _value(samples, "coopub_inbox_lag_seconds") >= 30
    assert _value(samples, "coopub_unreachable_hosts") == 1
    assert _value(samples, "coopub_workers_alive") == 1
    assert 10 <= _value(samples, "coopub_worker_heartbeat_age_seconds") < 120

    latency = "coopub_http_request_duration_seconds_count"
    assert _value(samples, latency, method="GET", route="/healthz") == 1
    assert _value(samples, latency, method="GET", route="/{prefix:str}/{username:str}") == 2
    assert _value(samples, latency, method="GET", route="<unmatched>") == 1
    routes = {dict(labels).get("route") for name, labels in samples if name == latency}
    assert not {"/u/alice", "/u/nobody", "/a/b/c/d"} & routes
    assert _value(samples, "coopub_http_requests_total", method="GET", status="2xx") == 2
    assert _value(samples, "coopub_http_requests_total", method="GET", status="4xx") == 2


async def test_metrics_without_a_worker_have_no_heartbeat_age(client: httpx.AsyncClient) -> None:
    samples = _samples((await client.get("/metrics")).text)
    assert _value(samples, "coopub_workers_alive") == 0
    assert not any(name == "coopub_worker_heartbeat_age_seconds" for name, _ in samples)


@pytest.mark.parametrize(
    ("peer", "headers"),
    [
        ("203.0.113.9", {}),  # another host
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}),  # a proxy on this host
        ("127.0.0.1", {"Forwarded": "for=203.0.113.9"}),
        ("203.0.113.9", {"Authorization": "Bearer "}),  # no token configured: no token works
    ],
)
async def test_metrics_are_refused_to_others(
    fed: Federation, database_url: str, peer: str, headers: dict[str, str]
) -> None:
    async with _client(fed, database_url, peer=peer) as c:
        r = await c.get("/metrics", headers=headers)
    assert r.status_code == 403
    assert r.json()["error"].startswith("Metrics are served to loopback clients")
    assert "coopub_" not in r.text


async def test_metrics_open_to_the_token(fed: Federation, database_url: str) -> None:
    token = "kq3-metrics-token"
    async with _client(fed, database_url, peer="203.0.113.9", metrics={"token": token}) as c:
        ok = await c.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and "coopub_database_up 1.0" in ok.text
        proxied = await c.get(
            "/metrics",
            headers={"Authorization": f"bearer {token}", "X-Forwarded-For": "198.51.100.1"},
        )
        assert proxied.status_code == 200
        for wrong in (f"Bearer {token}x", f"Basic {token}", token, "Bearer"):
            r = await c.get("/metrics", headers={"Authorization": wrong})
            assert r.status_code == 403, wrong
        assert (await c.get("/metrics")).status_code == 403


# --- access log and request ids -----------------------------------------------------------------


def _access(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "coopub.access"]


async def test_request_ids_and_access_log(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="coopub.access")
    r = await client.get("/healthz?token=secret", headers={"X-Request-Id": "lb-42.a_B-c"})
    assert r.headers["x-request-id"] == "lb-42.a_B-c"
    [line] = _access(caplog)
    fields = line.__dict__
    assert line.getMessage() == "request"
    assert fields["method"] == "GET"
    assert fields["path"] == "/healthz"  # no query string: it may carry secrets
    assert fields["status"] == 200
    assert fields["request_id"] == "lb-42.a_B-c"
    assert fields["client"] == "127.0.0.1"
    assert isinstance(fields["duration_ms"], float) and fields["duration_ms"] >= 0

    generated = []
    for unsafe in ("has space", "x" * 65, 'quote"d', "back\\slash", ""):
        r = await client.get("/healthz", headers={"X-Request-Id": unsafe})
        generated.append(r.headers["x-request-id"])
    r = await client.get("/nowhere/at/all/here")
    assert r.status_code == 404
    generated.append(r.headers["x-request-id"])
    assert len(set(generated)) == 6  # each request its own id
    assert all(re.fullmatch("[0-9a-f]{16}", rid) for rid in generated)
    logged = _access(caplog)[1:]
    assert [rec.__dict__["request_id"] for rec in logged] == generated  # the same id, both ends
    assert logged[-1].__dict__["status"] == 404


async def test_access_log_can_be_turned_off(
    fed: Federation, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="coopub.access")
    async with _client(fed, database_url, server={"access_log": False}) as c:
        r = await c.get("/healthz", headers={"X-Request-Id": "still-echoed"})
    assert r.headers["x-request-id"] == "still-echoed"
    assert _access(caplog) == []


def test_log_lines_carry_no_escape_sequences() -> None:
    """uvicorn's ``color_message`` (ANSI colours) is dropped; control characters in values, even
    those JSON leaves alone (C1 controls such as CSI), are escaped; one event, one line."""
    record = logging.makeLogRecord(
        {
            "name": "uvicorn.error",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "Started server process [%d]",
            "args": (42,),
            "color_message": "Started server process [\x1b[36m%d\x1b[0m]",
            "error": 'remote said "\x1b[31mred\r\nlevel=error msg=forged\x9b2J\x7f"',
        }
    )
    line = KeyValueFormatter().format(record)
    assert line.startswith("time=")
    assert 'msg="Started server process [42]"' in line
    assert "color_message" not in line
    assert "\n" not in line and "\r" not in line
    assert not any(c in line for c in "\x1b\x9b\x7f")
    assert "\\u001b[31mred" in line and "\\u009b" in line
    try:
        raise ValueError("bad\x1b[2Jvalue")
    except ValueError:
        record = logging.makeLogRecord({"msg": "failed", "exc_info": sys.exc_info()})
    text = KeyValueFormatter().format(record)
    assert "Traceback" in text and "\x1b" not in text and "bad\\u001b[2Jvalue" in text


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

            report = await _until(healthy, "the in-process worker's heartbeat")
            assert report["worker"]["alive"] == 1
            metrics = await http.get("/metrics")  # this test is a loopback client
            assert metrics.status_code == 200 and "coopub_workers_alive 1.0" in metrics.text

            def access_line() -> str | None:
                lines = [ln for ln in instance.log().splitlines() if "e2e-req-7" in ln]
                return lines[0] if lines else None

            line = await _until(lambda: _async(access_line()), "the access line")
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

            await _until(answers_down, "/healthz saying down", every=0.3)
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
            await _until(
                lambda: _async('msg="database unavailable"' in instance.log()),
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


# --- the worker without its database ------------------------------------------------------------


class _Forwarder:
    """A TCP relay to PostgreSQL on a port of its own: before it starts, that port refuses
    connections (PostgreSQL down); once started, the database is back."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port = port
        self.target = target
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def close(self) -> None:
        if self.server:
            self.server.close()


class _Outage:
    """A database URL that fails now and works after ``recover()``: PostgreSQL behind a closed
    port, or a SQLite file without the schema that then receives a copy of the test database."""

    def __init__(self, database_url: str, directory: Path) -> None:
        self.session_url = database_url
        if is_postgres():
            parts = urlsplit(database_url)
            self.port = free_port()
            userinfo = parts.netloc.rpartition("@")[0]
            netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
            self.url = urlunsplit(parts._replace(netloc=netloc))
            self.forwarder = _Forwarder(self.port, (parts.hostname or "", parts.port or 5432))
        else:
            self.path = directory / "outage.sqlite3"
            sqlite3.connect(self.path).close()  # a database, but not ours: no tables
            self.url = f"sqlite://{self.path}"

    async def recover(self) -> None:
        if is_postgres():
            await self.forwarder.start()
            return
        # Copied through SQLite's backup API into the open file (same file, new contents).
        source = sqlite3.connect(self.session_url[len("sqlite://") :])
        target = sqlite3.connect(self.path)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()

    async def close(self) -> None:
        if is_postgres():
            await self.forwarder.close()


@contextlib.asynccontextmanager
async def _worker_on(url: str, fed: Federation) -> AsyncIterator[None]:
    """``run_forever`` in a task whose Tortoise context uses ``url``."""
    stop = asyncio.Event()

    async def run() -> None:
        async with TortoiseContext() as ctx:
            await ctx.init(config=tortoise_config(url))
            await run_forever(fed, stop)

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def _worker_records(caplog: pytest.LogCaptureFixture, message: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "instance.worker" and r.msg == message]


async def test_a_worker_without_its_database_logs_one_line_and_backs_off(
    fed: Federation, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="instance.worker")
    outage = _Outage(database_url, tmp_path)
    try:
        async with _worker_on(outage.url, fed):

            async def retried() -> bool:
                return len(_worker_records(caplog, "database still unavailable")) >= 4

            await _until(retried, "several failed passes")
            [line] = _worker_records(caplog, "database unavailable")
            assert line.levelno == logging.ERROR and line.exc_info is None
            error = line.__dict__["error"]
            assert "\n" not in error
            assert ("no such table" in error) if not is_postgres() else ("Connect" in error)
            quiet = _worker_records(caplog, "database still unavailable")
            assert all(r.levelno == logging.DEBUG for r in quiet)  # not shown at INFO
            waits = [r.__dict__["retry_in"] for r in [line, *quiet]]
            assert waits == sorted(waits) and waits[-1] > waits[0]  # backing off
            assert all(w <= 60 for w in waits)
            assert not any(r.exc_info for r in caplog.records if r.name == "instance.worker")

            await outage.recover()
            await _until(
                lambda: _async(_worker_records(caplog, "database available again")),
                "the recovery line",
            )
            [back] = _worker_records(caplog, "database available again")
            assert back.levelno == logging.INFO and back.__dict__["down_seconds"] >= 0
        assert len(_worker_records(caplog, "database unavailable")) == 1
        assert "Traceback" not in caplog.text
    finally:
        await outage.close()


async def test_other_failures_keep_their_traceback_and_back_off(
    fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug is not an outage: its traceback is logged, and the worker backs off as well."""
    caplog.set_level(logging.INFO, logger="instance.worker")
    worker = Worker(fed, asyncio.Event())
    poll = fed.settings.worker_poll_seconds
    assert worker.wait() == poll
    for n in (1, 2, 3):
        try:
            raise KeyError("not a database problem")
        except KeyError as exc:
            await worker.failed(exc)
        assert worker.wait() == poll * 2**n
    records = _worker_records(caplog, "worker pass failed")
    assert len(records) == 3 and all(r.exc_info for r in records)
    assert _worker_records(caplog, "database unavailable") == []
    for _ in range(20):
        await worker.failed(KeyError("again"))
    assert worker.wait() == 60  # capped
    worker.succeeded()
    assert worker.wait() == poll
