"""Offers across two real instances: publish on A, receive, search, update, delete, expire on B.

Every payload A sends is inspected: a stay's exact address never leaves A.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import offer_samples as samples
from tests.rig.instances import Instance, Rig


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    root: Path = tmp_path_factory.mktemp("offers")
    rig = Rig([await Instance.create("a", root), await Instance.create("b", root)])
    yield rig
    await rig.stop()


async def _api(
    instance: Instance, method: str, path: str, token: str | None = None, body: Any = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=instance.base_url) as client:
        return await client.request(method, path, json=body, headers=headers)


async def _remote_offers(instance: Instance, query: str = "") -> list[dict[str, Any]]:
    r = await _api(instance, "GET", f"/api/v1/offers?limit=100{query}")
    assert r.status_code == 200, r.text
    return [o for o in r.json()["items"] if not o["local"]]


async def test_offers_travel_from_a_to_b(rig: Rig) -> None:
    a, b = rig.instances
    await a.coop("velos")
    await a.member("alice", "velos")
    await b.coop("roues")
    await b.member("bob", "roues")
    await b.member("carol", "roues")
    token = (await a.ok("token", "create", "alice")).strip()
    assert (await b.ok("follow", "bob", f"@alice@{a.domain}")).strip().endswith("accepted")
    assert (await b.ok("follow", "carol", f"@velos@{a.domain}")).strip().endswith("accepted")
    await rig.drain()

    created: dict[str, dict[str, Any]] = {}
    for build in (samples.ride, samples.delivery_job, samples.stay):
        r = await _api(a, "POST", "/api/v1/offers", token, build())
        assert r.status_code == 201, r.text
        created[build()["kind"]] = r.json()
    await rig.drain()

    received = {o["kind"]: o for o in await _remote_offers(b)}
    assert set(received) == {"ride", "delivery_job", "stay"}
    for kind, offer in received.items():
        assert offer["ap_id"] == created[kind]["ap_id"]
        assert offer["instance"] == a.domain
        assert offer["title"] == created[kind]["title"]
        assert offer["author"]["id"] == f"{a.base_url}/u/alice"
    assert received["ride"]["ride"]["seats_available"] == 3
    assert received["stay"]["stay"]["location"] == created["stay"]["stay"]["public_location"]

    # B's search finds each one by place and time
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    near_lyon = await _remote_offers(b, f"&lat=45.76&lon=4.83&radius_km=15&from={day}&to={day}")
    assert [o["kind"] for o in near_lyon] == ["ride"]
    by_name = await _remote_offers(b, "&place=Chantenay&radius_km=2&kind=delivery_job")
    assert [o["ap_id"] for o in by_name] == [created["delivery_job"]["ap_id"]]
    near_die = await _remote_offers(b, "&lat=44.75&lon=5.37&radius_km=5&min_guests=2")
    assert [o["kind"] for o in near_die] == ["stay"]

    # an update on A (seats and time) reaches B
    ride = samples.ride(starts_at=(datetime.now(UTC) + timedelta(days=4)).isoformat())
    ride["ride"]["seats_available"] = 1
    r = await _api(a, "PUT", f"/api/v1/offers/{created['ride']['id']}", token, ride)
    assert r.status_code == 200, r.text
    await rig.drain()
    updated = {o["kind"]: o for o in await _remote_offers(b)}["ride"]
    assert updated["ride"]["seats_available"] == 1
    assert updated["starts_at"][:10] == ride["starts_at"][:10]

    # a delete on A removes it from B
    r = await _api(a, "DELETE", f"/api/v1/offers/{created['delivery_job']['id']}", token)
    assert r.status_code == 204
    await rig.drain()
    assert {o["kind"] for o in await _remote_offers(b)} == {"ride", "stay"}

    # an offer that expires disappears from B by itself
    soon = (datetime.now(UTC) + timedelta(seconds=4)).isoformat()
    r = await _api(
        a, "POST", "/api/v1/offers", token, samples.ride(title="Bientôt parti", expires_at=soon)
    )
    assert r.status_code == 201, r.text
    await rig.drain()
    assert "Bientôt parti" in {o["title"] for o in await _remote_offers(b)}
    await asyncio.sleep(5)
    await rig.drain()
    assert "Bientôt parti" not in {o["title"] for o in await _remote_offers(b)}
    mine = (await _api(a, "GET", f"/api/v1/offers/{r.json()['id']}")).json()
    assert mine["status"] == "expired"

    # the coop announced its member's offers to its followers
    announces = await a.query("SELECT payload FROM activity WHERE type = 'Announce'")
    assert len(announces) >= 3
    assert all(
        json.loads(p)["actor"] == f"{a.base_url}/c/velos"
        if isinstance(p, str)
        else p["actor"] == f"{a.base_url}/c/velos"
        for (p,) in announces
    )

    # no payload A published, and no document A serves, ever holds the exact address
    payloads = [
        p if isinstance(p, str) else json.dumps(p)
        for (p,) in await a.query("SELECT payload FROM activity")
    ]
    assert len(payloads) >= 10
    assert not [p for p in payloads if samples.EXACT_ADDRESS in p]
    async with httpx.AsyncClient() as client:
        served = await client.get(
            created["stay"]["ap_id"], headers={"Accept": "application/activity+json"}
        )
        outbox = await client.get(
            f"{a.base_url}/u/alice/outbox?page=1", headers={"Accept": "application/activity+json"}
        )
    assert served.status_code == 200 and samples.EXACT_ADDRESS not in served.text
    assert outbox.status_code == 200 and samples.EXACT_ADDRESS not in outbox.text
    stored_on_b = await b.query("SELECT document FROM offer")
    assert not [d for (d,) in stored_on_b if samples.EXACT_ADDRESS in str(d)]


async def test_a_late_follower_is_backfilled(rig: Rig) -> None:
    """A new instance that follows alice gets her open offers from her outbox at once."""
    a, _ = rig.instances
    c = await Instance.create("c", a.directory.parent)
    try:
        await c.coop("trains")
        await c.member("erin", "trains")
        assert (await c.ok("follow", "erin", f"@alice@{a.domain}")).strip().endswith("accepted")
        await Rig([a, c]).drain()
        titles = {o["title"] for o in await _remote_offers(c)}
        # open ones only: the deleted delivery job and the expired ride stay away
        assert titles == {samples.ride()["title"], samples.stay()["title"]}
    finally:
        await c.stop()
