"""Inbox throughput: signed offers accepted per second, and stored (searchable) per second.

Starts a real ``coopub serve`` on loopback (its own config and database), serves 50 remote
actors with RSA keys from a small HTTP server of its own, then POSTs N signed ``Create{Offer}``
(draft-cavage ``rsa-sha256`` with ``Digest``, as Mastodon signs; shaped like coopub's own
offers, rides between French cities) to the shared inbox, ``--concurrency`` at a time. The
offers are addressed to a local coop (nothing is followed: that is what lets them be kept).
Prints accepted/s, p50/p95 latency, then waits until all N are in the offer table (what search
reads) for stored/s, and the server's CPU seconds (its process and its children, from /proc).

    .venv/bin/python bench/inbox.py -n 2000 --concurrency 32
    .venv/bin/python bench/inbox.py --database-url postgres://postgres@127.0.0.1:5432/postgres

Then the same load against bovine-herd (``bench/inbox_peer.py``: installed from PyPI into
/tmp/bench-bovine-venv on first use, served by hypercorn, SQLite) and the ratio; ``--no-peer``
skips it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from activitypub.jsonld import offer_context  # noqa: E402

COOPUB = str(ROOT / ".venv" / "bin" / "coopub")
ACTORS = 50
CITIES = [
    ("Lyon", 45.7578, 4.8320),
    ("Grenoble", 45.1885, 5.7245),
    ("Valence", 44.9334, 4.8924),
    ("Marseille", 43.2965, 5.3698),
    ("Montpellier", 43.6108, 3.8767),
    ("Toulouse", 43.6047, 1.4442),
    ("Bordeaux", 44.8378, -0.5792),
    ("Nantes", 47.2184, -1.5536),
    ("Rennes", 48.1173, -1.6778),
    ("Lille", 50.6292, 3.0573),
    ("Strasbourg", 48.5734, 7.7521),
    ("Dijon", 47.3220, 5.0415),
    ("Clermont-Ferrand", 45.7772, 3.0870),
    ("Annecy", 45.8992, 6.1294),
    ("Die", 44.7536, 5.3700),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- remote actors ------------------------------------------------------------------------


class Remote:
    """50 actors on one loopback host, served by a minimal HTTP/1.1 server."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.keys = [
            rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(ACTORS)
        ]
        self.docs: dict[str, bytes] = {}
        for i, key in enumerate(self.keys):
            pem = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            actor = self.actor(i)
            doc = {
                "@context": [
                    "https://www.w3.org/ns/activitystreams",
                    "https://w3id.org/security/v1",
                ],
                "id": actor,
                "type": "Person",
                "preferredUsername": f"a{i}",
                "inbox": f"{actor}/inbox",
                "outbox": f"{actor}/outbox",
                "followers": f"{actor}/followers",
                "endpoints": {"sharedInbox": f"{self.base}/inbox"},
                "publicKey": {
                    "id": f"{actor}#main-key",
                    "owner": actor,
                    "publicKeyPem": pem.decode(),
                },
            }
            self.docs[f"/users/a{i}"] = json.dumps(doc).encode()
        self.server: asyncio.Server | None = None

    def actor(self, i: int) -> str:
        return f"{self.base}/users/a{i}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode().split("?")[0].split("#")[0]
                length = re.search(rb"(?i)content-length:\s*(\d+)", head)
                if length:
                    await reader.readexactly(int(length.group(1)))
                body = self.docs.get(path)
                status = b"200 OK" if body else b"404 Not Found"
                body = body or b"{}"
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\nContent-Type: application/activity+json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
            pass
        finally:
            writer.close()


def sign(key: rsa.RSAPrivateKey, key_id: str, url: str, body: bytes) -> dict[str, str]:
    """Headers of a draft-cavage signed POST, as Mastodon sends them."""
    parsed = httpx.URL(url)
    date = format_datetime(datetime.now(UTC), usegmt=True)
    digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    host = parsed.host + (f":{parsed.port}" if parsed.port else "")
    signed = (
        f"(request-target): post {parsed.raw_path.decode()}\nhost: {host}\ndate: {date}\n"
        f"digest: {digest}\ncontent-type: application/activity+json"
    )
    signature = base64.b64encode(
        key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    return {
        "Host": host,
        "Date": date,
        "Digest": digest,
        "Content-Type": "application/activity+json",
        "Signature": (
            f'keyId="{key_id}",algorithm="rsa-sha256",'
            f'headers="(request-target) host date digest content-type",signature="{signature}"'
        ),
    }


def offer(remote: Remote, i: int, n: int, coop: str, rng: random.Random) -> dict[str, Any]:
    """A ride shaped like coopub's own offers (``offer_to_as``), between two French cities."""
    actor = remote.actor(n % ACTORS)
    (a, alat, alon), (b, blat, blon) = rng.sample(CITIES, 2)
    oid = f"{actor}/offers/{i}-{n}"
    start = (datetime.now(UTC) + timedelta(days=1 + n % 20, hours=n % 7)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    text = f"<p><strong>Covoiturage proposé</strong> · {a} → {b}</p><p>Départ à 08:00</p>"
    obj = {
        "@context": offer_context(),
        "id": oid,
        "type": "Note",
        "attributedTo": actor,
        "content": text,
        "contentMap": {"fr": text},
        "tag": [
            {"type": "Hashtag", "href": f"{remote.base}/tags/covoiturage", "name": "#covoiturage"}
        ],
        "url": oid,
        "published": start,
        "updated": start,
        "startTime": start,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{actor}/followers", coop],
        "title": f"{a} → {b} en covoiturage",
        "description": "Départ devant la gare",
        "kind": "Ride",
        "status": "open",
        "timezone": "Europe/Paris",
        "currency": "EUR",
        "priceCents": 700,
        "purpose": "offer",
        "publishes": {
            "type": "Intent",
            "id": f"{oid}#primary",
            "action": "deliverService",
            "resourceConformsTo": "https://www.wikidata.org/wiki/Q1193830",
            "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "3"},
        },
        "origin": {"type": "Place", "name": a, "latitude": alat, "longitude": alon},
        "destination": {"type": "Place", "name": b, "latitude": blat, "longitude": blon},
        "flexibilityMinutes": 15,
        "seatsTotal": 3,
    }
    return {
        "@context": obj["@context"],
        "id": f"{oid}#create",
        "type": "Create",
        "actor": actor,
        "published": start,
        "to": obj["to"],
        "cc": obj["cc"],
        "object": obj,
    }


# --- the served instance ------------------------------------------------------------------


def set_setting(text: str, section: str, key: str, value: Any) -> str:
    line = f"{key} = {json.dumps(value)}\n"
    commented = re.compile(rf"^# ?{re.escape(key)} = .*\n", re.M)
    header = f"[{section}]\n"
    if header not in text:
        return text + f"\n{header}{line}"
    start = text.index(header) + len(header)
    end = text.find("\n[", start)
    end = len(text) if end < 0 else end + 1
    part = text[start:end]
    existing = re.compile(rf"^{re.escape(key)} = .*\n", re.M)
    if existing.search(part):
        part = existing.sub(line, part, count=1)
    elif commented.search(part):
        part = commented.sub(line, part, count=1)
    else:
        part = line + part
    return text[:start] + part + text[end:]


def _proc_stats() -> dict[int, list[str]]:
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            stats[int(entry.name)] = raw[raw.rindex(")") + 2 :].split()
    return stats


def _tree(root: int, stats: dict[int, list[str]]) -> set[int]:
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, fields in stats.items():
            if pid not in tree and int(fields[1]) in tree:
                tree.add(pid)
                grew = True
    return tree & (stats.keys() | {root})


def _cpu(fields: list[str]) -> float:
    """utime+stime, plus what its waited-for children used, in seconds."""
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU of a process and of its live descendants (utime+stime, plus what its waited-for
    children used), from /proc."""
    stats = _proc_stats()
    return sum(_cpu(stats[pid]) for pid in _tree(root, stats) if pid in stats)


def _listening(pid: int, port: int) -> bool:
    """Whether ``pid`` holds the socket listening on ``port`` (a web process, or the
    supervisor that bound it; worker processes are started before it is bound)."""
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{cols[9]}]")
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd) in inodes:
                return True
        except OSError:
            continue
    return False


def cpu_by_role(root: int, port: int) -> dict[str, float]:
    """CPU seconds of the web side (the processes holding the listening socket) and of the
    worker processes (the others), from /proc."""
    stats = _proc_stats()
    roles = {"web": 0.0, "worker": 0.0}
    for pid in _tree(root, stats):
        if pid in stats:
            roles["web" if pid == root or _listening(pid, port) else "worker"] += _cpu(stats[pid])
    return roles


def database_cpu_seconds() -> float:
    """CPU of this machine's PostgreSQL server processes (named ``postgres``), from /proc;
    0 when there are none (SQLite runs inside coopub's processes)."""
    total = 0.0
    for pid, fields in _proc_stats().items():
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if name == "postgres":
            total += _cpu(fields)
    return total


class Served:
    def __init__(self, directory: Path, database_url: str) -> None:
        self.directory, self.database_url = directory, database_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = directory / "instance.toml"
        self.env = {**os.environ, "COOPUB_CONFIG": str(self.config)}
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [COOPUB, *args], env=self.env, cwd=self.directory, input=stdin,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            raise SystemExit(f"coopub {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def init(self, web: int | None, workers: int | None, nice: int | None = None) -> None:
        self.cli(
            "init", "--domain", f"127.0.0.1:{self.port}", "--scheme", "http",
            "--port", str(self.port), "--database-url", self.database_url,
            "--allow-private-addresses", "--title", "Bench",
        )  # fmt: skip
        text = self.config.read_text()
        text = set_setting(text, "federation", "worker_poll_seconds", 0.1)
        # the 50 actors share one host (the bench's server): its per-host inbox allowance
        # (600/min, burst 1200) would answer 429 past the first 1,200
        text = set_setting(text, "limits", "inbox_per_minute", 0)
        if nice is not None:
            text = set_setting(text, "worker", "nice", nice)
        if web and "web_processes" in text:
            text = text.replace("# web_processes = 2\n", f"web_processes = {web}\n")
        if workers and "processes" in text:
            text = text.replace("# processes = 2\n", f"processes = {workers}\n")
        self.config.write_text(text)
        self.cli("coop", "create", "bench", "--title", "Bench")

    async def start(self) -> None:
        log = (self.directory / "serve.log").open("ab")
        self.process = subprocess.Popen(  # noqa: ASYNC220 (it runs on; nothing waits)
            [COOPUB, "serve"], env=self.env, cwd=self.directory, stdout=log, stderr=log
        )
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    if (await client.get(f"{self.base}/nodeinfo/2.1")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise SystemExit("coopub serve did not start: see " + str(self.directory / "serve.log"))

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def cpu_seconds(self) -> float:
        assert self.process is not None
        return tree_cpu_seconds(self.process.pid)

    def cpu_by_role(self) -> dict[str, float]:
        assert self.process is not None
        return cpu_by_role(self.process.pid, self.port)

    async def settled(self, limit: float = 60) -> None:
        """Wait until the server is idle (start-up done: the web processes read the gazetteer
        in a thread after they answer), so that the load is measured alone."""
        deadline = time.perf_counter() + limit
        last = self.cpu_seconds()
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.5)
            now = self.cpu_seconds()
            if now - last < 0.05:
                return
            last = now

    async def stored(self) -> int:
        sql = "SELECT count(*) FROM offer WHERE local_uuid IS NULL"
        if self.database_url.startswith("sqlite://"):
            with sqlite3.connect(self.database_url[len("sqlite://") :], timeout=30) as conn:
                return int(conn.execute(sql).fetchone()[0])
        conn = await asyncpg.connect(self.database_url.replace("postgres://", "postgresql://", 1))
        try:
            return int(await conn.fetchval(sql))
        finally:
            await conn.close()


# --- the load -----------------------------------------------------------------------------


async def load(
    inbox: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int
) -> tuple[float, list[float], dict[int, int]]:
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one() -> None:
            while not queue.empty():
                body, headers = queue.get_nowait()
                t = time.perf_counter()
                try:
                    status = (await client.post(inbox, content=body, headers=headers)).status_code
                except httpx.HTTPError:
                    status = 0  # no answer in time (or the connection dropped): counted apart
                latencies.append(time.perf_counter() - t)
                statuses[status] = statuses.get(status, 0) + 1

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return elapsed, latencies, statuses


async def load_raw(
    inbox: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int
) -> tuple[float, list[float], dict[int, int]]:
    """``load`` over plain asyncio streams (HTTP/1.1, ``concurrency`` kept-alive connections,
    each request written whole, its answer read by ``Content-Length``): about a tenth of
    httpx's CPU per request, so that less of the shared cores goes to the bench's client."""
    url = httpx.URL(inbox)
    assert url.host and url.port
    path = url.raw_path.decode()
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body, headers in requests:
        head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        queue.put_nowait(f"{head}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one() -> None:
        reader, writer = await asyncio.open_connection(url.host, url.port)
        try:
            while not queue.empty():
                request = queue.get_nowait()
                t = time.perf_counter()
                writer.write(request)
                try:
                    status = int((await reader.readline()).split()[1])
                    length = 0
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    await reader.readexactly(length)
                except (IndexError, ValueError, asyncio.IncompleteReadError, ConnectionError):
                    # no answer (the connection dropped): counted apart, as by ``load``
                    latencies.append(time.perf_counter() - t)
                    statuses[0] = statuses.get(0, 0) + 1
                    return
                latencies.append(time.perf_counter() - t)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies, statuses


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def run_coopub(args: argparse.Namespace, remote: Remote, tmp: Path) -> dict[str, Any]:
    url, dropper = await database(args, tmp)
    served = Served(tmp / "coopub", url)
    served.directory.mkdir()
    try:
        served.init(args.web_processes, args.worker_processes, args.worker_nice)
        await served.start()
        inbox = f"{served.base}/inbox"
        coop = f"{served.base}/c/bench"
        requests = signed_requests(remote, args.n, coop, inbox, int(time.time()))
        await served.settled()
        cpu0, roles0 = served.cpu_seconds(), served.cpu_by_role()
        database0 = database_cpu_seconds()
        client0 = time.process_time()
        start = time.perf_counter()
        send = load_raw if args.client == "raw" else load
        elapsed, latencies, statuses = await send(inbox, requests, args.concurrency)
        client_cpu = time.process_time() - client0
        accepted_roles = served.cpu_by_role()
        database_accepting = database_cpu_seconds() - database0
        accepted = statuses.get(202, 0)
        deadline = time.perf_counter() + args.timeout
        count, last, moved_at = 0, -1, time.perf_counter()
        while time.perf_counter() < deadline and time.perf_counter() - moved_at < 60:
            count = await served.stored()  # stops once nothing was stored for a minute
            if count >= accepted:
                break
            if count != last:
                last, moved_at = count, time.perf_counter()
            await asyncio.sleep(0.25)
        stored_elapsed = time.perf_counter() - start
        cpu = served.cpu_seconds() - cpu0
        roles = served.cpu_by_role()
        database_cpu = database_cpu_seconds() - database0
        return {
            "database_cpu_s": database_cpu,
            "database_cpu_accepting_s": database_accepting,
            "web_cpu_s": roles["web"] - roles0["web"],
            "worker_cpu_s": roles["worker"] - roles0["worker"],
            "worker_cpu_accepting_s": accepted_roles["worker"] - roles0["worker"],
            "client_cpu_s": client_cpu,
            "engine": "postgresql" if url.startswith("postgres") else "sqlite",
            "statuses": statuses,
            "accepted": accepted,
            "elapsed": elapsed,
            "latencies": latencies,
            "stored": count,
            "stored_elapsed": stored_elapsed,
            "cpu_s": cpu,
        }
    finally:
        served.stop()
        await dropper()


async def database(args: argparse.Namespace, tmp: Path) -> tuple[str, Any]:
    """The database URL to give coopub, and what drops it at the end."""

    async def nothing() -> None:
        return None

    if not args.database_url or args.database_url.startswith("sqlite"):
        return f"sqlite://{tmp / 'coopub.sqlite3'}", nothing
    admin = args.database_url.replace("postgres://", "postgresql://", 1)
    name = args.database_name
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    address, _, query = args.database_url.partition("?")  # ?host=/run/postgresql: a socket
    base = address.rsplit("/", 1)[0]

    async def drop() -> None:
        c = await asyncpg.connect(admin)
        try:
            await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await c.close()

    return f"{base}/{name}" + (f"?{query}" if query else ""), drop


def signed_requests(
    remote: Remote, n: int, target: str, inbox: str, stamp: int
) -> list[tuple[bytes, dict[str, str]]]:
    rng = random.Random(7)
    requests = []
    for i in range(n):
        body = json.dumps(offer(remote, stamp, i, target, rng)).encode()
        key_id = f"{remote.actor(i % ACTORS)}#main-key"
        requests.append((body, sign(remote.keys[i % ACTORS], key_id, inbox, body)))
    return requests


def row(name: str, n: int, concurrency: int, r: dict[str, Any]) -> str:
    accepted_s = r["accepted"] / r["elapsed"]
    stored_s = r["stored"] / r["stored_elapsed"]
    return (
        f"| {name} | {n} | {concurrency} | {accepted_s:.0f} | {pct(r['latencies'], 0.5):.0f} "
        f"| {pct(r['latencies'], 0.95):.0f} | {stored_s:.0f} | {r['cpu_s']:.1f} "
        f"| {r['stored']} | {r['statuses']} |"
    )


async def peer(args: argparse.Namespace, remote: Remote, tmp: Path) -> dict[str, Any] | str:
    """bovine-herd's figures, or why it did not run."""
    from inbox_peer import PeerUnavailable, run_bovine

    stamp = int(time.time()) + 1

    def requests_for(actor: str, inbox: str) -> tuple[list[tuple[bytes, dict[str, str]]], str]:
        return signed_requests(remote, args.n, actor, inbox, stamp), f"%/offers/{stamp}-%"

    try:
        return await run_bovine(
            tmp / "bovine", free_port(), requests_for, load, tree_cpu_seconds,
            concurrency=args.concurrency, wait_seconds=args.timeout,
        )  # fmt: skip
    except PeerUnavailable as exc:
        return str(exc)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="", help="sqlite (default) or postgres://…")
    parser.add_argument("--database-name", default="coopub_bench_inbox")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--web-processes", type=int, default=None)
    parser.add_argument("--worker-processes", type=int, default=None)
    parser.add_argument(
        "--worker-nice", type=int, default=None, help="[worker] nice (default: the instance's)"
    )
    parser.add_argument(
        "--client",
        choices=("httpx", "raw"),
        default="httpx",
        help="the load's HTTP client: httpx (default), or raw asyncio streams (less CPU)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for storing")
    parser.add_argument("--no-peer", action="store_true", help="coopub alone, no bovine-herd")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="coopub-bench-inbox-"))
    remote = Remote()
    await remote.start()
    header = (
        "| server | N | conc | accepted/s | p50 ms | p95 ms | stored/s | server CPU s "
        "| stored | statuses |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    try:
        ours = await run_coopub(args, remote, tmp)
        print(f"load average after coopub: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(header)
        print(row(f"coopub {ours['engine']}", args.n, args.concurrency, ours), flush=True)
        n = max(ours["accepted"], 1)
        print(
            f"server CPU per offer: web {ours['web_cpu_s'] / n * 1000:.2f} ms, workers "
            f"{ours['worker_cpu_s'] / n * 1000:.2f} ms ({ours['worker_cpu_accepting_s']:.1f} s "
            f"of it while accepting); the bench's client {ours['client_cpu_s'] / n * 1000:.2f} ms "
            "per POST",
            flush=True,
        )
        if ours["database_cpu_s"]:
            print(
                f"PostgreSQL's processes: {ours['database_cpu_s'] / n * 1000:.2f} ms per offer "
                f"({ours['database_cpu_accepting_s']:.1f} s of it while accepting)",
                flush=True,
            )
        theirs = "not run (--no-peer)" if args.no_peer else await peer(args, remote, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if remote.server:
            remote.server.close()
    if isinstance(theirs, str):
        print(f"bovine-herd: {theirs}")
        return
    print(f"load average after bovine-herd: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(header)
    print(row("bovine-herd sqlite", args.n, args.concurrency, theirs))
    ratio = (ours["accepted"] / ours["elapsed"]) / (theirs["accepted"] / theirs["elapsed"])
    stored = (ours["stored"] / ours["stored_elapsed"]) / (
        theirs["stored"] / theirs["stored_elapsed"]
    )
    print(f"coopub / bovine-herd: accepted/s × {ratio:.2f}, stored/s × {stored:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
