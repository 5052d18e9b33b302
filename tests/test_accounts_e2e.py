"""`coopub member delete` between two real instances: the other server forgets the member."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from federation.services.bookings_account_end import ACCOUNT_DELETED
from tests import offer_samples as samples
from tests.rig import booking_api as api
from tests.rig.instances import Instance, Rig
from tests.rig.pages import PASSWORD, csrf_of, logged_in
from tests.skips import E2E_ONCE, once_on_postgres

pytestmark = once_on_postgres(E2E_ONCE)  # tests/skips.py


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    root: Path = tmp_path_factory.mktemp("accounts")
    rig = Rig([await Instance.create("a", root), await Instance.create("b", root)])
    yield rig
    await rig.stop()


async def test_deleted_member_is_forgotten_by_its_followers_server(rig: Rig) -> None:
    a, b = rig.instances
    await a.coop("velos")
    alice = await a.member("alice", "velos")
    await b.coop("roues")
    await b.member("bob", "roues")
    token = (await a.ok("token", "create", "alice")).strip()
    assert (await b.ok("follow", "bob", f"@alice@{a.domain}")).strip().endswith("accepted")
    async with httpx.AsyncClient(base_url=a.base_url) as client:
        r = await client.post(
            "/api/v1/offers", json=samples.ride(), headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 201, r.text
    await rig.drain()
    assert await b.query(f"SELECT COUNT(*) FROM remote_actor WHERE ap_id = '{alice}'") == [(1,)]
    assert await b.query(f"SELECT COUNT(*) FROM offer WHERE author_uri = '{alice}'") == [(1,)]

    out = await a.ok("member", "delete", "alice", "--yes")
    # 1 of 1 when the command sent it; 0 when the running server's worker took the row first
    # (claimed rows are never sent twice): all are delivered below either way
    told = re.fullmatch(
        rf"deleted {alice}; Delete delivered to ([01]) of 1 server\(s\)", out.strip()
    )
    assert told, out
    await rig.drain()

    assert await b.query(f"SELECT COUNT(*) FROM offer WHERE author_uri = '{alice}'") == [(0,)]
    assert await b.query(f"SELECT COUNT(*) FROM remote_actor WHERE ap_id = '{alice}'") == [(0,)]
    assert await b.query(f"SELECT COUNT(*) FROM follow WHERE target_uri = '{alice}'") == [(0,)]
    states = await a.query("SELECT state, COUNT(*) FROM delivery GROUP BY state")
    assert dict(states) == {"delivered": dict(states).get("delivered")}, states
    async with httpx.AsyncClient() as client:
        r = await client.get(alice, headers={"Accept": "application/activity+json"})
    assert r.status_code == 410 and r.json()["type"] == "Tombstone"


async def test_a_member_deleting_their_account_ends_their_bookings_on_the_other_instance(
    rig: Rig,
) -> None:
    """Anna on A deletes her account from the settings page while Bert on B has a booking of
    her ride (accepted) and she has asked for his (waiting): on B both end, cancelled with the
    reason, and Bert is told; her offers and her actor are gone from B; her URL answers 410."""
    a, b = rig.instances
    anna = (await api.members(a, "autos", "anna"))["anna"]
    bert = (await api.members(b, "camions", "bert"))["bert"]
    annas_ride = await api.ok(a, "POST", "/api/v1/offers", anna.token, samples.ride())
    berts_ride = await api.ok(b, "POST", "/api/v1/offers", bert.token, samples.ride())
    booked = await api.ok(b, "POST", "/api/v1/bookings", bert.token, {"offer": annas_ride["ap_id"]})
    await rig.drain()
    on_a = await api.request_by(a, anna.token, annas_ride["ap_id"], bert.id)
    await api.act(a, anna.token, on_a["id"], "accept")
    await api.ok(a, "POST", "/api/v1/bookings", anna.token, {"offer": berts_ride["ap_id"]})
    await rig.drain()
    assert (await api.booking(b, bert.token, booked["id"]))["state"] == "accepted"
    asked_on_b = await api.request_by(b, bert.token, berts_ride["ap_id"], anna.id)
    assert asked_on_b["state"] == "requested"
    assert (await api.offer(b, bert.token, annas_ride["ap_id"]))["quantity_available"] == 2
    assert (await api.ok(b, "GET", f"/api/v1/offers/{berts_ride['id']}", bert.token))[
        "quantity_available"
    ] == 3

    async with logged_in(a, "anna") as http:
        page = await http.get("/settings/delete")
        assert page.status_code == 200 and "bookings in progress are cancelled" in page.text
        form = {"csrf_token": csrf_of(page.text), "username": "anna", "password": PASSWORD}
        r = await http.post("/settings/delete", data=form)
        assert r.status_code == 200 and 'id="account-deleted"' in r.text
        assert (await http.get("/settings")).status_code == 303  # logged out
    await rig.drain()

    ended = await api.booking(b, bert.token, booked["id"])
    assert (ended["state"], ended["reason"]) == ("cancelled", ACCOUNT_DELETED)
    withdrawn = await api.ok(b, "GET", f"/api/v1/bookings/{asked_on_b['id']}", bert.token)
    assert (withdrawn["state"], withdrawn["reason"]) == ("cancelled", ACCOUNT_DELETED)
    told = await b.query(
        "SELECT n.event, n.text FROM notification n JOIN local_actor m ON m.id = n.recipient_id"
        " WHERE m.username = 'bert' AND n.kind = 'booking' AND n.event = 'cancelled'"
        " ORDER BY n.id"
    )
    assert [event for event, _ in told] == ["cancelled", "cancelled"]
    assert all(text.endswith(ACCOUNT_DELETED) for _, text in told)
    # her offers and her actor are gone from B; his seats are back
    assert await b.query(f"SELECT COUNT(*) FROM offer WHERE author_uri = '{anna.id}'") == [(0,)]
    assert await b.query(f"SELECT COUNT(*) FROM remote_actor WHERE ap_id = '{anna.id}'") == [(0,)]
    mine = await api.ok(b, "GET", f"/api/v1/offers/{berts_ride['id']}", bert.token)
    assert mine["quantity_available"] == 3
    # every notice was delivered (none refused for a signer already gone)
    states = await a.query(
        "SELECT d.state, a.type FROM delivery d JOIN activity a ON a.id = d.activity_id"
        " WHERE a.actor_id = (SELECT id FROM local_actor WHERE username = 'anna')"
        " AND a.type IN ('Undo', 'Reject', 'Delete')"
    )
    assert sorted(states) == [
        ("delivered", "Delete"),  # her ride
        ("delivered", "Delete"),  # her actor
        ("delivered", "Reject"),
        ("delivered", "Undo"),
    ], states
    async with httpx.AsyncClient() as client:
        r = await client.get(anna.id, headers={"Accept": "application/activity+json"})
        assert r.status_code == 410 and r.json()["type"] == "Tombstone"
        r = await client.get(annas_ride["ap_id"], headers={"Accept": "application/activity+json"})
        assert r.status_code == 410
