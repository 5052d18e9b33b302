"""A delivery job across two real instances, through the JSON API only.

Sam's shop on A posts a job (its pickup and dropoff street addresses stay on A); couriers on B
(Cora, Cody) and on A (Dan) claim it; Sam assigns Cora: the other claims are declined ("assigned
to someone else") and told; only Cora learns the addresses and the shop's contact. A second
assignment is refused; Cora's side reports picked up, then delivered, in that order only, and
nobody else may; both sides see the progress and who holds the job, and Fred (on B, following
Sam) receives each change of the job as an ``Update`` that says it, without the addresses.
Cancelling an assignment, from either side, gives the job back; a job can also fail, with a
note; a claim nobody answered expires on both sides. Every payload both instances sent is
checked: addresses, contact and instructions travel only to an assigned courier, alone.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from activitypub.offer_to_as import STATUS_TEXT
from tests import offer_samples as samples
from tests.rig import booking_api as api
from tests.rig.instances import Instance, Rig
from tests.rig.privacy import Secret, assert_private, loaded

PICKUP = "12 rue Sully, Nantes"
DROPOFF = "3 rue de la Convention, Nantes"
CONTACT = "02 40 11 22 33"
INSTRUCTIONS = "Sonner au 2e, code 4711B"
SOON = timedelta(seconds=10)
ELSEWHERE = "The job was assigned to someone else"
EXPIRED = "The request expired without an answer"


rig = api.rig
"""Instances A and B for this module's tests (tests/rig/booking_api.py)."""


async def _claim(instance: Instance, token: str, job: dict[str, Any], note: str = "") -> Any:
    return await api.ok(
        instance, "POST", "/api/v1/bookings", token, {"offer": job["ap_id"], "message": note}
    )


def _updates_of(received: list[Any], job_ap_id: str) -> list[dict[str, Any]]:
    """The ``Update``s of a job that reached B, in the order they arrived."""
    return [
        p
        for p in received
        if p.get("type") == "Update"
        and isinstance(p.get("object"), dict)
        and p["object"].get("id") == job_ap_id
    ]


async def test_a_delivery_job_across_instances(rig: Rig) -> None:
    a, b = rig.instances
    shop, couriers_a, couriers = await asyncio.gather(
        api.members(a, "cagette", "sam"),
        api.members(a, "velos", "dan"),
        api.members(b, "coursiers", "cora", "cody", "erin", "fred"),
    )
    assert (await b.ok("follow", "fred", f"@sam@{a.domain}")).strip().endswith("accepted")
    everyone = {**shop, **couriers_a, **couriers}
    ids = {name: m.id for name, m in everyone.items()}
    sam, dan, cora, cody, erin = (everyone[n].token for n in ("sam", "dan", "cora", "cody", "erin"))

    # A job starting in 10 s, claimed by Cody and left unanswered: checked at the end
    start = (datetime.now(UTC) + SOON).replace(microsecond=0)
    urgent = samples.delivery_job(
        title="Pain à livrer",
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(hours=2)).isoformat(),
    )
    for key in ("after", "before"):
        urgent["delivery"]["pickup"].pop(key)
    urgent_job = await api.ok(a, "POST", "/api/v1/offers", sam, urgent)
    urgent_claim = await _claim(b, cody, urgent_job)

    # The job: its street addresses are Sam's; B's copy has the places without them
    job = await api.ok(a, "POST", "/api/v1/offers", sam, samples.delivery_job())
    assert job["delivery"]["pickup"]["address"] == PICKUP
    await rig.drain()
    copy = await api.offer(b, cora, job["ap_id"])
    assert copy["local"] is False and copy["status"] == "open"
    assert (
        "address" not in copy["delivery"]["pickup"] and "address" not in copy["delivery"]["dropoff"]
    )
    public = await api.ok(a, "GET", f"/api/v1/offers/{job['id']}", dan)  # not its author
    assert "address" not in public["delivery"]["pickup"]

    # Three couriers claim it: Cora and Cody on B, Dan on A
    two = await api.refused(
        b, "POST", "/api/v1/bookings", cora, {"offer": job["ap_id"], "quantity": 2}
    )
    assert two == (422, "one_job")
    cora_claim = await _claim(b, cora, job, "Je peux passer à 10 h")
    cody_claim = await _claim(b, cody, job, "Dispo")
    dan_claim = await _claim(a, dan, job)
    assert await api.refused(b, "POST", "/api/v1/bookings", cora, {"offer": job["ap_id"]}) == (
        409,
        "already_booked",
    )
    await rig.drain()
    claims = await api.requests_on(a, sam, job["ap_id"])
    assert sorted(c["booker"]["id"] for c in claims) == sorted(
        [ids["cora"], ids["cody"], ids["dan"]]
    )
    assert {c["state"] for c in claims} == {"requested"}
    assert {c["courier"] for c in claims} == {"booker"}

    # Sam assigns Cora, with the shop's contact and instructions
    cora_on_a = await api.request_by(a, sam, job["ap_id"], ids["cora"])
    details = {"contact": CONTACT, "instructions": INSTRUCTIONS}
    await api.act(a, sam, cora_on_a["id"], "accept", {"details": details})
    await rig.drain()
    held = await api.booking(b, cora, cora_claim["id"])
    assert (held["state"], held["courier"], held["role"]) == ("accepted", "booker", "booker")
    assert held["author"]["id"] == ids["sam"]
    private = held["private"]
    assert PICKUP in private["pickup_address"] and DROPOFF in private["dropoff_address"]
    assert (private["contact"], private["instructions"]) == (CONTACT, INSTRUCTIONS)
    # ... the others are declined, told why, and learn nothing
    for instance, token, claim in ((b, cody, cody_claim), (a, dan, dan_claim)):
        other = await api.booking(instance, token, claim["id"])
        assert (other["state"], other["reason"], other["private"]) == ("declined", ELSEWHERE, None)
    assert (await api.offer(b, cody, job["ap_id"]))["status"] == "assigned"
    assert (await api.ok(a, "GET", f"/api/v1/offers/{job['id']}", sam))["status"] == "assigned"

    # A second assignment, or a new claim, is refused and nothing changes
    cody_on_a = await api.request_by(a, sam, job["ap_id"], ids["cody"])
    second = await api.refused(a, "POST", f"/api/v1/bookings/{cody_on_a['id']}/accept", sam)
    assert second == (409, "not_requested")
    assert await api.refused(b, "POST", "/api/v1/bookings", erin, {"offer": job["ap_id"]}) == (
        409,
        "already_assigned",
    )
    assert await api.refused(a, "POST", "/api/v1/bookings", dan, {"offer": job["ap_id"]}) == (
        409,
        "already_assigned",
    )
    assert (await api.booking(a, sam, cody_on_a["id"]))["state"] == "declined"

    # Progress: only the courier's side, picked up then delivered, never out of order
    def progress(step: str, note: str = "") -> dict[str, Any]:
        return {"progress": step, "note": note}

    cora_path = f"/api/v1/bookings/{cora_claim['id']}/progress"
    sam_path = f"/api/v1/bookings/{cora_on_a['id']}/progress"
    assert await api.refused(b, "POST", cora_path, cora, progress("delivered")) == (
        409,
        "progress_order",
    )
    assert await api.refused(a, "POST", sam_path, sam, progress("picked_up")) == (
        403,
        "not_courier",
    )
    cody_path = f"/api/v1/bookings/{cody_claim['id']}/progress"
    assert await api.refused(b, "POST", cody_path, cody, progress("picked_up")) == (
        409,
        "not_accepted",
    )
    cora_on_b_path = f"/api/v1/bookings/{cora_claim['id']}"
    assert (await api.call(b, "GET", cora_on_b_path, erin)).status_code == 404
    done_path = f"/api/v1/bookings/{cora_on_a['id']}/complete"
    assert await api.refused(a, "POST", done_path, sam, {"outcome": "done"}) == (
        409,
        "use_progress",
    )

    await api.ok(b, "POST", cora_path, cora, progress("picked_up", "Colis récupéré"))
    await rig.drain()
    on_a = await api.booking(a, sam, cora_on_a["id"])
    assert (on_a["state"], on_a["progress"], on_a["progress_note"]) == (
        "accepted",
        "picked_up",
        "Colis récupéré",
    )
    assert on_a["booker"]["id"] == ids["cora"]  # who holds the job
    assert (await api.offer(b, cody, job["ap_id"]))["status"] == "picked_up"
    assert await api.refused(b, "POST", cora_path, cora, progress("picked_up")) == (
        409,
        "progress_order",
    )
    cancel = f"/api/v1/bookings/{cora_on_a['id']}/cancel"
    assert await api.refused(a, "POST", cancel, sam, {"reason": "Trop tard"}) == (
        409,
        "picked_up",
    )

    # The conversation, both ways
    await api.act(b, cora, cora_claim["id"], "messages", {"content": "Je suis devant"})
    await rig.drain()
    await api.act(a, sam, cora_on_a["id"], "messages", {"content": "J’arrive"})
    await rig.drain()
    expected = [("Je suis devant", ids["cora"]), ("J’arrive", ids["sam"])]
    for instance, token, claim_id in ((a, sam, cora_on_a["id"]), (b, cora, cora_claim["id"])):
        said = (await api.booking(instance, token, claim_id))["messages"]
        assert [(m["content"], m["author"]) for m in said] == expected

    await api.ok(b, "POST", cora_path, cora, progress("delivered", "Remis en main propre"))
    await rig.drain()
    for instance, token, claim_id in ((a, sam, cora_on_a["id"]), (b, cora, cora_claim["id"])):
        seen = await api.booking(instance, token, claim_id)
        assert (seen["state"], seen["progress"], seen["progress_note"]) == (
            "done",
            "delivered",
            "Remis en main propre",
        )
    assert (await api.offer(b, cody, job["ap_id"]))["status"] == "delivered"
    assert await api.refused(b, "POST", cora_path, cora, progress("failed")) == (
        409,
        "not_accepted",
    )

    # Fred, who follows Sam, saw every change as an Update to Sam's followers that says it
    received = [loaded(p) for (p,) in await b.query("SELECT payload FROM inbox_item")]
    updates = _updates_of(received, job["ap_id"])
    first = updates[0]["object"]  # its language: the map's key for ``content`` (stored: any order)
    lang = next(k for k, text in first["contentMap"].items() if text == first["content"])
    said = [u["object"]["content"] for u in updates]
    for status in ("assigned", "picked_up", "delivered"):
        assert [c for c in said if STATUS_TEXT[lang][status] in c], status
    for update in updates:
        assert f"{a.base_url}/u/sam/followers" in update["cc"]
        assert PICKUP not in str(update) and DROPOFF not in str(update)

    # Cancelling an assignment gives the job back: by the courier (Cora), then by the shop
    crates = await api.ok(a, "POST", "/api/v1/offers", sam, samples.delivery_job(title="Cageots"))
    await rig.drain()
    cora_crates = await _claim(b, cora, crates)
    await rig.drain()
    cora_crates_a = await api.request_by(a, sam, crates["ap_id"], ids["cora"])
    await api.act(a, sam, cora_crates_a["id"], "accept", {"details": details})
    await rig.drain()
    await api.act(b, cora, cora_crates["id"], "cancel", {"reason": "Vélo crevé"})
    await rig.drain()
    gave_back = await api.booking(a, sam, cora_crates_a["id"])
    assert (gave_back["state"], gave_back["reason"]) == ("cancelled", "Vélo crevé")
    assert (await api.offer(b, cody, crates["ap_id"]))["status"] == "open"
    cody_crates = await _claim(b, cody, crates)
    await rig.drain()
    cody_crates_a = await api.request_by(a, sam, crates["ap_id"], ids["cody"])
    await api.act(a, sam, cody_crates_a["id"], "accept", {"details": details})
    await rig.drain()
    await api.act(a, sam, cody_crates_a["id"], "cancel", {"reason": "Commande annulée"})
    await rig.drain()
    told = await api.booking(b, cody, cody_crates["id"])
    assert (told["state"], told["reason"]) == ("cancelled", "Commande annulée")
    assert (await api.offer(b, erin, crates["ap_id"]))["status"] == "open"
    # ... then Erin takes it, picks it up, and the delivery fails, with a note
    erin_crates = await _claim(b, erin, crates)
    await rig.drain()
    erin_crates_a = await api.request_by(a, sam, crates["ap_id"], ids["erin"])
    await api.act(a, sam, erin_crates_a["id"], "accept", {"details": details})
    await rig.drain()
    await api.act(b, erin, erin_crates["id"], "progress", progress("picked_up"))
    await api.act(b, erin, erin_crates["id"], "progress", progress("failed", "Client absent"))
    await rig.drain()
    failed = await api.booking(a, sam, erin_crates_a["id"])
    assert (failed["state"], failed["progress"], failed["progress_note"]) == (
        "not_happened",
        "failed",
        "Client absent",
    )
    assert (await api.offer(b, erin, crates["ap_id"]))["status"] == "failed"

    # The urgent job: Cody's claim, never answered, expires on both sides, and B is told
    async def expired() -> Any:
        on_b = await api.booking(b, cody, urgent_claim["id"])
        on_a = await api.request_by(a, sam, urgent_job["ap_id"], ids["cody"])
        return on_b["state"] == on_a["state"] == "expired" and (on_a, on_b)

    on_a, on_b = await api.until(expired, "Cody's unanswered claim expires on both sides")
    assert on_a["reason"] == on_b["reason"] == EXPIRED
    await rig.drain()
    rejects = await a.query("SELECT payload FROM activity WHERE type = 'Reject'")
    assert (
        len([p for (p,) in rejects if EXPIRED in str(p) and urgent_claim["ap_id"] in str(p)]) == 1
    )

    # Every payload: addresses, contact and instructions only to an assigned courier, alone
    couriers = (ids["cora"], ids["cody"], ids["erin"])
    carried = await assert_private(
        rig.instances, [Secret.of(s, *couriers) for s in (PICKUP, DROPOFF, CONTACT, INSTRUCTIONS)]
    )
    assert {p.doc["type"] for p in carried} == {"Accept"}
    assert len([p for p in carried if p.way == "sent"]) == 4  # Cora twice, Cody, Erin
