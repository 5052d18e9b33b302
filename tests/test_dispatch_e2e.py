"""The dispatch board across two real instances: coop Velos on A posts jobs; coop Roues on B
follows it and sees them on its board; Bob, a courier of Roues, claims one (Carol too); A's
board shows the claims; Alice, the job's author, assigns it to Bob from her board's page; both
boards show who holds it; Bob reports picked up, then delivered; both boards follow. No board,
on either side, ever shows an exact address: only Bob receives them, in the acceptance."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.rig.instances import Instance, Rig
from tests.test_dispatch import ADDRESSES, GUILLOTIERE, LYON, job
from tests.test_web import HTML, csrf_of, log_in

CONTACT = "06 11 22 33 44"


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    root: Path = tmp_path_factory.mktemp("dispatch")
    rig = Rig([await Instance.create("a", root), await Instance.create("b", root)])
    yield rig
    await rig.stop()


async def _ok(instance: Instance, method: str, path: str, token: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=instance.base_url) as client:
        r = await client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text}"
    for text in ADDRESSES if path.startswith("/api/v1/dispatch") else ():
        assert text not in r.text
    return r.json()


async def _board(instance: Instance, token: str, query: str = "") -> dict[str, dict[str, Any]]:
    """The board's jobs by title, in the board's order."""
    board = await _ok(instance, "GET", f"/api/v1/dispatch{query}", token)
    return {j["title"]: j for j in board["items"]}


def _couriers(job: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["courier"]["id"].rsplit("/", 1)[1], c["state"]) for c in job["claims"]]


async def test_two_coops_dispatch_a_job_across_instances(rig: Rig) -> None:
    a, b = rig.instances
    await a.coop("velos")
    await a.member("alice", "velos")
    await b.coop("roues")
    await b.member("bob", "roues")
    await b.member("carol", "roues")
    alice = (await a.ok("token", "create", "alice")).strip()
    bob = (await b.ok("token", "create", "bob")).strip()
    carol = (await b.ok("token", "create", "carol")).strip()
    assert (await b.ok("follow", "roues", f"@velos@{a.domain}")).strip().endswith("accepted")
    await rig.drain()

    posted = {}
    for body in (
        job("Légumes", 2, 10, "cargo_bike"),
        job("Pain", 1, 9, "bike"),
        job("Canapé", 3, 8, "van", LYON, GUILLOTIERE),
    ):
        offer = await _ok(a, "POST", "/api/v1/offers", alice, body)
        posted[offer["title"]] = offer
    await rig.drain()

    # B's board: A's jobs, received, by time window; filtered by vehicle and by area
    seen = await _board(b, bob)
    assert list(seen) == ["Pain", "Légumes", "Canapé"]
    assert {(j["local"], j["instance"], j["status"]) for j in seen.values()} == {
        (False, a.domain, "open")
    }
    assert list(await _board(b, bob, "?vehicle=bike")) == ["Pain"]
    assert list(await _board(b, bob, "?lat=45.76&lon=4.84&radius_km=5")) == ["Canapé"]
    assert list(await _board(b, bob, "?place=Croix-Rousse&radius_km=5")) == ["Canapé"]
    async with httpx.AsyncClient(base_url=b.base_url) as client:
        r = await client.get(
            "/api/v1/dispatch?vehicle=boat", headers={"Authorization": f"Bearer {bob}"}
        )
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "not_a_choice"

    # two couriers of Roues claim the vegetables
    veg = posted["Légumes"]
    bobs = await _ok(
        b, "POST", "/api/v1/bookings", bob, {"offer": veg["ap_id"], "message": "Je prends"}
    )
    carols = await _ok(b, "POST", "/api/v1/bookings", carol, {"offer": veg["ap_id"]})
    await rig.drain()
    on_b = (await _board(b, bob))["Légumes"]
    assert on_b["status"] == "claimed"
    assert _couriers(on_b) == [("bob", "requested"), ("carol", "requested")]
    assert all(c["ours"] and not c["may_assign"] for c in on_b["claims"])
    on_a = (await _board(a, alice))["Légumes"]
    assert (on_a["status"], on_a["ours"], on_a["holder"]) == ("claimed", True, None)
    assert _couriers(on_a) == [("bob", "requested"), ("carol", "requested")]
    assert [c["courier"]["id"] for c in on_a["claims"]] == [
        f"{b.base_url}/u/bob",
        f"{b.base_url}/u/carol",
    ]
    assert all(c["may_assign"] and not c["ours"] for c in on_a["claims"])
    assert (await _board(a, alice))["Pain"]["status"] == "open"

    # Alice assigns the job to Bob from her board's page
    bob_on_a = on_a["claims"][0]["id"]
    async with httpx.AsyncClient(base_url=a.base_url, headers=HTML) as web:
        await log_in(web, "alice")
        page = await web.get("/coops/velos/dispatch")
        assert page.status_code == 200
        assert re.findall(r'name="claim" value="([^"]+)"', page.text) == [
            c["id"] for c in on_a["claims"]
        ]
        form = {"csrf_token": csrf_of(page.text), "claim": bob_on_a, "contact": CONTACT}
        r = await web.post("/coops/velos/dispatch/assign", data=form)
        assert r.status_code == 303, r.text
        page = await web.get(r.headers["location"])
        assert "The job is assigned to" in page.text and 'data-status="assigned"' in page.text
        assert not any(text in page.text for text in ADDRESSES)
    await rig.drain()

    # both boards show who holds it; only Bob received the addresses and the contact
    on_a = (await _board(a, alice))["Légumes"]
    assert on_a["status"] == "assigned"
    assert on_a["holder"]["courier"]["id"] == f"{b.base_url}/u/bob"
    assert _couriers(on_a) == [("bob", "accepted"), ("carol", "declined")]
    on_b = (await _board(b, bob))["Légumes"]
    assert (on_b["status"], on_b["offer_status"]) == ("assigned", "assigned")
    assert on_b["holder"]["courier"]["id"] == f"{b.base_url}/u/bob"
    assert on_b["holder"]["ours"] is True
    assert _couriers(on_b) == [("bob", "accepted"), ("carol", "declined")]
    assigned = await _ok(b, "GET", f"/api/v1/bookings/{bobs['id']}", bob)
    assert assigned["private"]["contact"] == CONTACT
    assert "12 rue Sully" in assigned["private"]["pickup_address"]
    assert (await _ok(b, "GET", f"/api/v1/bookings/{carols['id']}", carol))["private"] is None

    # Bob reports picked up, then delivered: both boards follow
    progress = f"/api/v1/bookings/{bobs['id']}/progress"
    await _ok(b, "POST", progress, bob, {"progress": "picked_up"})
    await rig.drain()
    for instance, token in ((a, alice), (b, bob)):
        held = (await _board(instance, token))["Légumes"]
        assert (held["status"], held["offer_status"]) == ("picked_up", "picked_up"), instance.name
        assert held["holder"]["progress"] == "picked_up"
    await _ok(b, "POST", progress, bob, {"progress": "delivered", "note": "Remis à l'accueil"})
    await rig.drain()
    for instance, token in ((a, alice), (b, bob)):
        done = (await _board(instance, token))["Légumes"]
        assert (done["status"], done["offer_status"]) == ("delivered", "delivered"), instance.name
        assert done["holder"]["progress"] == "delivered"
        assert done["holder"]["progress_note"] == "Remis à l'accueil"
    async with httpx.AsyncClient(base_url=b.base_url, headers=HTML) as web:
        await log_in(web, "bob")
        page = await web.get("/dispatch", follow_redirects=True)
        assert page.url.path == "/coops/roues/dispatch"
        assert 'data-status="delivered"' in page.text and "Remis à l&#39;accueil" in page.text
        assert not any(text in page.text for text in ADDRESSES)
