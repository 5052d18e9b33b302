"""Page benchmark: a served instance with N offers, 20 concurrent clients on its busiest pages.

    python bench/pages.py [--database-url URL] [--database-name NAME] [--offers 15000]
                          [--requests 400] [--clients 20] [--logged-in] [--web-processes N]

Starts a real ``coopub serve`` (``coopub init`` and ``coopub migrate`` in a temporary directory,
as a host would), fills its database with N offers around French cities (bench/search.py's
generator; remote ones carry the AS2 document they would have arrived with), publishes a few
local offers through the API, then sends ``--requests`` GETs per page from ``--clients``
concurrent clients (httpx.AsyncClient): the home page, local offers' pages, a search near Lyon
and the search page without a filter, then the Lyon search with a new URL each time (a radius of
``20.00001``, ``20.00002``… km: anonymous pages are kept while nothing is written,
``instance/page_cache.py``, and these never are). Prints one table: latency percentiles,
requests/s, the CPU time the server used (``/proc/<pid>/stat``, its child processes included)
and, on PostgreSQL, the CPU time of the database's backends (``db CPU s``: on the same cores,
and not the server's own).

Without --database-url the database is a SQLite file in the temporary directory. With a
postgres:// URL, the database --database-name is created on that server and dropped at the end;
after the fill it gets ``VACUUM ANALYZE offer`` (what autovacuum does within a minute of such a
load, as bench/search.py does; ``--no-analyze`` leaves the planner without statistics, as on a
server whose autovacuum is off).

A measurement tool, never a test: nothing here asserts a duration.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tortoise import connections  # noqa: E402

from activitypub.offer_to_as import offer_to_as  # noqa: E402
from bench.search import SEED, make_offer, percentile  # noqa: E402
from models.actors import LocalActor  # noqa: E402
from models.db import close_db, open_db  # noqa: E402
from models.offers import Offer, OfferKind  # noqa: E402

COOPUB = str(Path(sys.executable).parent / "coopub")
BATCH = 1000
PASSWORD = "bench-pages-password-1"
TICKS = os.sysconf("SC_CLK_TCK")
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
"""What a browser asks for a page (a member's pages then count the navigation's numbers)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(directory: Path, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "COOPUB_CONFIG": str(directory / "instance.toml")}
    done = subprocess.run(
        [COOPUB, *args], env=env, cwd=directory, input=stdin, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"coopub {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


# --- databases ---------------------------------------------------------------------------------


def _admin_dsn(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql", path="/postgres"))


async def _pg(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_admin_dsn(url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


# --- filling -----------------------------------------------------------------------------------


def _with_details(offer: Offer) -> Offer:
    """bench/search.py's row, with the section a real offer has (a ride's destination, a
    delivery's drop-off) so that it reads back as a description."""
    dest: dict[str, object] = {"name": offer.dest_name, "latitude": offer.dest_latitude}
    dest["longitude"] = offer.dest_longitude
    if offer.kind == OfferKind.RIDE:
        offer.details = {"destination": dest, "flexibility_minutes": 15}
    elif offer.kind == OfferKind.DELIVERY_JOB:
        offer.details = {"dropoff": dest, "vehicle": "cargo_bike", "weight_grams": 8000}
    return offer


async def fill(url: str, n: int, base: str, analyze: bool = True) -> float:
    """N offers through the models; the local ones are alice's, the remote ones keep the
    document they came with (its ``url``: their page on their own host). On PostgreSQL, then
    ``VACUUM ANALYZE offer`` unless ``analyze`` is false."""
    await open_db(url)
    rng = random.Random(SEED)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    started = time.perf_counter()
    try:
        member = await LocalActor.get(username="alice")
        for first in range(0, n, BATCH):
            batch = []
            for i in range(first, min(n, first + BATCH)):
                offer = _with_details(make_offer(rng, i, now))
                if offer.local_uuid:
                    offer.ap_id = f"{base}/offers/{offer.local_uuid}"
                    offer.author_id = member.id
                    offer.author_uri, offer.author_name = f"{base}/users/alice", "Alice"
                    offer.instance_domain = urlsplit(base).netloc
                else:
                    host = offer.instance_domain
                    offer.ap_id = f"https://{host}/objects/{uuid.UUID(int=rng.getrandbits(128))}"
                    followers = f"{offer.author_uri}/followers"
                    page = f"https://{host}/o/{i}"
                    offer.document = offer_to_as(offer, followers=followers, url=page)
                batch.append(offer)
            await Offer.bulk_create(batch)
        conn = connections.get("default")
        if analyze and conn.capabilities.dialect == "postgres":
            await conn.execute_script("VACUUM ANALYZE offer")
    finally:
        await close_db()
    return time.perf_counter() - started


# --- the server --------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system time of ``pid`` and its live children (web processes), in seconds."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


async def database_cpu(url: str) -> float | None:
    """User + system time of the PostgreSQL backends connected to ``url``'s database, in
    seconds (the server runs on this machine: its processes are in /proc; the web processes'
    pools keep their connections); None on SQLite, whose work is the server's own CPU."""
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    import asyncpg

    conn = await asyncpg.connect(_admin_dsn(url))
    try:
        name = urlsplit(url).path.lstrip("/")
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
    finally:
        await conn.close()
    return _cpu_of([int(row["pid"]) for row in rows])


def _cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone, or another machine's
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


async def start(directory: Path, base: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "COOPUB_CONFIG": str(directory / "instance.toml")}
    with (directory / "serve.log").open("ab") as log:
        server = await asyncio.create_subprocess_exec(
            COOPUB, "serve", env=env, cwd=directory, stdout=log, stderr=log
        )
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if server.returncode is not None:
                raise RuntimeError((directory / "serve.log").read_text())
            try:
                if (await client.get(f"{base}/nodeinfo/2.1")).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("coopub serve did not start")


async def local_offers(client: httpx.AsyncClient, token: str) -> list[str]:
    """A ride, a delivery job and a stay around Lyon, published through the API."""
    at = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
    lyon = {"name": "Lyon", "latitude": 45.7578, "longitude": 4.832}
    common = {"purpose": "offer", "language": "fr", "starts_at": at, "timezone": "Europe/Paris"}
    bodies: list[dict[str, Any]] = [
        {
            **common,
            "kind": "ride",
            "title": "Lyon → Grenoble",
            "ride": {
                "origin": lyon,
                "destination": {"name": "Grenoble", "latitude": 45.1885, "longitude": 5.7245},
                "seats_total": 3,
                "seats_available": 3,
            },
        },
        {
            **common,
            "kind": "delivery_job",
            "title": "Panier de légumes",
            "delivery": {"pickup": lyon, "dropoff": {**lyon, "name": "Villeurbanne"}},
        },
        {
            **common,
            "kind": "stay",
            "title": "Chambre à la Croix-Rousse",
            "ends_at": (datetime.now(UTC) + timedelta(days=6)).replace(microsecond=0).isoformat(),
            "stay": {"location": lyon, "max_guests": 2},
        },
    ]
    headers = {"Authorization": f"Bearer {token}"}
    found = []
    for body in bodies:
        r = await client.post("/api/v1/offers", json=body, headers=headers)
        r.raise_for_status()
        found.append(r.json()["id"])
    return found


async def log_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, "no CSRF token on the login page"
    form = {"csrf_token": csrf.group(1), "username": "alice", "password": PASSWORD, "next": "/"}
    r = await client.post("/login", data=form)
    assert r.status_code == 303, r.text


# --- measuring ---------------------------------------------------------------------------------


async def drive(
    clients: list[httpx.AsyncClient], paths: Callable[[int], str], count: int
) -> tuple[list[float], float]:
    """``count`` GETs from the clients at once; each takes the next path until none is left."""
    times: list[float] = []
    next_index = iter(range(count))

    async def one(client: httpx.AsyncClient) -> None:
        for i in next_index:
            started = time.perf_counter()
            r = await client.get(paths(i))
            times.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"{paths(i)}: {r.status_code} {r.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in clients))
    return times, time.perf_counter() - started


def profile(path: str | None, pid: int) -> subprocess.Popen[bytes] | None:
    """py-spy recording the server (and its children) until interrupted."""
    if not path:
        return None
    py_spy = str(Path(sys.executable).parent / "py-spy")
    command = [py_spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw"]
    return subprocess.Popen([*command, "--rate", "200", "-o", path], stderr=subprocess.DEVNULL)


def _settings(directory: Path, args: argparse.Namespace) -> None:
    """``[server] web_processes`` and ``[worker] processes``, where this version has them
    (an example line commented out: absent means one per core)."""
    path = directory / "instance.toml"
    text = path.read_text()
    for key, value in (("web_processes", args.web_processes), ("processes", 1)):
        text = re.sub(rf"(?m)^# {key} = .*$", f"{key} = {value}", text)
    path.write_text(text)


async def run(args: argparse.Namespace, directory: Path, url: str, engine: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    domain = f"127.0.0.1:{port}"
    cli(directory, "init", "--domain", domain, "--scheme", "http", "--database-url", url,
        "--allow-private-addresses", "--title", "Bench")  # fmt: skip
    _settings(directory, args)
    cli(directory, "migrate")
    cli(directory, "coop", "create", "velos", "--title", "Vélos solidaires")
    cli(directory, "coop", "create", "toits", "--title", "Toits partagés")
    cli(directory, "member", "create", "alice", "--coop", "velos", "--email", "a@bench.example",
        "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    token = cli(directory, "token", "create", "alice").strip().split()[-1]
    seconds = await fill(url, args.offers, base, analyze=not args.no_analyze)
    analyzed = ", no ANALYZE" if args.no_analyze and engine == "PostgreSQL" else ""
    print(f"engine: {engine}   offers: {args.offers}   fill: {seconds:.1f} s{analyzed}")
    server = await start(directory, base)
    limits = httpx.Limits(max_connections=args.clients + 5)
    clients = [
        httpx.AsyncClient(base_url=base, limits=limits, timeout=120, headers=BROWSER)
        for _ in range(args.clients)
    ]
    try:
        uuids = await local_offers(clients[0], token)
        if args.logged_in:
            await log_in(clients[0])
            for c in clients[1:]:
                c.cookies = clients[0].cookies
        new = itertools.count(1)  # warm-up included: never a URL already asked
        lyon = "/search?place=Lyon&radius_km=20"
        pages: dict[str, Callable[[int], str]] = {
            "home /": lambda i: "/",
            "offer page": lambda i: f"/offers/{uuids[i % len(uuids)]}",
            "search place=Lyon 20 km": lambda i: "/search?place=Lyon&radius_km=20",
            "search (no filter)": lambda i: "/search",
            # the same search, never the same URL: what it costs when no kept page answers
            "search Lyon, each URL new": lambda i: f"{lyon}.{next(new):05d}",
        }
        for path in pages.values():  # warm-up, not counted
            await drive(clients, path, 2 * args.clients)
        who = "one member's session" if args.logged_in else "anonymous"
        print(f"{args.requests} requests per page, {args.clients} clients ({who}); times in ms")
        print(f"  {'page':<26} {'requests':>8} {'p50':>7} {'p95':>7} {'max':>7} {'req/s':>7}"
              f" {'server CPU s':>12} {'db CPU s':>8} {'bench CPU s':>11}")  # fmt: skip
        spy = profile(args.profile, server.pid)
        if spy is not None:
            await asyncio.sleep(1)  # py-spy attaching
        for name, path in pages.items():
            if args.pages not in name:
                continue
            db = await database_cpu(url)
            cpu, mine = cpu_seconds(server.pid), time.process_time()
            times, wall = await drive(clients, path, args.requests)
            used, mine = cpu_seconds(server.pid) - cpu, time.process_time() - mine
            after = await database_cpu(url)
            db_used = "-" if db is None or after is None else f"{after - db:.2f}"
            print(f"  {name:<26} {len(times):>8} {percentile(times, 50):>7.1f}"
                  f" {percentile(times, 95):>7.1f} {max(times):>7.1f}"
                  f" {len(times) / wall:>7.0f} {used:>12.2f} {db_used:>8}"
                  f" {mine:>11.2f}")  # fmt: skip
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
    finally:
        for c in clients:
            await c.aclose()
        server.terminate()
        try:
            await asyncio.wait_for(server.wait(), 10)
        except TimeoutError:
            server.kill()
            await server.wait()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None, help="postgres://… (default: SQLite)")
    parser.add_argument("--database-name", default="coopub_bench_pages")
    parser.add_argument("--offers", type=int, default=15_000)
    parser.add_argument("--requests", type=int, default=400, help="per page")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--logged-in", action="store_true", help="clients send a session")
    parser.add_argument("--web-processes", type=int, default=1, help="[server] web_processes")
    parser.add_argument("--profile", metavar="FILE", help="py-spy's collapsed stacks of the server")
    parser.add_argument("--pages", default="", help="only the pages whose name contains this")
    parser.add_argument(
        "--no-analyze", action="store_true", help="PostgreSQL: no VACUUM ANALYZE after the fill"
    )
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="coopub-bench-pages-"))
    postgres = (args.database_url or "").startswith(("postgres://", "postgresql://"))
    if postgres:
        await _pg(args.database_url, f'CREATE DATABASE "{args.database_name}"')
        url = urlunsplit(
            urlsplit(args.database_url)._replace(scheme="postgres", path=f"/{args.database_name}")
        )
        engine = "PostgreSQL"
    else:
        url, engine = args.database_url or f"sqlite://{directory}/bench.sqlite3", "SQLite"
    try:
        await run(args, directory, url, engine)
    finally:
        if postgres:
            await _pg(
                args.database_url, f'DROP DATABASE IF EXISTS "{args.database_name}" WITH (FORCE)'
            )
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
