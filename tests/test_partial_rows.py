"""Models built from rows of some of their columns (``models/partial_rows.py``): the same objects
Tortoise builds from the same rows, on both databases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise import connections

from federation.services.search_walk import by_id
from models.offers import Offer, OfferKind, OfferStatus, Purpose
from models.partial_rows import partial_rows

NOW = datetime(2026, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)


async def _offers() -> None:
    await Offer.create(
        ap_id="https://x.example/offers/1",
        author_uri="https://x.example/users/a",
        instance_domain="x.example",
        kind=OfferKind.RIDE,
        purpose=Purpose.REQUEST,
        status=OfferStatus.FULL,
        title="Lyon → Grenoble, l'été",
        place_name="Lyon",
        latitude=45.764,
        longitude=4.8357,
        dest_latitude=None,
        starts_at=NOW,
        ends_at=None,
        expires_at=NOW + timedelta(days=3),
        quantity_total=4,
        quantity_available=0,
        details={"schedule": {"days": ["mon"], "time": "08:00"}, "seats": 4},
        document={"type": "Offer", "name": "Lyon → Grenoble"},
        published_at=NOW,
        updated_at=NOW,
    )
    await Offer.create(
        ap_id="https://x.example/offers/2",
        author_uri="https://x.example/users/b",
        instance_domain="x.example",
        kind=OfferKind.STAY,
        purpose=Purpose.OFFER,
        status=OfferStatus.OPEN,
        title="Une chambre",
        starts_at=NOW - timedelta(days=1),
        expires_at=NOW + timedelta(days=1),
        published_at=NOW,
        updated_at=NOW,
    )


def _state(offer: Offer) -> dict[str, Any]:
    return dict(offer.__dict__)


async def test_rows_of_some_columns_make_the_objects_tortoise_makes(db: None) -> None:
    """For random sets of columns (and every column), each object has the same attributes,
    values and types as ``Model._init_from_db`` gives: enums, aware moments, decoded JSON,
    None kept, partial unless every column is there; an annotation is left out as Tortoise
    leaves it out."""
    await _offers()
    conn = connections.get("default")
    names = sorted(Offer._meta.db_fields)
    rng = random.Random(3)
    choices = [names] + [rng.sample(names, rng.randint(1, len(names) - 1)) for _ in range(30)]
    for columns in choices:
        quoted = ", ".join(f'"{name}"' for name in columns)
        _, rows = await conn.execute_query(f'SELECT {quoted}, 1 AS extra FROM "offer" ORDER BY id')
        built = partial_rows(Offer, rows)
        expected = [Offer._init_from_db(**dict(row)) for row in rows]
        assert [_state(o) for o in built] == [_state(o) for o in expected], columns
        for mine, theirs in zip(built, expected, strict=True):
            assert {k: type(v) for k, v in _state(mine).items()} == {
                k: type(v) for k, v in _state(theirs).items()
            }
            assert mine._partial == (set(columns) != set(names))
    full = partial_rows(Offer, (await conn.execute_query('SELECT * FROM "offer" ORDER BY id'))[1])
    assert full[0].kind is OfferKind.RIDE and full[0].status is OfferStatus.FULL
    assert full[0].starts_at == NOW and full[0].details["schedule"]["days"] == ["mon"]
    assert full[1].latitude is None and full[1].purpose is Purpose.OFFER
    assert partial_rows(Offer, []) == []


async def test_by_id_reads_the_offers_named_with_their_columns(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``by_id`` reads the offers named (one missing is left out) with the columns asked and
    their id, or every column, as Tortoise reads them; its statement's text is the same
    whatever the number of ids (asyncpg prepares each new text: one more round trip)."""
    await _offers()
    ids = [offer.id for offer in await Offer.all().order_by("id")]
    some = await by_id([*ids, 10_000], ["kind", "details"])
    assert set(some) == set(ids)
    theirs = {o.id: o for o in await Offer.filter(id__in=ids).only("id", "kind", "details")}
    assert {i: _state(o) for i, o in some.items()} == {i: _state(o) for i, o in theirs.items()}
    every = await by_id(ids[:1])
    assert _state(every[ids[0]]) == _state(await Offer.get(id=ids[0]))
    assert not every[ids[0]]._partial
    sent: list[str] = []
    conn = connections.get("default")
    original = type(conn).execute_query

    async def recorded(self: Any, query: str, values: list[Any] | None = None) -> Any:
        sent.append(query)
        return await original(self, query, values)

    monkeypatch.setattr(type(conn), "execute_query", recorded)
    await by_id(ids[:1], ["kind"])
    await by_id([*ids, 7, 8, 9], ["kind"])
    assert len(sent) == 2 and sent[0] == sent[1]
