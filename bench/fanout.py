"""Fan-out benchmark: one offer to F followers on H hosts, signed deliveries per second.

    python bench/fanout.py [--database-url URL] [--database-name NAME] [--followers 10000]
                           [--hosts 1000] [--personal-inboxes] [--processes N] [--in-process]
                           [--profile FILE] [--keep]

A fresh instance database (a temporary SQLite file by default; on PostgreSQL a new database on
the server of ``--database-url``, dropped at the end) gets a member with F followers spread
evenly over H remote hosts. Each host is a port of a loopback sink (bench/fanout_sink.py, its
own process): host ``i`` is ``127.0.0.1:port_i``, a distinct authority to the delivery queue
(grouping, per-host concurrency, connection pools), reached without DNS; outgoing requests to
loopback need ``allow_private_addresses``, as in the tests. Every follower advertises its host's
shared inbox (H deliveries) unless ``--personal-inboxes`` (F deliveries, F/H per host).

The member publishes one offer (``services.offers.create_offer``, as the API does); the real
``coopub worker`` runs until no delivery is pending: ``[worker] processes`` = N when the
configuration has that key, else N ``coopub worker`` commands side by side (``--processes``,
default the number of cores), or the worker loop in this process (``--in-process``). The sink
then checks every signature, and one table is printed. ``--profile FILE`` attaches py-spy
(``pip install py-spy``) to the workers for the fan-out only and writes its raw stacks to FILE.
A measurement, never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bench.fanout_sink import SinkReport, run_sink  # noqa: E402
from federation.context import Federation, SiteInfo  # noqa: E402
from federation.services.accounts import create_actor, ensure_instance_actor  # noqa: E402
from federation.services.offers import create_offer  # noqa: E402
from federation.settings import FederationSettings  # noqa: E402
from instance.config import Config  # noqa: E402
from instance.wake import forward_pokes, notifies  # noqa: E402
from models.actors import ActorKind, LocalActor, RemoteActor  # noqa: E402
from models.db import close_db, open_db  # noqa: E402
from models.delivery import Delivery, DeliveryState  # noqa: E402
from models.follows import Follow, FollowState  # noqa: E402
from tests.offer_samples import ride  # noqa: E402

DOMAIN = "coop.bench"
TICKS = os.sysconf("SC_CLK_TCK")


def _admin_dsn(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql", path="/postgres"))


async def _sql(url: str, statement: str) -> None:
    conn = await asyncpg.connect(_admin_dsn(url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _has_worker_processes() -> bool:
    """Whether ``instance.toml`` has ``[worker] processes`` (a coopub that forks its workers)."""
    worker = Config.model_fields.get("worker")
    model = getattr(worker, "annotation", None) if worker else None
    return "processes" in getattr(model, "model_fields", {})


def _tree_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) of these processes and all their descendants, from /proc."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        stats[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, list(pids)
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += int(stats[pid][11]) + int(stats[pid][12])
        todo += children.get(pid, [])
    return total / TICKS


async def _followers(member: LocalActor, target: str, ports: list[int], count: int, shared: bool):
    """``count`` remote followers, round-robin over the hosts, every follow accepted."""
    now = datetime.now(UTC)
    actors = []
    for n in range(count):
        base = f"http://127.0.0.1:{ports[n % len(ports)]}"
        actors.append(
            RemoteActor(
                ap_id=f"{base}/users/u{n}",
                type="Person",
                username=f"u{n}",
                domain=base.removeprefix("http://"),
                inbox=f"{base}/users/u{n}/inbox",
                shared_inbox=f"{base}/inbox" if shared else None,
                fetched_at=now,
            )
        )
    await RemoteActor.bulk_create(actors, batch_size=2000)
    ids = await RemoteActor.all().order_by("id").values_list("id", "ap_id")
    await Follow.bulk_create(
        [
            Follow(
                ap_id=f"{uri}/follows/1",
                follower_uri=uri,
                target_uri=target,
                remote_follower_id=pk,
                local_target=member,
                state=FollowState.ACCEPTED,
            )
            for pk, uri in ids
        ],
        batch_size=2000,
    )


def _write_config(directory: Path, url: str, processes: int, federation: dict[str, int]) -> Path:
    path = directory / "instance.toml"
    worker = f"[worker]\nprocesses = {processes}\n" if _has_worker_processes() else ""
    settings = "".join(f"{key} = {value}\n" for key, value in federation.items())
    path.write_text(
        f'[instance]\ndomain = "{DOMAIN}"\nsecret_key = "fanout-bench"\n'
        f'[database]\nurl = "{url}"\n[federation]\nallow_private_addresses = true\n{settings}'
        f"{worker}"
    )
    return path


class Workers:
    """``coopub worker`` commands (one forking N when it can, else N), or the loop in-process."""

    def __init__(
        self,
        directory: Path,
        url: str,
        processes: int,
        in_process: bool,
        federation: dict[str, int],
    ) -> None:
        self.directory, self.url, self.in_process = directory, url, in_process
        self.federation = federation
        self.forks = _has_worker_processes()
        self.count = processes
        self.commands = 1 if self.forks else processes
        self.procs: list[subprocess.Popen[bytes]] = []
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def describe(self) -> str:
        if self.in_process:
            return "1 (in this process)"
        how = "[worker] processes" if self.forks else "`coopub worker` commands"
        return f"{self.count} ({how})"

    async def start(self, fed: Federation) -> None:
        if self.in_process:
            from instance.worker import run_forever

            self.task = asyncio.create_task(run_forever(fed, self.stop))
            return
        config = _write_config(self.directory, self.url, self.count, self.federation)
        exe = Path(sys.executable).parent / "coopub"
        env = {**os.environ, "COOPUB_CONFIG": str(config)}
        for n in range(self.commands):
            with (self.directory / f"worker{n}.log").open("wb") as out:
                self.procs.append(
                    subprocess.Popen(  # noqa: ASYNC220 - started once, before the clock
                        [str(exe), "worker"], cwd=self.directory, env=env, stdout=out, stderr=out
                    )
                )
        deadline = time.monotonic() + 60
        while not all("worker started" in self._log(n) for n in range(self.commands)):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                raise RuntimeError("workers did not start:\n" + self._log(0)[-2000:])
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # the forks, if any, import and open the database too

    def profile(self, path: str) -> subprocess.Popen[bytes]:
        """py-spy on the workers (and their forks) until the returned process is interrupted."""
        pid = os.getpid() if self.in_process else self.procs[0].pid
        command = [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking"]
        command += ["-r", "200", "-f", "raw", "-o", path, "--pid", str(pid)]
        if not self.in_process:
            command.append("--subprocesses")
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _log(self, n: int) -> str:
        return (self.directory / f"worker{n}.log").read_text(errors="replace")

    def cpu(self) -> float:
        if self.in_process:
            return time.process_time()
        return _tree_cpu([p.pid for p in self.procs])

    async def close(self) -> None:
        if self.task is not None:
            self.stop.set()
            await self.task
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.to_thread(proc.wait, 30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _drain(started: float, total: int) -> None:
    """Until nothing is pending; stops early if a delivery failed (a retry waits a minute)."""
    while True:
        await asyncio.sleep(0.05)
        if await Delivery.filter(state=DeliveryState.PENDING).count() == 0:
            return
        failed = await Delivery.filter(attempts__gt=0).exclude(state=DeliveryState.DELIVERED)
        if failed:
            raise RuntimeError(f"{len(failed)} deliveries failed, e.g. {failed[0].last_error}")
        if time.monotonic() - started > 600:
            raise RuntimeError(f"not drained after 600 s ({total} deliveries)")


def _table(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))


async def run(args: argparse.Namespace, url: str, engine: str, directory: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    sink = ctx.Process(target=run_sink, args=(args.hosts, theirs), daemon=True)
    sink.start()
    ports: list[int] = ours.recv()
    tuned = {"worker_batch_size": args.batch_size} if args.batch_size else {}
    settings = FederationSettings(allow_private_addresses=True, **tuned)
    fed = Federation.create(settings, f"https://{DOMAIN}", SiteInfo("Bench", "", ("fr",)))
    workers = Workers(directory, url, args.processes, args.in_process, tuned)
    stop, forwarding = asyncio.Event(), None
    try:
        await open_db(url, run_migrations=True)
        if notifies(url) and not args.in_process:  # what a web process does (instance/app.py)
            forwarding = asyncio.create_task(forward_pokes(fed, stop))
        await ensure_instance_actor(DOMAIN, "Bench")
        member = await create_actor(ActorKind.MEMBER, "alice", name="Alice")
        target = fed.urls.actor(member)
        await _followers(member, target, ports, args.followers, not args.personal_inboxes)
        await workers.start(fed)
        spy = workers.profile(args.profile) if args.profile else None
        if spy is not None:
            await asyncio.sleep(2)  # py-spy attaches
        cpu_before, sink_before = workers.cpu(), _tree_cpu([sink.pid or 0])
        started, wall = time.monotonic(), time.time()
        await create_offer(fed, member, ride())
        queued = time.monotonic()
        total = await Delivery.all().count()
        await _drain(started, total)
        seconds, cpu = time.monotonic() - started, workers.cpu() - cpu_before
        sink_cpu = _tree_cpu([sink.pid or 0]) - sink_before
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            await asyncio.to_thread(spy.wait, 60)
        delivered = await Delivery.filter(state=DeliveryState.DELIVERED).count()
        ours.send((member.public_key_pem, fed.urls.key_id(member), settings.clock_skew_seconds))
        report: SinkReport = ours.recv()
        per_host = [report.posts.get(p, 0) for p in ports]
        load = os.getloadavg()
        _table(
            [
                ("engine", engine),
                ("workers", workers.describe()),
                ("worker_batch_size", str(settings.worker_batch_size)),
                ("followers", str(args.followers)),
                ("deliveries", f"{delivered} delivered of {total}"),
                ("hosts", str(len(ports))),
                ("POSTs per host", f"min {min(per_host)} / max {max(per_host)}"),
                ("POSTs received", str(sum(per_host))),
                ("bad signatures", str(len(report.bad))),
                ("publish (s)", f"{queued - started:.2f}"),
                ("seconds", f"{seconds:.2f}"),
                ("first POST after (s)", f"{report.first_at - wall:.2f}"),
                ("first to last POST (s)", f"{report.last_at - report.first_at:.2f}"),
                ("deliveries/s", f"{delivered / seconds:.0f}"),
                ("worker CPU seconds", f"{cpu:.2f}"),
                ("worker CPU ms/delivery", f"{1000 * cpu / max(delivered, 1):.2f}"),
                ("sink CPU seconds", f"{sink_cpu:.2f}"),
                ("load average", " ".join(f"{x:.2f}" for x in load)),
            ]
        )
        for line in report.bad[:5]:
            print("  bad:", line)
        print(
            f"\nfanout {delivered / seconds:.0f} deliveries/s"
            f" ({delivered} to {len(ports)} hosts, {engine}, bad signatures {len(report.bad)})"
        )
    finally:
        stop.set()
        if forwarding is not None:
            await forwarding
        await workers.close()
        await fed.aclose()
        await close_db()
        ours.send(None)
        sink.join(10)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="", help="postgres://… or sqlite://path")
    parser.add_argument("--database-name", default="", help="PostgreSQL: the database to create")
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=1_000)
    parser.add_argument(
        "--personal-inboxes",
        action="store_true",
        help="followers advertise no shared inbox: one delivery per follower",
    )
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch-size", type=int, default=0, help="[federation] worker_batch_size")
    parser.add_argument("--in-process", action="store_true", help="run the worker loop here")
    parser.add_argument("--profile", default="", help="py-spy raw stacks of the workers here")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="coopub-fanout-"))
    postgres = args.database_url.startswith(("postgres://", "postgresql://"))
    if postgres:
        name = args.database_name or f"coopub_bench_fanout_{uuid.uuid4().hex[:8]}"
        url = urlunsplit(urlsplit(args.database_url)._replace(scheme="postgres", path=f"/{name}"))
        await _sql(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _sql(args.database_url, f'CREATE DATABASE "{name}"')
        engine = "PostgreSQL"
    else:
        url = args.database_url or f"sqlite://{directory}/fanout.sqlite3"
        engine = "SQLite"
    try:
        await run(args, url, engine, directory)
    finally:
        if args.keep:
            print(f"kept: {url} and {directory}")
        else:
            if postgres:
                await _sql(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
