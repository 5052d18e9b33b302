"""A report forwarded between two real instances: a member of A reports an offer of B's member
and asks to forward it; B receives a ``Flag`` from A's instance actor (the member is not named),
its admin reads it on ``/admin/reports`` and resolves it by removing the offer, which then
disappears from A too. Over real HTTP, signatures verified."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests import offer_samples as samples
from tests.rig.instances import Instance, Rig
from tests.rig.pages import csrf_of, logged_in
from tests.skips import E2E_ONCE, once_on_postgres

pytestmark = once_on_postgres(E2E_ONCE)  # tests/skips.py


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    root: Path = tmp_path_factory.mktemp("reports")
    rig = Rig([await Instance.create("a", root), await Instance.create("b", root)])
    yield rig
    await rig.stop()


async def test_a_forwarded_report_is_resolved_on_the_reported_server(rig: Rig) -> None:
    a, b = rig.instances
    await a.coop("velos")
    await a.member("alice", "velos")
    await b.coop("roues")
    bob = await b.member("bob", "roues")
    await b.member("carla", "roues")
    await b.ok("member", "admin", "carla")
    token = (await b.ok("token", "create", "bob")).strip()
    assert (await a.ok("follow", "alice", f"@bob@{b.domain}")).strip().endswith("accepted")
    async with httpx.AsyncClient(base_url=b.base_url) as client:
        r = await client.post(
            "/api/v1/offers",
            json=samples.ride(title="Trajet trop beau pour être vrai"),
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 201, r.text
    offer = r.json()["ap_id"]
    await rig.drain()
    assert await a.query(f"SELECT COUNT(*) FROM offer WHERE ap_id = '{offer}'") == [(1,)]

    # alice, on A, reports it and asks for a copy to go to B
    async with logged_in(a, "alice") as web:
        form = await web.get("/report", params={"offer": offer})
        assert form.status_code == 200, form.text
        assert f"moderators of {b.domain}" in form.text
        data = {
            "csrf_token": csrf_of(form.text),
            "offer": offer,
            "comment": "Paiement demandé hors plateforme",
            "forward": "on",
        }
        r = await web.post("/report", data=data)
        assert r.status_code == 303, r.text
    await rig.drain()
    assert await a.query("SELECT forward, forwarded_at IS NOT NULL FROM report") == [(True, True)]
    [(state, status)] = await a.query(
        "SELECT d.state, d.last_status FROM delivery d JOIN activity t ON t.id = d.activity_id"
        " WHERE t.type = 'Flag'"
    )
    assert state == "delivered" and status == 202

    # B holds it, from A's instance actor, without alice's name
    [(origin, reporter, target, objects, comment)] = await b.query(
        "SELECT origin_uri, reporter_id, target_uri, object_uris, comment FROM report"
    )
    assert origin == f"{a.base_url}/actor" and reporter is None and target == bob
    assert (json.loads(objects) if isinstance(objects, str) else objects) == [offer]
    assert comment == "Paiement demandé hors plateforme"
    [(payload,)] = await b.query("SELECT payload FROM inbox_item WHERE type = 'Flag'")
    assert "alice" not in str(payload)
    [(report_id,)] = await b.query("SELECT id FROM report")
    listed = await b.ok("report", "list")
    assert listed.startswith(f"{report_id}\topen\t") and f"\t{a.domain}\t{bob}\t1\t" in listed
    shown = await b.ok("report", "show", str(report_id))
    assert f"offer: {offer} Trajet trop beau" in shown and "Paiement demandé" in shown

    async with logged_in(b, "carla") as web:
        listing = await web.get("/admin/reports")
        assert f"Reported by the server {a.domain}" in listing.text
        assert "Trajet trop beau pour être vrai" in listing.text
        assert "Paiement demandé hors plateforme" in listing.text
        assert "alice" not in listing.text
        page = await web.get(f"/admin/reports/{report_id}")
        data = {
            "csrf_token": csrf_of(page.text),
            "action": f"remove:{offer}",
            "reason": "Arnaque signalée",
        }
        r = await web.post(f"/admin/reports/{report_id}", data=data)
        assert r.status_code == 303 and r.headers["location"] == "/admin/reports"
    assert await b.query("SELECT state FROM report") == [("resolved",)]
    assert (await b.ok("report", "list")).strip() == ""
    resolved = await b.ok("report", "show", str(report_id))
    assert f"report {report_id}: resolved" in resolved and "by carla" in resolved
    assert f"gone: {offer}" in resolved
    assert await b.query(
        f"SELECT kind, object_uri FROM moderation_action WHERE report_id = {report_id}"
    ) == [("remove_offer", offer)]
    assert await b.query(f"SELECT COUNT(*) FROM offer WHERE ap_id = '{offer}'") == [(0,)]
    await rig.drain()
    assert await a.query(f"SELECT COUNT(*) FROM offer WHERE ap_id = '{offer}'") == [(0,)]
