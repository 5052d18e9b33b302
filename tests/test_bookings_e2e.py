"""Booking a ride across two real instances, through the JSON API only: Bob on B books 2 seats
of Alice's ride on A with a message; Alice accepts; Bob sees the meeting point and the contact
only then; the seats left drop on A and on B's copy; a message each way; cancellation with a
reason gives the seats back; after the date, completion on one side reaches the other, and an
unanswered request expires on both. Every payload both instances sent is checked: the contact
and the meeting point travel only in the acceptance, to Bob alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests import offer_samples as samples
from tests.rig import booking_api as api
from tests.rig.instances import Rig
from tests.rig.privacy import Secret, assert_private

CONTACT = "06 12 34 56 78"
MEETING = "Devant la gare Part-Dieu, sortie Vivier-Merle"
SOON = timedelta(seconds=15)
EXPIRED = "The request expired without an answer"


rig = api.rig
"""Instances A and B for this module's tests (tests/rig/booking_api.py)."""


async def test_a_ride_booked_across_instances(rig: Rig) -> None:
    a, b = rig.instances
    drivers, riders = await asyncio.gather(
        api.members(a, "velos", "alice"), api.members(b, "roues", "bob", "carol")
    )
    alice = drivers["alice"].token
    bob, carol = riders["bob"].token, riders["carol"].token
    bob_id, carol_id = riders["bob"].id, riders["carol"].id

    # A ride leaving in 15 s: Bob accepted, Carol never answered; checked at the end (the
    # rest of the test runs meanwhile)
    leaves = (datetime.now(UTC) + SOON).replace(microsecond=0)
    soon = samples.ride(title="Départ imminent", starts_at=leaves.isoformat())
    near = await api.ok(a, "POST", "/api/v1/offers", alice, soon)
    bobs = await api.ok(b, "POST", "/api/v1/bookings", bob, {"offer": near["ap_id"]})
    carols = await api.ok(b, "POST", "/api/v1/bookings", carol, {"offer": near["ap_id"]})
    await rig.drain()
    bob_on_a = await api.request_by(a, alice, near["ap_id"], bob_id)
    await api.act(a, alice, bob_on_a["id"], "accept")
    await rig.drain()
    early = await api.refused(
        b, "POST", f"/api/v1/bookings/{bobs['id']}/complete", bob, {"outcome": "done"}
    )
    assert early == (409, "too_early")

    ride = await api.ok(a, "POST", "/api/v1/offers", alice, samples.ride())
    # Bob on B books by the offer's id: B fetches it from A, then asks Alice alone
    ask = {"offer": ride["ap_id"], "quantity": 2, "message": "Deux places pour Grenoble ?"}
    booked = await api.ok(b, "POST", "/api/v1/bookings", bob, ask)
    assert (booked["state"], booked["private"]) == ("requested", None)
    await rig.drain()

    received = await api.request_by(a, alice, ride["ap_id"], bob_id)
    assert received["state"] == "requested"
    assert received["message"] == "Deux places pour Grenoble ?"
    assert received["booker"]["id"] == f"{b.base_url}/u/bob"
    assert received["quantity"] == 2
    assert (await api.booking(b, bob, booked["id"]))["private"] is None

    details = {"meeting_point": MEETING, "contact": CONTACT}
    await api.act(a, alice, received["id"], "accept", {"details": details})
    await rig.drain()
    seen = await api.booking(b, bob, booked["id"])
    assert seen["state"] == "accepted"
    assert seen["agreement_id"] == f"{a.base_url}/agreements/{received['id']}"
    assert (seen["private"]["meeting_point"], seen["private"]["contact"]) == (MEETING, CONTACT)
    mine = await api.ok(a, "GET", f"/api/v1/offers/{ride['id']}", alice)
    assert mine["quantity_available"] == 1
    assert (await api.offer(b, bob, ride["ap_id"]))["quantity_available"] == 1

    # a message each way, on the booking's conversation
    await api.act(b, bob, booked["id"], "messages", {"content": "Merci !"})
    await rig.drain()
    await api.act(a, alice, received["id"], "messages", {"content": "À jeudi"})
    await rig.drain()
    on_a = (await api.booking(a, alice, received["id"]))["messages"]
    on_b = (await api.booking(b, bob, booked["id"]))["messages"]
    assert [(m["content"], m["mine"]) for m in on_a] == [("Merci !", False), ("À jeudi", True)]
    assert [(m["content"], m["mine"]) for m in on_b] == [("Merci !", True), ("À jeudi", False)]

    # Bob cancels with a reason: the seats come back, on A and on B's copy
    await api.act(b, bob, booked["id"], "cancel", {"reason": "Grippé"})
    await rig.drain()
    cancelled = await api.booking(a, alice, received["id"])
    assert (cancelled["state"], cancelled["reason"]) == ("cancelled", "Grippé")
    mine = await api.ok(a, "GET", f"/api/v1/offers/{ride['id']}", alice)
    assert mine["quantity_available"] == 3
    assert (await api.offer(b, bob, ride["ap_id"]))["quantity_available"] == 3

    # After the departure, Bob says the ride took place (A learns it) and Carol's request
    # expires on both sides; A tells B
    async def said_done() -> Any:
        path = f"/api/v1/bookings/{bobs['id']}/complete"
        r = await api.call(b, "POST", path, bob, {"outcome": "done"})
        too_early = r.status_code == 409 and r.json()["errors"][0]["code"] == "too_early"
        return None if too_early else r

    done = await api.until(said_done, "Bob's ride can be said done once it left")
    assert done.status_code == 200 and done.json()["state"] == "done", done.text
    await rig.drain()
    assert (await api.booking(a, alice, bob_on_a["id"]))["state"] == "done"

    async def expired() -> Any:
        on_b = await api.booking(b, carol, carols["id"])
        on_a = await api.request_by(a, alice, near["ap_id"], carol_id)
        return on_b["state"] == on_a["state"] == "expired" and (on_a, on_b)

    on_a_, on_b_ = await api.until(expired, "Carol's unanswered request expires on both sides")
    assert on_a_["reason"] == on_b_["reason"] == EXPIRED
    await rig.drain()

    # the contact and the meeting point left A once: in the acceptance, addressed to Bob alone
    carried = await assert_private(
        rig.instances, [Secret.of(CONTACT, bob_id), Secret.of(MEETING, bob_id)]
    )
    sent = [p for p in carried if p.way == "sent"]
    assert [(p.instance, p.doc["type"], p.doc["to"]) for p in sent] == [("a", "Accept", [bob_id])]
    assert "cc" not in sent[0].doc
