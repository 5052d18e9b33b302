"""The spatial and text indexes of search (migration 0015, ``search_index.py``): they follow
every change of an offer, and a search through them finds exactly what a plain scan finds."""

from __future__ import annotations

import asyncio
import math
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise import connections
from tortoise.expressions import Q

from federation.services import search_index, search_walk
from federation.services.search import (
    SearchParams,
    area_of,
    narrowed,
    parse_search,
    search_offers,
)
from federation.services.search_index import Box, near_ids, regular_rides, text_ids
from federation.services.search_walk import WALK, planned
from models.offers import Offer, OfferKind, OfferStatus, Purpose
from tests.rig.database import fresh_database_url, is_postgres
from tests.skips import POSTGRES_CHECK

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CITIES = [("Lyon", 45.764, 4.8357), ("Grenoble", 45.1885, 5.7245), ("Brest", 48.3904, -4.4861)]
WORDS = ["vélo", "Bagages", "jardin", "colis", "gare", "100%", "a_b", "ÉTÉ", "l'été"]


def _offer(rng: random.Random, n: int) -> Offer:
    name, lat, lon = rng.choice(CITIES)
    spread = rng.choice([0.02, 0.3, 2.0])
    kind = rng.choice(list(OfferKind))
    starts = NOW + timedelta(hours=rng.randint(-500, 2000))
    dest = rng.choice(CITIES) if kind == OfferKind.RIDE else None
    return Offer(
        ap_id=f"https://x.example/offers/{n}",
        author_uri="https://x.example/users/a",
        instance_domain=rng.choice(["x.example", "y.example"]),
        kind=kind,
        purpose=rng.choice(list(Purpose)),
        status=rng.choice([OfferStatus.OPEN] * 4 + list(OfferStatus)),
        title=f"{kind.value} {name} {rng.choice(WORDS)}",
        description=" ".join(rng.choices(WORDS, k=rng.randint(0, 5))),
        place_name=name,
        latitude=None if rng.random() < 0.05 else round(lat + rng.gauss(0, spread), 4),
        longitude=round(lon + rng.gauss(0, spread), 4),
        dest_name=dest[0] if dest else "",
        dest_latitude=dest[1] + rng.gauss(0, 0.05) if dest else None,
        dest_longitude=dest[2] + rng.gauss(0, 0.05) if dest else None,
        starts_at=starts,
        ends_at=starts + timedelta(hours=rng.randint(1, 200)) if rng.random() < 0.6 else None,
        quantity_total=4,
        quantity_available=rng.randint(0, 4),
        published_at=NOW,
        updated_at=NOW,
        expires_at=starts + timedelta(days=1),
    )


async def _fill(count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    await Offer.bulk_create([_offer(rng, n) for n in range(count)])


async def _plain(params: SearchParams) -> list[int]:
    """What the search means, read the slow way: the whole filter, every row, in order."""
    query, keeps = narrowed(Offer.all(), params)
    area = await area_of(params)
    if area is not None:
        query = query.filter(area.box())
        keeps.append(area.contains)
    rows = await query.order_by("starts_at", "id")
    kept = [o.id for o in rows if all(keep(o) for keep in keeps)]
    return kept[params.offset : params.offset + params.limit]


def _random_query(rng: random.Random) -> dict[str, str]:
    query: dict[str, str] = {}
    if rng.random() < 0.6:
        _, lat, lon = rng.choice(CITIES)
        query.update(lat=str(lat + rng.gauss(0, 0.3)), lon=str(lon + rng.gauss(0, 0.3)))
        query["radius_km"] = str(rng.choice([2, 10, 25, 80]))
    if rng.random() < 0.4:
        query["q"] = rng.choice([*WORDS, "ga", "lyon", "ET", "zzz"])
    if rng.random() < 0.3:
        query["kind"] = rng.choice(list(OfferKind)).value
    if rng.random() < 0.25:
        start = (NOW + timedelta(days=rng.randint(-10, 60))).date()
        query.update({"from": start.isoformat(), "to": (start + timedelta(days=9)).isoformat()})
    if rng.random() < 0.2:
        query["min_quantity"] = str(rng.randint(1, 4))
    if rng.random() < 0.2:
        query["include_closed"] = "1"
    query["limit"] = str(rng.choice([5, 20, 50]))
    if rng.random() < 0.3:
        query["offset"] = str(rng.randint(1, 60))
    return query


@pytest.mark.parametrize("cap", [30, 400, 100_000])
async def test_random_searches_find_what_a_plain_scan_finds(
    db: None, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    """Dense (index over the cap: the time order walked), sparse (the index's candidates) and
    every mix of filters give the same page as the plain query."""
    monkeypatch.setattr(search_index, "CAP", cap)
    if cap == 100_000:  # the index's candidates for every text, however common
        monkeypatch.setattr(search_index, "COMMON", 1.1)
    await _fill(1500)
    rng = random.Random(cap)
    for _ in range(40):
        params = parse_search(_random_query(rng))
        expected = await _plain(params)
        found = await search_offers(params)
        assert [o.id for o in found] == expected, params
        few = await search_offers(params, columns=["title"])
        assert [(o.id, o.title) for o in few] == [(o.id, o.title) for o in found]


async def test_indexes_follow_inserts_moves_edits_and_deletes(db: None) -> None:
    offer = _offer(random.Random(1), 1)
    offer.latitude, offer.longitude, offer.title = 45.764, 4.8357, "Vélo cargo"
    offer.dest_latitude = offer.dest_longitude = None
    await offer.save()
    lyon = Box(45.7, 45.8, 4.8, 4.9)
    grenoble = Box(45.15, 45.25, 5.7, 5.8)
    assert await near_ids(lyon) == {offer.id}
    assert offer.id in (await text_ids("vélo CARGO") or set())
    # moved (save and update), its destination set, then its title edited
    offer.latitude, offer.longitude = 45.19, 5.72
    await offer.save()
    assert await near_ids(lyon) == set()
    assert await near_ids(grenoble) == {offer.id}
    await Offer.filter(id=offer.id).update(dest_latitude=45.76, dest_longitude=4.84)
    assert await near_ids(lyon) == {offer.id}
    await Offer.filter(id=offer.id).update(title="Remorque")
    assert await text_ids("cargo") == set()
    assert await text_ids("REMORQ") == {offer.id}
    found = parse_search({"q": "remorque", "lat": "45.76", "lon": "4.84", "include_closed": "1"})
    assert [o.id for o in await search_offers(found)] == [offer.id]
    await offer.delete()
    assert await near_ids(grenoble) == set()
    assert await near_ids(lyon) == set()
    assert await text_ids("remorque") == set()


async def test_over_the_cap_the_index_answers_dense(db: None) -> None:
    await _fill(300)
    assert await near_ids(Box(-90, 90, -180, 180), cap=10) is None
    everywhere = await near_ids(Box(-90, 90, -180, 180), cap=10_000)
    located = await Offer.filter(Q(latitude__not_isnull=True) | Q(dest_latitude__isnull=False))
    assert everywhere == {o.id for o in located}
    assert await text_ids("a", cap=10_000) is None  # shorter than a trigram: walk
    assert await text_ids("jardin", cap=1) is None


async def test_a_common_text_is_walked_without_asking_the_index(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The latest offers are a sample: a text in many of them would fill the trigram index's
    cap, so the search walks the time order at once; a rare one is asked of the index."""
    await _fill(300)
    holding = {o.id for o in await Offer.filter(title__icontains="gare").only("id")}
    holding |= {o.id for o in await Offer.filter(description__icontains="gare").only("id")}
    assert 0 < len(holding) < 300
    assert not await search_index._common("gare")  # fewer than SAMPLE offers: ask the index
    assert await text_ids("gare") == holding
    monkeypatch.setattr(search_index, "SAMPLE", 100)
    assert await search_index._common("gare")  # held by many of the latest 100
    assert await text_ids("gare") is None
    assert not await search_index._common("remorque")  # held by none
    monkeypatch.setattr(search_index, "COMMON", 0.99)
    assert await text_ids("gare") == holding


@pytest.mark.skipif(not is_postgres(), reason=POSTGRES_CHECK)
async def test_the_place_indexes_answer_without_reading_the_table(db: None) -> None:
    """Migration 0016: the GiST indexes hold the id and the coordinates, so the nearness scan
    of ``near_ids`` is index-only (once VACUUM has marked the pages all-visible)."""
    await _fill(300)
    conn = connections.get("default")
    await conn.execute_script("VACUUM ANALYZE offer")
    plan = ""
    async with planned("enable_seqscan = off", "enable_bitmapscan = off") as tx:
        for sql in search_index.NEAR_POSTGRES:
            _, rows = await tx.execute_query(
                f"EXPLAIN {sql}", [4.7, 45.7, 4.9, 45.8, 4.8, 45.75, 11]
            )
            plan += "\n".join(row["QUERY PLAN"] for row in rows)
    assert "Index Only Scan using offer_place_gist" in plan, plan
    assert "Index Only Scan using offer_dest_gist" in plan, plan


def _box_of(lat: float, lon: float, km: float) -> Box:
    dlat, dlon = km / 111, km / (111 * math.cos(math.radians(lat)))
    return Box(lat - dlat, lat + dlat, lon - dlon, lon + dlon)


BACKFILL = """
import asyncio, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from models.db import tortoise_config
from federation.services.search_index import Box, near_ids, text_ids

async def main(url):
    await migrate(config=tortoise_config(url), target="models.0014_activity_object_index")
    await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    conn = connections.get("default")
    now = "2026-01-01 00:00:00+00:00"
    await conn.execute_query(
        "INSERT INTO offer (ap_id, author_uri, author_name, instance_domain, kind, purpose,"
        " status, title, description, language, place_name, latitude, longitude, dest_name,"
        " dest_latitude, dest_longitude, starts_at, timezone, currency, details, private,"
        " published_at, updated_at, expires_at) VALUES ('https://x.example/o/1',"
        " 'https://x.example/u/a', '', 'x.example', 'ride', 'offer', 'open', 'Covoiturage',"
        " 'Vélo accepté', 'fr', 'Lyon', 45.76, 4.83, 'Brest', 48.39, -4.48, '" + now + "',"
        " 'UTC', 'EUR', '{}', '{}', '" + now + "', '" + now + "', '" + now + "')")
    await Tortoise.close_connections()
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    print(sorted(await near_ids(Box(45.7, 45.8, 4.8, 4.9)) or []),
          sorted(await near_ids(Box(48.3, 48.4, -4.5, -4.4)) or []),
          sorted(await text_ids("VÉLO") or []))
    await Tortoise.close_connections()

asyncio.run(main(sys.argv[1]))
"""


async def test_the_migration_indexes_offers_already_stored() -> None:
    url = await fresh_database_url("searchidx")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BACKFILL,
        url,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert out.decode().split() == ["[1]", "[1]", "[1]"]


SCHEDULES: list[object] = [
    {"weekdays": ["mon", "thu"], "time": "07:30"},
    {"weekdays": ["sat"], "time": "18:00", "until": "2026-07-20"},
    {"weekdays": [], "time": "07:30"},  # unreadable: not a regular ride
    None,
    "every day",
    [1, 2],
]


def _ride(rng: random.Random, n: int) -> Offer:
    """A ride, regular or not, that may have ended long before its expiry."""
    offer = _offer(rng, n)
    offer.kind, offer.title = OfferKind.RIDE, f"ride {offer.place_name}"
    offer.ends_at = offer.starts_at + timedelta(hours=2) if rng.random() < 0.5 else None
    if rng.random() < 0.6:
        offer.details = {"schedule": rng.choice(SCHEDULES)}
        offer.expires_at = offer.starts_at + timedelta(days=rng.choice([1, 30, 91]))
    elif rng.random() < 0.5:
        offer.details = {"seats": 3}
    return offer


async def test_the_regular_rides_still_running(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """``regular_rides``: among rides with a schedule (readable or not), those expiring at or
    after the date, their first start and (up to ``REGULAR_BY_ID``) their ids; rides without
    one, and other kinds, are bounded by their span. A ``"schedule": null`` counts on
    PostgreSQL (JSON ``null`` is a value there), not on SQLite: either way a bound no later
    than the regular rides' first start, and every regular ride named."""
    rng = random.Random(3)
    rides = [_ride(rng, 20_000 + n) for n in range(200)]
    await Offer.bulk_create(rides)
    stored = {o.ap_id: o.id for o in await Offer.all().only("id", "ap_id")}
    for moment in (NOW - timedelta(days=20), NOW, NOW + timedelta(days=40)):
        running = [r for r in rides if r.expires_at >= moment and "schedule" in r.details]
        regular = [r for r in running if r.details["schedule"] is not None]
        found = await regular_rides(moment)
        assert found.first_start is not None and regular
        assert min(r.starts_at for r in running) <= found.first_start
        assert found.first_start <= min(r.starts_at for r in regular)
        assert found.ids is not None
        assert {stored[r.ap_id] for r in regular} <= set(found.ids)
        assert set(found.ids) <= {stored[r.ap_id] for r in running}
    assert await regular_rides(NOW + timedelta(days=400)) == search_index.RegularRides(None, [])
    monkeypatch.setattr(search_index, "REGULAR_BY_ID", 3)
    many = await regular_rides(NOW - timedelta(days=20))
    assert many.ids is None and many.first_start is not None  # too many to name


@pytest.mark.parametrize(("cap", "by_id"), [(30, 200), (100_000, 200), (30, 2)])
async def test_rides_by_dates_as_a_plain_scan(
    db: None, monkeypatch: pytest.MonkeyPatch, cap: int, by_id: int
) -> None:
    """Rides that ended before the dates but expire after them are left out by the query
    unless they have a schedule (``without_past_rides``: by id, or by ``details`` when they
    are too many to name): the page stays the plain one, with regular rides (readable
    schedules or not) among them."""
    monkeypatch.setattr(search_index, "CAP", cap)
    monkeypatch.setattr(search_index, "REGULAR_BY_ID", by_id)
    rng = random.Random(cap + 1)
    await Offer.bulk_create([_ride(rng, 10_000 + n) for n in range(700)])
    await _fill(300, seed=11)
    for _ in range(30):
        query = _random_query(rng)
        start = (NOW + timedelta(days=rng.randint(-25, 60))).date()
        query.update({"from": start.isoformat(), "to": (start + timedelta(days=6)).isoformat()})
        if rng.random() < 0.5:
            query["kind"] = "ride"
        if rng.random() < 0.3:
            del query["to"]
        params = parse_search(query)
        assert [o.id for o in await search_offers(params)] == await _plain(params), params


@pytest.mark.parametrize("kind", ["ride", None])
async def test_a_dense_walk_reads_the_index_alone(
    db: None, monkeypatch: pytest.MonkeyPatch, kind: str | None
) -> None:
    """Migrations 0018 (PostgreSQL) and 0019 (SQLite): rides (or offers of any kind) by dates
    and seats in a dense area walk an index of the time order without reading the table (its
    filter reads only what the index holds) and without sorting, then read the rows kept for
    their details; the page is the plain one. Without a kind, SQLite walks the statuses'
    index: the kinds' index, named because a search by dates names rides in its filter, was
    read whole and sorted (seconds at a million offers)."""
    monkeypatch.setattr(search_index, "CAP", 30)
    await Offer.bulk_create([_ride(random.Random(5), 30_000 + n) for n in range(200)])
    await _fill(300)
    if is_postgres():
        await connections.get("default").execute_script("VACUUM ANALYZE offer")
    walked: list[tuple[str, list[Any]]] = []
    page = search_walk.Walked.page

    def spied(self: Any, where: Any, size: int, ids: Any = None) -> tuple[str, list[Any]]:
        sql, values = page(self, where, size, ids)
        if ids is None:
            walked.append((sql, values))
        return sql, values

    monkeypatch.setattr(search_walk.Walked, "page", spied)
    day = (NOW + timedelta(days=2)).date()
    query = {"lat": "45.76", "lon": "4.84", "radius_km": "80"} | ({"kind": kind} if kind else {})
    query.update({"from": day.isoformat(), "to": (day + timedelta(days=30)).isoformat()})
    params = parse_search({**query, "min_seats": "1", "limit": "5"})
    found = [o.id for o in await search_offers(params)]
    assert found and found == await _plain(params)
    assert walked
    if not is_postgres():  # no statistics: the plan SQLite makes of the statement as it is
        for sql, values in walked:
            _, rows = await connections.get("default").execute_query(
                f"EXPLAIN QUERY PLAN {sql}", values
            )
            plan = "\n".join(str(row["detail"]) for row in rows)
            index = "idx_offer_kind_" if kind else "idx_offer_status_"
            assert f"USING COVERING INDEX {index}" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
        return
    async with planned(*WALK, "enable_seqscan = off", "enable_bitmapscan = off") as tx:
        for sql, values in walked:
            _, rows = await tx.execute_query(f"EXPLAIN {sql}", values)
            plan = "\n".join(row["QUERY PLAN"] for row in rows)
            assert "Index Only Scan using idx_offer_" in plan, plan
            assert "Sort" not in plan, plan
