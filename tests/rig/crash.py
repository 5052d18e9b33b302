"""A worker killed mid-delivery: the scenario shared by tests/test_worker_crash.py and
bench/worker_crash.py (the test asserts what happened, the bench prints how long it took).

Two real ``coopub worker`` processes on one PostgreSQL database fan an activity out to N inboxes
of a loopback receiver (one host: the batches compete for the same rows). Once a share is
delivered, the receiver stops answering for a moment, so that worker A is caught holding a batch
with requests in flight; A is killed with SIGKILL, the receiver answers again, and A is restarted
(or not). The run ends when no delivery is pending. Which rows A held is read from the database:
a claim token starts with the claiming process's id (``federation/queue.py``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn

import tests
from activitypub.wire import AS2_CONTEXT
from federation.context import Federation
from federation.delivery import publish
from models.actors import LocalActor
from models.delivery import Delivery, DeliveryState

ROOT = Path(tests.__file__).resolve().parent.parent
Scope = dict[str, Any]
Message = dict[str, Any]


class Receiver:
    """Inboxes on loopback: every POST is recorded (path, activity id) as it arrives, then
    answered 202, or held while the gate is closed (as a slow or stuck peer would)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self.held: set[str] = set()
        """Paths whose POST arrived and waits for the gate."""
        self.gate = asyncio.Event()
        self.gate.set()
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def app(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        self.received.append((path, str(json.loads(body).get("id"))))
        if not self.gate.is_set():
            self.held.add(path)
            await self.gate.wait()
            self.held.discard(path)
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def __aenter__(self) -> Receiver:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            interface="asgi3",
            log_level="error",
            lifespan="off",
            access_log=False,
            backlog=4096,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("receiver exited before starting")
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.gate.set()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 30)


@dataclass
class CrashRun:
    """What happened, read back from the receiver and the database."""

    inboxes: list[str]
    """The inbox paths the activity was sent to."""
    activity_id: str
    received: Counter[str] = field(default_factory=Counter)
    """Receipts of the activity per inbox path (duplicates counted)."""
    killed_pid: int = 0
    held_by_killed: dict[int, tuple[str, datetime]] = field(default_factory=dict)
    """The killed worker's rows just before the kill: id -> (inbox path, locked_until)."""
    read_at: datetime | None = None
    """When ``held_by_killed`` was read (before the query)."""
    sent_before_kill: set[str] = field(default_factory=set)
    """Inboxes of the killed worker's rows that had received its request before the kill."""
    rows: list[Delivery] = field(default_factory=list)
    """Every delivery row at the end."""
    logs: list[str] = field(default_factory=list)
    started: float = 0.0
    killed: float = 0.0
    drained: float = 0.0
    """``time.monotonic()`` when the activity was queued, the worker killed, the queue empty."""


def coopub() -> str:
    script = Path(sys.executable).parent / "coopub"
    return str(script if script.exists() else ROOT / ".venv" / "bin" / "coopub")


def write_config(
    directory: Path, database_url: str, domain: str, federation: dict[str, Any]
) -> Path:
    path = directory / "instance.toml"
    settings = "".join(f"{key} = {json.dumps(value)}\n" for key, value in federation.items())
    path.write_text(
        f'[instance]\ndomain = "{domain}"\nsecret_key = "crash-test"\n'
        f"[database]\nurl = {json.dumps(database_url)}\n"
        "[worker]\nprocesses = 1\n"  # each `coopub worker` one process: the one killed
        f"[federation]\nallow_private_addresses = true\n{settings}"
    )
    return path


async def poll(condition: Callable[[], Awaitable[bool]], what: str, seconds: float) -> None:
    """Poll ``condition`` every 0.1 s until it holds (``seconds`` bounds a failure only)."""
    try:
        async with asyncio.timeout(seconds):
            while not await condition():  # noqa: ASYNC110 - polling other processes' work
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out after {seconds} s waiting for {what}") from None


class Workers:
    """``coopub worker`` processes, each logging to its own file."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.processes: list[tuple[asyncio.subprocess.Process, Path]] = []

    async def start(self) -> asyncio.subprocess.Process:
        log = self.config.parent / f"worker{len(self.processes)}.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                coopub(),
                "worker",
                cwd=self.config.parent,
                env={**os.environ, "COOPUB_CONFIG": str(self.config)},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        self.processes.append((proc, log))

        async def started() -> bool:
            if proc.returncode is not None:
                raise AssertionError(f"worker exited early:\n{log.read_text()}")
            return 'msg="worker started"' in log.read_text()

        await poll(started, "a worker to start", 60)
        return proc

    async def stop(self) -> list[str]:
        """SIGTERM (the worker finishes its pass), SIGKILL after 20 s; returns the logs."""
        for proc, _ in self.processes:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in self.processes:
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        return [log.read_text() for _, log in self.processes]


async def _no_failure() -> None:
    """No delivery should fail here: one that did would wait out a retry delay of a minute or
    more, so stop at once with the reason."""
    failed = await Delivery.filter(attempts__gt=0).exclude(state=DeliveryState.DELIVERED).first()
    if failed is not None:
        raise AssertionError(f"delivery to {failed.inbox} failed: {failed.last_error}")


async def _held_by(pid: int) -> dict[int, tuple[str, datetime]]:
    rows = await Delivery.filter(
        claim_token__startswith=f"{pid}.", state=DeliveryState.PENDING, locked_until__isnull=False
    )
    return {r.id: (_path(r.inbox), r.locked_until) for r in rows if r.locked_until is not None}


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


async def run_crash(
    fed: Federation,
    actor: LocalActor,
    database_url: str,
    directory: Path,
    *,
    inboxes: int = 2000,
    federation: dict[str, Any],
    kill_after: float = 0.25,
    restart: bool = True,
    drain_seconds: float = 600,
) -> CrashRun:
    """Run the scenario (module docstring); ``federation`` holds the workers' settings."""
    config = write_config(directory, database_url, fed.urls.domain, federation)
    workers = Workers(config)
    async with Receiver() as receiver:
        try:
            victim = await workers.start()
            await workers.start()
            paths = [f"/users/u{i}/inbox" for i in range(inboxes)]
            activity_id = fed.urls.new_activity_id()
            payload = {
                "@context": AS2_CONTEXT,
                "id": activity_id,
                "type": "Announce",
                "actor": fed.urls.actor(actor),
                "object": "https://remote.example/notes/1",
                "to": [fed.urls.followers(actor)],
            }
            run = CrashRun(paths, activity_id, started=time.monotonic())
            await publish(fed, actor, payload, [receiver.url(p) for p in paths])

            async def share_delivered() -> bool:
                await _no_failure()
                done = await Delivery.filter(state=DeliveryState.DELIVERED).count()
                return done >= inboxes * kill_after

            await poll(share_delivered, f"{kill_after:.0%} of the deliveries", drain_seconds)
            receiver.gate.clear()

            async def victim_caught() -> bool:
                held = await _held_by(victim.pid)
                return any(path in receiver.held for path, _ in held.values())

            await poll(victim_caught, "the worker to hold rows with requests in flight", 120)
            run.read_at = datetime.now(UTC)
            run.held_by_killed = await _held_by(victim.pid)
            victim.kill()
            await victim.wait()
            run.killed, run.killed_pid = time.monotonic(), victim.pid
            arrived = {path for path, _ in receiver.received}
            run.sent_before_kill = {p for p, _ in run.held_by_killed.values() if p in arrived}
            receiver.gate.set()
            if restart:
                await workers.start()

            async def drained() -> bool:
                await _no_failure()
                return not await Delivery.filter(state=DeliveryState.PENDING).exists()

            await poll(drained, "the queue to drain", drain_seconds)
            run.drained = time.monotonic()
        except BaseException:
            logs = await workers.stop()
            print("\n".join(log[-4000:] for log in logs), file=sys.stderr)
            raise
        run.logs = await workers.stop()
    run.received = Counter(p for p, activity in receiver.received if activity == run.activity_id)
    run.rows = await Delivery.all()
    return run
