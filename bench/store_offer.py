"""Storing received offers, without HTTP: what the worker does with one ``Create`` of an offer.

    python bench/store_offer.py [--database-url postgres://…] [-n 500] [--searches 0] [--worker]

A fresh database (a temporary SQLite file, or a database created on the PostgreSQL server named
by --database-url and dropped at the end), a local coop, 50 remote actors; then N ``Create``
activities shaped as ``bench/inbox.py`` sends them (cc'd to the local coop, so ``offer_reasons``
keeps them: nothing is followed), each read as the worker reads an inbox item (``APObject`` of
the payload) and given to the registered ``Create`` handler, one after another. With
--searches S, S saved searches (spread over 5 members, mixed criteria) are checked against each
offer (``alerts.match_offer``). With --worker, the N activities are queued as the inbox POST
queues them (``store_incoming``, not timed) and the worker's passes (``process_due``: claim,
dispatch, outcomes; ``--batch-size`` items a pass) are timed instead: what a worker process
spends per received offer. Prints wall and CPU milliseconds per offer (CPU of every thread,
SQLite's included), and the time of ``load_json`` on one such body (what the inbox POST pays
before storing it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from inbox import CITIES, offer  # noqa: E402

from activitypub.apobject import APObject  # noqa: E402
from activitypub.json_body import load_json  # noqa: E402
from federation.context import Federation, SiteInfo  # noqa: E402
from federation.inbox import Incoming, process_due, store_incoming  # noqa: E402
from federation.services.accounts import create_actor  # noqa: E402
from federation.services.handlers import inbox_handlers  # noqa: E402
from federation.settings import FederationSettings  # noqa: E402
from models.actors import ActorKind, RemoteActor  # noqa: E402
from models.alerts import SavedSearch  # noqa: E402
from models.db import close_db, open_db  # noqa: E402
from models.offers import Offer  # noqa: E402

DOMAIN = "bench.example"
HOST = "remote.example"
ACTORS = 50


class _Actors:
    """What ``bench/inbox.py``'s ``offer`` asks of its remote server: actor ids and a base."""

    base = f"https://{HOST}"

    def actor(self, i: int) -> str:
        return f"{self.base}/users/a{i}"


async def _setup(searches: int, batch_size: int) -> tuple[Federation, str, dict[str, RemoteActor]]:
    fed = Federation.create(
        FederationSettings(allow_private_addresses=True, worker_batch_size=batch_size),
        f"https://{DOMAIN}",
        SiteInfo("Bench", "bench", ("fr", "en")),
        handlers=inbox_handlers(),
    )
    coop = await create_actor(ActorKind.COOP, "bench", name="Bench")
    actors = {}
    for i in range(ACTORS):
        uri = _Actors().actor(i)
        actors[uri] = await RemoteActor.create(
            ap_id=uri,
            type="Person",
            username=f"a{i}",
            domain=HOST,
            inbox=f"{uri}/inbox",
            key_id=f"{uri}#main-key",
            public_key_pem="",
            fetched_at=datetime.now(UTC),
        )
    rng = random.Random(14)
    members = [
        await create_actor(ActorKind.MEMBER, f"m{i}", name=f"M{i}", coop=coop) for i in range(5)
    ]
    now = datetime.now(UTC)
    for n in range(searches):
        _, lat, lon = rng.choice(CITIES)
        near = rng.random() < 0.7
        await SavedSearch.create(
            member_id=members[n % len(members)].id,
            kind=rng.choice([None, "ride", "ride", "stay"]),
            purpose=rng.choice([None, "offer", "request"]),
            latitude=lat if near else None,
            longitude=lon if near else None,
            radius_km=rng.choice([10.0, 30.0, 100.0]),
            date_from=now + timedelta(days=rng.randint(0, 10)) if rng.random() < 0.3 else None,
            min_quantity=rng.choice([None, None, 1, 2, 4]),
            text=rng.choice([None, None, None, "gare", "Lyon", "vélo"]),
            created_at=now,
        )
    return fed, fed.urls.actor(coop), actors


async def _through_worker(
    fed: Federation, payloads: list[dict[str, Any]], actors: dict[str, RemoteActor]
) -> tuple[float, float]:
    """Queue every payload as the inbox does, then time the worker's passes until none is left:
    (wall, CPU) seconds."""
    for payload in payloads:
        incoming = Incoming(APObject(payload), actors[payload["actor"]])
        await store_incoming(fed, incoming, None, json.dumps(payload).encode())
    wall, cpu = time.perf_counter(), time.process_time()
    while await process_due(fed):
        pass
    return time.perf_counter() - wall, time.process_time() - cpu


async def run(url: str, n: int, searches: int, *, worker: bool = False, batch: int = 20) -> None:
    await open_db(url, run_migrations=True)
    try:
        fed, coop, actors = await _setup(searches, batch)
        rng = random.Random(1)
        payloads = [offer(_Actors(), i, n, coop, rng) for i in range(n)]  # type: ignore[arg-type]
        body = json.dumps(payloads[0], ensure_ascii=False).encode()
        handler = fed.handlers["Create"]
        for payload in payloads[:20]:  # warm-up: contexts, statements, caches
            payload = {**payload, "id": f"{payload['id']}-warm"}
            payload["object"] = {**payload["object"], "id": f"{payload['object']['id']}-warm"}
            await handler(fed, APObject(payload), actors[payload["actor"]])
        if worker:
            wall, cpu = await _through_worker(fed, payloads, actors)
        else:
            wall, cpu = time.perf_counter(), time.process_time()
            for payload in payloads:
                await handler(fed, APObject(payload), actors[payload["actor"]])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stored = await Offer.filter(local_uuid__isnull=True).count()
        started = time.perf_counter()
        for _ in range(1000):
            load_json(body)
        json_us = (time.perf_counter() - started) * 1000
        await fed.aclose()
    finally:
        await close_db()
    engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    how = f"worker, batches of {batch}" if worker else "handler"
    print("| engine | timed | offers | saved searches | stored | wall ms/offer | CPU ms/offer |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {engine} | {how} | {n} | {searches} | {stored} | {wall / n * 1000:.2f} "
        f"| {cpu / n * 1000:.2f} |"
    )
    print(f"load_json, one {len(body)}-byte Create: {json_us:.1f} µs per call")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="postgres://… (a fresh database)")
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--searches", type=int, default=0)
    parser.add_argument("--worker", action="store_true", help="time the worker's passes")
    parser.add_argument("--batch-size", type=int, default=20, help="worker_batch_size")
    args = parser.parse_args()
    options = {"worker": args.worker, "batch": args.batch_size}
    if args.database_url.startswith(("postgres://", "postgresql://")):
        import asyncpg

        name = f"coopub_bench_store_{uuid.uuid4().hex[:8]}"
        admin = urlunsplit(
            urlsplit(args.database_url)._replace(scheme="postgresql", path="/postgres")
        )
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        try:
            url = urlunsplit(
                urlsplit(args.database_url)._replace(scheme="postgres", path=f"/{name}")
            )
            await run(url, args.n, args.searches, **options)
        finally:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()
        return
    with tempfile.TemporaryDirectory(prefix="coopub-bench-store-") as tmp:
        await run(f"sqlite://{tmp}/bench.sqlite3", args.n, args.searches, **options)


if __name__ == "__main__":
    asyncio.run(main())
