"""Several processes: `coopub serve` with 2 web processes and 2 worker processes, on both
databases (on SQLite every process opens the same file).

The served instance shares this test's database: the test queues an activity for 60 inboxes of a
loopback sink, the worker processes deliver it, and every inbox must get exactly one POST. Web
requests on fresh connections reach both web processes (the process holding each accepted
connection is read from /proc). SIGTERM stops every process. ``coopub worker --processes 2``
and the PostgreSQL wake-up (LISTEN/NOTIFY) run on the PostgreSQL run only. In process: only
worker process 0 expires offers and runs the upkeep.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from activitypub.wire import AS2_CONTEXT
from federation.context import Federation, SiteInfo
from federation.delivery import publish
from federation.services.offers import create_offer
from federation.settings import FederationSettings
from instance.processes import run_on_fast_loop
from instance.wake import forward_pokes, listen_for_work
from instance.worker import Worker
from models.actors import LocalActor
from models.delivery import Delivery, DeliveryState
from models.offers import Offer, OfferStatus
from models.workers import WorkerHeartbeat
from tests import offer_samples as samples
from tests.conftest import TEST_DOMAIN
from tests.rig.crash import poll
from tests.rig.database import is_postgres
from tests.rig.instances import COOPUB, free_port
from tests.rig.remote import RemoteServer
from tests.skips import E2E_ONCE, POSTGRES_CHECK

ONLY_POSTGRES_ONCE = pytest.mark.skipif(not is_postgres(), reason=E2E_ONCE)
INBOXES = 60


def _write_config(directory: Path, database_url: str, port: int, web: int, workers: int) -> Path:
    path = directory / "instance.toml"
    path.write_text(
        f'[instance]\ndomain = "{TEST_DOMAIN}"\nsecret_key = "processes-test"\n'
        f"[database]\nurl = {json.dumps(database_url)}\n"
        f"[server]\nport = {port}\nweb_processes = {web}\n"
        f"[worker]\nprocesses = {workers}\n"
        "[federation]\nallow_private_addresses = true\nworker_poll_seconds = 0.1\n"
        "worker_batch_size = 5\n"  # small claims: every worker process takes some
    )
    return path


def _children(pid: int) -> set[int]:
    """The processes ``pid`` started (coopub's web and worker processes; not the resource
    tracker multiprocessing starts beside them)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # exited meanwhile
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie left to a container's init that does not reap counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _socket_owner(client_port: int, server_port: int, pids: set[int]) -> int | None:
    """Which of ``pids`` holds the server side of the connection from ``client_port``."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            client_port
        ):
            inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            links = [os.readlink(fd) for fd in fd_dir.iterdir()]
        except OSError:
            continue
        if f"socket:[{inode}]" in links:
            return pid
    return None


@asynccontextmanager
async def _started(config: Path, *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    log = config.parent / f"{args[0]}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            COOPUB,
            *args,
            cwd=config.parent,
            env={**os.environ, "COOPUB_CONFIG": str(config)},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _heartbeat_pids(count: int) -> set[int]:
    async def beating() -> bool:
        return await WorkerHeartbeat.all().count() == count

    await poll(beating, f"{count} worker heartbeats", 90.0)
    names = await WorkerHeartbeat.all().values_list("name", flat=True)
    return {int(str(name).rsplit(":", 1)[1]) for name in names}


async def test_serve_runs_two_web_and_two_worker_processes_each_row_sent_once(
    fed: Federation, member: LocalActor, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    config = _write_config(tmp_path, database_url, port, web=2, workers=2)
    base = f"http://127.0.0.1:{port}"
    async with (
        RemoteServer(delay=0.05) as sink,
        _started(config, "serve") as serve,
        httpx.AsyncClient(base_url=base) as http,
    ):

        async def answering() -> bool:
            try:
                return (await http.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await poll(answering, "the web server", 90.0)
        worker_pids = await _heartbeat_pids(2)  # each worker process beats as it starts
        children = _children(serve.pid)
        assert worker_pids <= children and len(children) == 4, (children, worker_pids)
        web_pids = children - worker_pids

        # every inbox once, whichever worker process claims it
        payload = {
            "@context": AS2_CONTEXT,
            "id": fed.urls.new_activity_id(),
            "type": "Announce",
            "actor": fed.urls.actor(member),
            "object": "https://remote.example/notes/1",
            "to": [fed.urls.followers(member)],
        }
        inboxes = [sink.url(f"/users/u{i}/inbox") for i in range(INBOXES)]
        activity = await publish(fed, member, payload, inboxes)

        async def drained() -> bool:
            return not await Delivery.filter(state=DeliveryState.PENDING).exists()

        await poll(drained, "the deliveries", 90.0)

        # requests on fresh connections reach both web processes
        async def answered_by() -> set[int]:
            owners: set[int] = set()
            for _ in range(200):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
                await writer.drain()
                assert (await reader.readline()).startswith(b"HTTP/1.1 200"), "not answered"
                owner = _socket_owner(writer.get_extra_info("sockname")[1], port, web_pids)
                writer.close()
                await writer.wait_closed()
                owners.add(owner or 0)
                if owners >= web_pids:
                    break
            return owners

        assert await answered_by() == web_pids
        report = (await http.get("/healthz")).json()
        assert report["worker"]["alive"] == 2, report

        serve.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(serve.wait(), 30) == 0
    log = (tmp_path / "serve.log").read_text()
    assert not [pid for pid in children if _alive(pid)], log
    assert log.count('msg="worker stopped"') == 2, log
    assert await WorkerHeartbeat.all().count() == 0  # each removed its own on the way out

    rows = await Delivery.filter(activity_id=activity.id)
    assert len(rows) == INBOXES and {r.state for r in rows} == {DeliveryState.DELIVERED}
    received = Counter(post.path for post in sink.posts)
    assert set(received) == {f"/users/u{i}/inbox" for i in range(INBOXES)}
    assert set(received.values()) == {1}, received.most_common(3)
    assert {post.json()["id"] for post in sink.posts} == {activity.ap_id}
    # the claim token starts with the claiming process's id: more than one took part
    claimers = {int(str(r.claim_token).split(".")[0]) for r in rows}
    assert claimers <= worker_pids and len(claimers) == 2, claimers


@ONLY_POSTGRES_ONCE
async def test_worker_command_runs_and_stops_its_processes(
    fed: Federation, database_url: str, tmp_path: Path
) -> None:
    config = _write_config(tmp_path, database_url, free_port(), web=1, workers=1)
    async with _started(config, "worker", "--processes", "2") as worker:
        pids = await _heartbeat_pids(2)
        assert _children(worker.pid) == pids
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 30) == 0
    assert not [pid for pid in pids if _alive(pid)]
    assert await WorkerHeartbeat.all().count() == 0


@pytest.mark.skipif(not is_postgres(), reason=POSTGRES_CHECK)
async def test_a_poke_in_one_process_wakes_a_worker_listening_in_another(
    fed: Federation, database_url: str
) -> None:
    """Two federation contexts stand for two processes: the web one forwards its poke as a
    NOTIFY, the worker one's LISTEN connection sets its wake-up event."""
    worker = Federation.create(
        FederationSettings(), f"https://{TEST_DOMAIN}", SiteInfo("w", "w", ("fr",))
    )
    stop = asyncio.Event()
    listening = asyncio.create_task(listen_for_work(database_url, worker, stop))
    forwarding = asyncio.create_task(forward_pokes(fed, stop))
    try:
        for _ in range(3):  # the LISTEN may not be in place for the first poke
            fed.poke()
            try:
                await asyncio.wait_for(worker.wake.wait(), 2)
                break
            except TimeoutError:
                continue
        assert worker.wake.is_set()
        assert not fed.wake.is_set()  # forwarded, and cleared for the next poke
    finally:
        stop.set()
        await asyncio.gather(listening, forwarding)
        await worker.aclose()


async def test_only_the_upkeep_worker_expires_offers(fed: Federation, member: LocalActor) -> None:
    """Worker processes other than 0 only claim rows: two loops expiring the same offer would
    each send its Update. (The hourly upkeep is skipped the same way.)"""
    offer = await create_offer(fed, member, samples.stay())
    await Offer.filter(id=offer.id).update(expires_at=offer.starts_at.replace(year=2020))
    other = Worker(fed, asyncio.Event(), upkeep=False)
    await other.run_pass()
    assert (await Offer.get(id=offer.id)).status == OfferStatus.OPEN
    assert other.next_upkeep == other.started_at  # never ran, never rescheduled
    first = Worker(fed, asyncio.Event())
    await first.run_pass()
    assert (await Offer.get(id=offer.id)).status == OfferStatus.EXPIRED
    assert first.next_upkeep > first.started_at


def test_a_worker_process_runs_on_the_web_processes_loop() -> None:
    """``run_on_fast_loop`` (a worker process's ``asyncio.run``) takes the loop uvicorn gives
    the web processes: uvloop, a dependency through ``uvicorn[standard]``."""

    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert run_on_fast_loop(loop_module()).startswith("uvloop")
