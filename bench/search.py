"""Offer search benchmark: fill a fresh database with N realistic offers, time a mix of searches.

    python bench/search.py [--database-url URL] [--database-name NAME] [--offers 100000]
                           [--queries 200] [--keep] [--reuse]

Without --database-url the database is a temporary SQLite file (or the file --database-name,
refused if it exists). With a postgres:// URL, a fresh database named --database-name (default
coopub_bench_<random>; refused if it exists) is created on that server and dropped at the end
(unless --keep). --reuse searches a database an earlier run kept (--keep) instead of filling
one: its offers' dates are relative to when it was filled, so its figures drift as days pass;
use it to compare changes, and a fresh database for the figures you publish. The plans of one
search of every type are printed (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on
SQLite). The schema comes from the real migrations (models.db.open_db(run_migrations=True)) and
every search goes through federation.services.search.search_offers(parse_search({...})),
exactly as the search page and the API call it.

A measurement tool, never a test: nothing here asserts a duration.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tortoise import connections  # noqa: E402
from tortoise.transactions import in_transaction  # noqa: E402

from federation.services.search import parse_search, search_offers  # noqa: E402
from models.db import close_db, open_db  # noqa: E402
from models.offers import Offer, OfferKind, OfferStatus, Purpose  # noqa: E402

SEED = 42
BATCH = 2000

# (name, latitude, longitude, weight): offers cluster around these, weighted by city size.
CITIES: list[tuple[str, float, float, int]] = [
    ("Paris", 48.8566, 2.3522, 40),
    ("Marseille", 43.2965, 5.3698, 14),
    ("Lyon", 45.7640, 4.8357, 14),
    ("Toulouse", 43.6047, 1.4442, 10),
    ("Nice", 43.7102, 7.2620, 7),
    ("Nantes", 47.2184, -1.5536, 8),
    ("Montpellier", 43.6108, 3.8767, 7),
    ("Strasbourg", 48.5734, 7.7521, 7),
    ("Bordeaux", 44.8378, -0.5792, 9),
    ("Lille", 50.6292, 3.0573, 9),
    ("Rennes", 48.1173, -1.6778, 6),
    ("Reims", 49.2583, 4.0317, 3),
    ("Saint-Étienne", 45.4397, 4.3872, 3),
    ("Le Havre", 49.4944, 0.1079, 3),
    ("Toulon", 43.1242, 5.9280, 3),
    ("Grenoble", 45.1885, 5.7245, 5),
    ("Dijon", 47.3220, 5.0415, 3),
    ("Angers", 47.4784, -0.5632, 3),
    ("Nîmes", 43.8367, 4.3601, 2),
    ("Clermont-Ferrand", 45.7772, 3.0870, 3),
    ("Le Mans", 48.0061, 0.1996, 2),
    ("Aix-en-Provence", 43.5297, 5.4474, 3),
    ("Brest", 48.3904, -4.4861, 2),
    ("Tours", 47.3941, 0.6848, 3),
    ("Amiens", 49.8941, 2.2958, 2),
    ("Limoges", 45.8336, 1.2611, 2),
    ("Annecy", 45.8992, 6.1294, 2),
    ("Perpignan", 42.6887, 2.8948, 2),
    ("Metz", 49.1193, 6.1757, 2),
    ("Rouen", 49.4432, 1.0999, 3),
    ("Caen", 49.1829, -0.3707, 2),
    ("La Rochelle", 46.1603, -1.1511, 2),
]
VILLAGES = [
    "Saint-Martin",
    "Beaumont",
    "Villeneuve",
    "Montfort",
    "Fontaine",
    "Bellevue",
    "Le Moulin",
    "La Chapelle",
    "Saint-Pierre",
    "Les Granges",
    "Roche-Blanche",
    "Champagnac",
]
WORDS = [
    "vélo",
    "cargo",
    "bagages",
    "animaux",
    "non-fumeur",
    "jardin",
    "calme",
    "musique",
    "coffre",
    "remorque",
    "frais",
    "fragile",
    "colis",
    "courses",
    "petit-déjeuner",
    "gare",
    "autoroute",
    "covoiturage",
    "solidaire",
    "bio",
    "marché",
    "famille",
    "enfants",
    "montagne",
]
TEXT_QUERIES = ["vélo", "bagages", "jardin", "colis", "gare", "montagne", "Grenoble", "bio"]
INSTANCES = [f"coop{i}.example" for i in range(1, 21)] + ["bench.example"]

KINDS = [OfferKind.RIDE, OfferKind.DELIVERY_JOB, OfferKind.STAY]
KIND_WEIGHTS = [45, 30, 25]
FUTURE_STATUSES = [
    (OfferStatus.OPEN, 85),
    (OfferStatus.FULL, 6),
    (OfferStatus.CLOSED, 3),
    (OfferStatus.CANCELLED, 2),
    (OfferStatus.ASSIGNED, 3),
    (OfferStatus.PICKED_UP, 1),
]
PAST_STATUSES = [
    (OfferStatus.EXPIRED, 50),
    (OfferStatus.CLOSED, 25),
    (OfferStatus.DELIVERED, 10),
    (OfferStatus.FAILED, 2),
    (OfferStatus.CANCELLED, 8),
    (OfferStatus.OPEN, 5),
]


def _pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _near(rng: random.Random, lat: float, lon: float, sigma_km: float) -> tuple[float, float]:
    """A point around (lat, lon), normally spread with sigma_km, rounded to ~10 m."""
    dlat = rng.gauss(0, sigma_km) / 111.0
    dlon = rng.gauss(0, sigma_km) / (111.0 * math.cos(math.radians(lat)))
    return round(lat + dlat, 4), round(lon + dlon, 4)


def _place(rng: random.Random) -> tuple[str, float, float]:
    """85 % around a city (a few km), 15 % anywhere in mainland France's box."""
    if rng.random() < 0.85:
        name, lat, lon, _ = rng.choices(CITIES, [c[3] for c in CITIES])[0]
        lat, lon = _near(rng, lat, lon, 6.0)
        return name, lat, lon
    return (
        rng.choice(VILLAGES),
        round(rng.uniform(42.5, 51.0), 4),
        round(rng.uniform(-4.5, 8.0), 4),
    )


def make_offer(rng: random.Random, n: int, now: datetime) -> Offer:
    kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
    past = rng.random() < 0.12
    if past:
        starts_at = now - timedelta(minutes=rng.randint(60, 60 * 24 * 60))
        status = _pick(rng, PAST_STATUSES)
    else:
        starts_at = now + timedelta(minutes=rng.randint(10, 60 * 24 * 90))
        status = _pick(rng, FUTURE_STATUSES)
    starts_at = starts_at.replace(second=0, microsecond=0)
    place_name, lat, lon = _place(rng)
    dest_name, dlat, dlon = "", None, None
    ends_at: datetime | None = None
    quantity_total: int | None
    price: int | None
    if kind == OfferKind.RIDE:
        other = rng.choices(CITIES, [c[3] for c in CITIES])[0]
        if other[0] == place_name:
            other = rng.choice(CITIES)
        dest_name = other[0]
        dlat, dlon = _near(rng, other[1], other[2], 4.0)
        quantity_total = rng.randint(1, 4)
        price = rng.choice([None, rng.randint(3, 45) * 100])
        ends_at = starts_at + timedelta(hours=rng.randint(1, 8)) if rng.random() < 0.5 else None
        title = f"Trajet {place_name} → {dest_name}"
    elif kind == OfferKind.DELIVERY_JOB:
        if rng.random() < 0.8:  # a local delivery, inside the same city
            dest_name = place_name
            dlat, dlon = _near(rng, lat, lon, 3.0)
        else:
            other = rng.choice(CITIES)
            dest_name = other[0]
            dlat, dlon = _near(rng, other[1], other[2], 4.0)
        quantity_total = rng.randint(1, 5)
        price = rng.randint(5, 40) * 100
        ends_at = starts_at + timedelta(hours=rng.randint(1, 4))
        title = f"Livraison {place_name} → {dest_name}"
    else:
        quantity_total = rng.randint(1, 6)
        price = rng.choice([None, 0, rng.randint(10, 60) * 100])
        ends_at = starts_at + timedelta(days=rng.randint(1, 14))
        title = f"Hébergement à {place_name}"
    if status in (OfferStatus.FULL, OfferStatus.ASSIGNED, OfferStatus.PICKED_UP):
        available = 0
    else:
        available = rng.randint(0, quantity_total) if rng.random() < 0.3 else quantity_total
    description = " ".join(rng.choices(WORDS, k=rng.randint(4, 14))).capitalize() + "."
    published = min(now, starts_at) - timedelta(hours=rng.randint(1, 24 * 30))
    local = rng.random() < 0.1
    domain = "bench.example" if local else rng.choice(INSTANCES[:-1])
    return Offer(
        ap_id=f"https://bench.example/offers/{n}",
        local_uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)) if local else None,
        author_uri=f"https://{domain}/users/member{rng.randint(1, 400)}",
        author_name=f"Membre {rng.randint(1, 400)}",
        coop_uri=f"https://{domain}/users/coop" if rng.random() < 0.7 else None,
        instance_domain=domain,
        kind=kind,
        purpose=Purpose.OFFER if rng.random() < 0.8 else Purpose.REQUEST,
        status=status,
        title=title,
        description=description,
        language="fr" if rng.random() < 0.9 else "en",
        place_name=place_name,
        latitude=lat,
        longitude=lon,
        dest_name=dest_name,
        dest_latitude=dlat,
        dest_longitude=dlon,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone="Europe/Paris",
        quantity_total=quantity_total,
        quantity_available=available,
        price_cents=price,
        currency="EUR",
        details={},
        private={},
        document=None,
        published_at=published,
        updated_at=published,
        expires_at=(ends_at or starts_at) + timedelta(days=1),
    )


async def fill(n: int, now: datetime) -> float:
    rng = random.Random(SEED)
    started = time.perf_counter()
    for first in range(0, n, BATCH):
        batch = [make_offer(rng, i, now) for i in range(first, min(n, first + BATCH))]
        await Offer.bulk_create(batch)
    return time.perf_counter() - started


# --- the query mix -----------------------------------------------------------------------------


def _center(rng: random.Random) -> tuple[float, float]:
    """Where people search: mostly around a city, sometimes anywhere."""
    if rng.random() < 0.8:
        _, lat, lon, _ = rng.choices(CITIES, [c[3] for c in CITIES])[0]
        return _near(rng, lat, lon, 5.0)
    return round(rng.uniform(42.5, 51.0), 4), round(rng.uniform(-4.5, 8.0), 4)


def _window(rng: random.Random, now: datetime) -> tuple[str, str]:
    start = (now + timedelta(days=rng.randint(0, 80))).date()
    return start.isoformat(), (start + timedelta(days=rng.randint(0, 14))).isoformat()


def _near_query(radius: int) -> Callable[[random.Random, datetime], dict[str, str]]:
    def build(rng: random.Random, now: datetime) -> dict[str, str]:
        lat, lon = _center(rng)
        return {"lat": str(lat), "lon": str(lon), "radius_km": str(radius)}

    return build


def _place_query(rng: random.Random, now: datetime) -> dict[str, str]:
    name = rng.choices(CITIES, [c[3] for c in CITIES])[0][0]
    return {"place": name.lower() if rng.random() < 0.3 else name}


def _kind_dates_query(rng: random.Random, now: datetime) -> dict[str, str]:
    start, end = _window(rng, now)
    return {"kind": rng.choice(KINDS).value, "from": start, "to": end}


def _min_seats_query(rng: random.Random, now: datetime) -> dict[str, str]:
    return {"kind": "ride", "purpose": "offer", "min_seats": str(rng.randint(2, 4))}


def _text_query(rng: random.Random, now: datetime) -> dict[str, str]:
    return {"q": rng.choice(TEXT_QUERIES)}


def _combined_query(rng: random.Random, now: datetime) -> dict[str, str]:
    start, end = _window(rng, now)
    query = {"kind": "ride", "from": start, "to": end, "min_seats": str(rng.randint(1, 3))}
    if rng.random() < 0.5:
        query["place"] = rng.choices(CITIES, [c[3] for c in CITIES])[0][0]
    else:
        lat, lon = _center(rng)
        query.update(lat=str(lat), lon=str(lon))
    query["radius_km"] = str(rng.choice([10, 25, 50]))
    return query


_PARIS = {"lat": "48.8566", "lon": "2.3522", "radius_km": "10"}


def _browse_query(rng: random.Random, now: datetime) -> dict[str, str]:
    return {}


QUERY_TYPES: dict[str, Callable[[random.Random, datetime], dict[str, str]]] = {
    "browse (no filter)": _browse_query,
    "near 10 km": _near_query(10),
    "near 25 km": _near_query(25),
    "near 50 km": _near_query(50),
    "place name": _place_query,
    "kind + dates": _kind_dates_query,
    "min seats": _min_seats_query,
    "text": _text_query,
    "combined": _combined_query,
}


def query_mix(count: int, now: datetime) -> list[tuple[str, dict[str, str]]]:
    rng = random.Random(SEED + 1)
    names = [list(QUERY_TYPES)[i % len(QUERY_TYPES)] for i in range(count)]
    rng.shuffle(names)
    return [(name, QUERY_TYPES[name](rng, now)) for name in names]


# --- measuring ---------------------------------------------------------------------------------


def _defining(cls: type, name: str) -> type:
    return next(c for c in cls.__mro__ if name in c.__dict__)


class SqlSpy:
    """Wraps the client class's execute_query (the connection's and its transactions'):
    remembers every statement with the ``SET LOCAL`` settings its transaction had, and counts
    fetched rows."""

    def __init__(self) -> None:
        kind = type(connections.get("default"))
        self.query_class = _defining(kind, "execute_query")
        self.script_class = _defining(kind, "execute_script")
        self.original_query = self.query_class.__dict__["execute_query"]
        self.original_script = self.script_class.__dict__["execute_script"]
        self.settings: dict[int, list[str]] = defaultdict(list)
        self.statements: list[tuple[str, list | None, tuple[str, ...]]] = []
        self.rows = 0

    async def original(self, query: str, values: list | None = None) -> Any:
        return await self.original_query(connections.get("default"), query, values)

    def __enter__(self) -> SqlSpy:
        spy = self

        async def execute_query(conn: Any, query: str, values: list | None = None) -> Any:
            spy.statements.append((query, values, tuple(spy.settings[id(conn)])))
            result = await spy.original_query(conn, query, values)
            spy.rows += len(result[1])
            return result

        async def execute_script(conn: Any, query: str) -> None:
            if query.upper().startswith("SET LOCAL"):
                spy.settings[id(conn)].append(query)
            elif query.upper().startswith(("COMMIT", "ROLLBACK")):
                spy.settings.pop(id(conn), None)
            await spy.original_script(conn, query)

        self.query_class.execute_query = execute_query  # type: ignore[attr-defined]
        self.script_class.execute_script = execute_script  # type: ignore[attr-defined]
        return self

    def __exit__(self, *exc: object) -> None:
        self.query_class.execute_query = self.original_query  # type: ignore[attr-defined]
        self.script_class.execute_script = self.original_script  # type: ignore[attr-defined]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low, high = math.floor(k), math.ceil(k)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def line(name: str, times: list[float], results: list[int], rows: list[int]) -> str:
    return (
        f"  {name:<20} {len(times):>5} {percentile(times, 50):>9.1f} {percentile(times, 95):>9.1f}"
        f" {max(times):>9.1f} {statistics.mean(results):>9.1f} {statistics.mean(rows):>10.0f}"
    )


async def explain(engine: str, spy: SqlSpy, name: str, query: dict[str, str]) -> None:
    """The plan of every statement one search runs (index candidates, then the page), under
    the settings its transaction had."""
    spy.statements = []
    await search_offers(parse_search(query))
    print(f"\nQuery plans of a search of type {name!r} {query}:")
    for sql, values, settings in spy.statements:
        if "offer" not in sql or not sql.lstrip().upper().startswith(("SELECT", "(SELECT", "WITH")):
            continue  # the moderation look-ups: tiny tables
        print(f"  SQL: {sql[:600]}{' …' if len(sql) > 600 else ''}")
        for setting in settings:
            print(f"  ({setting})")
        with_values = list(values or [])
        async with in_transaction() as conn:
            for setting in settings:
                await spy.original_script(conn, setting)
            if engine == "SQLite":
                _, rows = await spy.original_query(conn, f"EXPLAIN QUERY PLAN {sql}", with_values)
                for row in rows:
                    print(f"    {dict(row)['detail']}")
            else:
                plan = f"EXPLAIN (ANALYZE, BUFFERS) {sql}"
                _, rows = await spy.original_query(conn, plan, with_values)
                for row in rows:
                    print(f"    {next(iter(dict(row).values()))}")


async def run_searches(engine: str, count: int, now: datetime) -> tuple[list[float], str]:
    mix = query_mix(count, now)
    times: dict[str, list[float]] = defaultdict(list)
    results: dict[str, list[int]] = defaultdict(list)
    rows: dict[str, list[int]] = defaultdict(list)
    with SqlSpy() as spy:
        warm = random.Random(SEED + 2)
        for build in QUERY_TYPES.values():  # warm-up, one of each, not counted
            await search_offers(parse_search(build(warm, now)))
        for name, query in mix:
            spy.rows = 0
            started = time.perf_counter()
            found = await search_offers(parse_search(query))
            elapsed = (time.perf_counter() - started) * 1000
            times[name].append(elapsed)
            results[name].append(len(found))
            rows[name].append(spy.rows)
        print(f"\nSearches ({count}, after one warm-up per type; times in ms)")
        print(
            f"  {'type':<20} {'count':>5} {'p50':>9} {'p95':>9} {'max':>9} {'results':>9}"
            f" {'rows read':>10}"
        )
        for name in QUERY_TYPES:
            if times[name]:
                print(line(name, times[name], results[name], rows[name]))
        every = [t for ts in times.values() for t in ts]
        print(
            line(
                "all",
                every,
                [r for rs in results.values() for r in rs],
                [r for rs in rows.values() for r in rs],
            )
        )
        print(
            "  (results: offers returned, at most 50; rows read: rows the database sent back,"
            " all of its queries)"
        )
        plans = random.Random(SEED + 3)
        for name, build in QUERY_TYPES.items():
            await explain(engine, spy, name, build(plans, now))
        await explain(engine, spy, "near 10 km, dense (Paris)", _PARIS)
    return every, engine


# --- databases ---------------------------------------------------------------------------------


def _admin_dsn(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql", path="/postgres"))


class DatabaseExists(RuntimeError):
    """--database-name names a database that exists: a bench never fills another's."""


async def create_pg(url: str, name: str) -> tuple[str, str]:
    import asyncpg

    conn = await asyncpg.connect(_admin_dsn(url))
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            raise DatabaseExists(f"database {name} exists on {url}: choose another name")
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(url)._replace(scheme="postgres", path=f"/{name}")), name


async def drop_pg(url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_admin_dsn(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _new_sqlite(name: str, check: bool = True) -> Path:
    """The SQLite file --database-name names (a path); ``DatabaseExists`` if it exists."""
    path = Path(name).resolve()
    if check and path.exists():
        raise DatabaseExists(f"{path} exists: choose another --database-name")
    return path


def _kept_sqlite(name: str) -> Path:
    """The SQLite file --database-name names, which an earlier --keep run filled."""
    path = Path(name).resolve()
    if not path.exists():
        raise FileNotFoundError(f"--reuse: {path} does not exist")
    return path


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url",
        default=None,
        help="postgres://… (a fresh database is created on that server);"
        " default: a temporary SQLite file",
    )
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--database-name",
        default=None,
        help="the PostgreSQL database, or the SQLite file, to create (refused if it exists);"
        " default: coopub_bench_<random>",
    )
    parser.add_argument("--keep", action="store_true", help="do not delete the database")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="search the database --database-name that an earlier --keep run filled"
        " (implies --keep)",
    )
    args = parser.parse_args()
    if args.reuse and not args.database_name:
        parser.error("--reuse needs --database-name")
    args.keep = args.keep or args.reuse
    name = args.database_name or f"coopub_bench_{uuid.uuid4().hex[:8]}"

    postgres = bool(args.database_url) and args.database_url.startswith(
        ("postgres://", "postgresql://")
    )
    tmpdir: str | None = None
    pg_name: str | None = None
    if postgres:
        if not name.replace("_", "").isalnum():
            parser.error("--database-name: letters, digits and '_' only for PostgreSQL")
        if args.reuse:
            url = urlunsplit(
                urlsplit(args.database_url)._replace(scheme="postgres", path=f"/{name}")
            )
            pg_name = name
        else:
            url, pg_name = await create_pg(args.database_url, name)
        engine = "PostgreSQL"
    elif args.database_url:
        url, engine = args.database_url, "SQLite"
        if args.database_name:
            parser.error("--database-name with an SQLite --database-url: give one or the other")
    else:
        tmpdir = tempfile.mkdtemp(prefix="coopub-bench-")
        if args.reuse:
            path = _kept_sqlite(name)
        else:
            path = _new_sqlite(name) if args.database_name else Path(tmpdir) / "bench.sqlite3"
        url, engine = f"sqlite://{path}", "SQLite"
    print(f"engine: {engine}   database: {url}")
    try:
        await open_db(url, run_migrations=True)
        conn = connections.get("default")
        if engine == "SQLite":
            _, rows = await conn.execute_query("SELECT sqlite_version() AS v")
        else:
            _, rows = await conn.execute_query("SHOW server_version")
        print(f"server: {engine} {next(iter(dict(rows[0]).values()))}")
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        if args.reuse:
            print(f"offers: {await Offer.all().count()} (reused, not filled)")
        else:
            seconds = await fill(args.offers, now)
            print(
                f"offers: {args.offers}   fill: {seconds:.1f} s"
                f" ({args.offers / seconds:,.0f} offers/s, bulk_create batches of {BATCH})"
            )
        if engine == "PostgreSQL" and not args.reuse:
            # What autovacuum does within a minute of such a load (inserts trigger it since
            # PostgreSQL 13); without statistics the planner would guess, without the
            # visibility map no scan would be index-only.
            started = time.perf_counter()
            await conn.execute_script("VACUUM ANALYZE offer")
            print(f"VACUUM ANALYZE offer: {time.perf_counter() - started:.1f} s")
        # SQLite: no ANALYZE, as coopub never runs it (no sqlite_stat1 in production).
        every, _ = await run_searches(engine, args.queries, now)
        print(
            f"\nsearch p50={percentile(every, 50):.1f} ms p95={percentile(every, 95):.1f} ms"
            f" ({args.offers} offers, {engine})"
        )
    finally:
        await close_db()
        if args.keep:
            print(f"kept: {url}")
        elif pg_name:
            await drop_pg(args.database_url, pg_name)
        elif tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
            if args.database_name:
                _remove_sqlite(_new_sqlite(name, check=False))


if __name__ == "__main__":
    asyncio.run(main())
