"""How the worker behaves when its database goes away: one line, backing off, one line when it
is back; a bug keeps its traceback. The worker runs in its own Tortoise context (pointed at a
database that fails), so the session's database stays untouched."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from tortoise.context import TortoiseContext

from federation.context import Federation
from instance.worker import Worker, run_forever
from models.db import tortoise_config
from tests.rig.database import is_postgres
from tests.rig.instances import free_port
from tests.rig.observe import resolved, until

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

            await until(retried, "several failed passes")
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
            await until(
                lambda: resolved(_worker_records(caplog, "database available again")),
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
