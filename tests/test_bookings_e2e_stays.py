"""Booking a stay across two real instances, through the JSON API only.

Hana on A offers a room with its exact address (only a fuzzed position is published). Travellers
on B ask for nights, guests and a message; B knows nothing of the address until Hana accepts,
and then only the guest she accepted. A night is never booked twice: overlapping nights are
refused by B (which knows its own guest's nights), by A when it decides, and by A for a request
B could not judge (the nights were taken by a guest on A), answered with a ``Reject``.
Cancellation with a reason frees the nights; after the date either side says whether it took
place; a request nobody answered expires on both sides; the conversation goes both ways. Every
payload both instances sent is checked: the address, the position and the contact travel only
to a confirmed guest, alone.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests import offer_samples as samples
from tests.rig import booking_api as api
from tests.rig.instances import Instance, Rig
from tests.rig.privacy import Secret, assert_private

CONTACT = "04 75 22 33 44"
EXACT_LATITUDE = "44.7537"
SOON_ADDRESS = "Mas des Lavandes, Saillans"
SOON = timedelta(seconds=15)
EXPIRED = "The request expired without an answer"


rig = api.rig
"""Instances A and B for this module's tests (tests/rig/booking_api.py)."""


def nights(arrive_day: int, leave_day: int, **extra: Any) -> dict[str, Any]:
    """Arrival at 15:00 on ``arrive_day``, departure at 10:00 on ``leave_day`` (days from now,
    inside the sample stay's window: day 5, 14:00 to day 12, 11:00)."""
    today = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return {
        "starts_at": (today.replace(hour=15) + timedelta(days=arrive_day)).isoformat(),
        "ends_at": (today.replace(hour=10) + timedelta(days=leave_day)).isoformat(),
        **extra,
    }


def soon_stay(title: str, starts_at: datetime) -> dict[str, Any]:
    """A room free from ``starts_at`` for three days, at another exact address."""
    stay = samples.stay(
        title=title,
        starts_at=starts_at.isoformat(),
        ends_at=(starts_at + timedelta(days=3)).isoformat(),
    )
    stay["stay"]["location"].update(address=SOON_ADDRESS, latitude=44.6955, longitude=5.1946)
    return stay


async def holds_text(instance: Instance, text: str) -> list[str]:
    """Where ``text`` is stored on ``instance``: offers, bookings, activities in and out."""
    tables = {
        "offer": "ap_id, COALESCE(CAST(details AS TEXT), '') || COALESCE(CAST(private AS TEXT), "
        "'') || COALESCE(CAST(document AS TEXT), '')",
        "booking": "ap_id, COALESCE(CAST(private AS TEXT), '')",
        "activity": "ap_id, CAST(payload AS TEXT)",
        "inbox_item": "activity_id, CAST(payload AS TEXT)",
    }
    found = []
    for table, columns in tables.items():
        for ident, stored in await instance.query(f"SELECT {columns} FROM {table}"):
            if text in str(stored):
                found.append(f"{table} {ident}")
    return found


async def test_a_stay_booked_across_instances(rig: Rig) -> None:
    a, b = rig.instances
    hosts, travellers = await asyncio.gather(
        api.members(a, "gites", "hana", "lea"),
        api.members(b, "routards", "tom", "ute", "vera", "wes"),
    )
    hana_id, lea_id = hosts["hana"].id, hosts["lea"].id
    hana, lea = hosts["hana"].token, hosts["lea"].token
    ids = {name: m.id for name, m in travellers.items()}
    tom, ute, vera, wes = (travellers[n].token for n in ("tom", "ute", "vera", "wes"))

    # Two rooms free in 15 s, for completion and expiry: asked for and decided now, checked
    # at the end (the rest of the test runs meanwhile)
    arrival = (datetime.now(UTC) + SOON).replace(microsecond=0)
    soon = {"starts_at": arrival.isoformat(), "ends_at": (arrival + timedelta(days=1)).isoformat()}
    first = await api.ok(a, "POST", "/api/v1/offers", hana, soon_stay("Ce soir", arrival))
    second = await api.ok(a, "POST", "/api/v1/offers", hana, soon_stay("Aussi", arrival))
    tom_soon = await api.ok(b, "POST", "/api/v1/bookings", tom, {"offer": first["ap_id"], **soon})
    ute_soon = await api.ok(b, "POST", "/api/v1/bookings", ute, {"offer": first["ap_id"], **soon})
    vera_soon = await api.ok(
        b, "POST", "/api/v1/bookings", vera, {"offer": second["ap_id"], **soon}
    )
    await rig.drain()
    tom_soon_a = await api.request_by(a, hana, first["ap_id"], ids["tom"])
    vera_soon_a = await api.request_by(a, hana, second["ap_id"], ids["vera"])
    await api.act(a, hana, tom_soon_a["id"], "accept")
    await api.act(a, hana, vera_soon_a["id"], "accept", {"details": {"contact": CONTACT}})
    await rig.drain()
    early = await api.refused(
        b, "POST", f"/api/v1/bookings/{tom_soon['id']}/complete", tom, {"outcome": "done"}
    )
    assert early == (409, "too_early")

    # The room: its exact address stays on A, a fuzzed position is published
    room = await api.ok(a, "POST", "/api/v1/offers", hana, samples.stay())
    assert room["stay"]["location"]["address"] == samples.EXACT_ADDRESS
    ask = {"offer": room["ap_id"], "quantity": 2, "message": "Deux nuits pour deux ?"}
    too_many = {**ask, "quantity": 3, **nights(6, 8)}
    assert await api.refused(b, "POST", "/api/v1/bookings", tom, too_many) == (
        422,
        "too_many_guests",
    )
    asked = await api.ok(b, "POST", "/api/v1/bookings", tom, {**ask, **nights(6, 8)})
    assert (asked["state"], asked["private"]) == ("requested", None)
    # Ute asks for nights overlapping Tom's before either is answered: both wait
    ute_asks = await api.ok(
        b, "POST", "/api/v1/bookings", ute, {"offer": room["ap_id"], **nights(7, 9)}
    )
    await rig.drain()

    on_a = await api.request_by(a, hana, room["ap_id"], ids["tom"])
    assert (on_a["state"], on_a["quantity"], on_a["message"]) == (
        "requested",
        2,
        "Deux nuits pour deux ?",
    )
    assert (on_a["starts_at"], on_a["ends_at"]) == (asked["starts_at"], asked["ends_at"])
    copy = await api.offer(b, tom, room["ap_id"])
    assert copy["local"] is False and "address" not in copy["stay"]["location"]
    assert str(copy["stay"]["location"]["latitude"]) != EXACT_LATITUDE
    assert await holds_text(b, samples.EXACT_ADDRESS) == []
    assert await holds_text(b, EXACT_LATITUDE) == []
    assert (await api.booking(b, tom, asked["id"]))["private"] is None

    # Hana accepts Tom: he sees the exact address, the position and her contact; only then
    await api.act(a, hana, on_a["id"], "accept", {"details": {"contact": CONTACT}})
    await rig.drain()
    seen = await api.booking(b, tom, asked["id"])
    assert seen["state"] == "accepted"
    assert seen["agreement_id"] == f"{a.base_url}/agreements/{on_a['id']}"
    assert seen["private"]["address"] == samples.EXACT_ADDRESS
    assert str(seen["private"]["latitude"]) == EXACT_LATITUDE
    assert seen["private"]["contact"] == CONTACT
    assert (await api.booking(b, ute, ute_asks["id"]))["private"] is None
    # on B: Tom's booking, and the acceptance as it arrived
    kept = await holds_text(b, samples.EXACT_ADDRESS)
    assert sorted(k.split()[0] for k in kept) == ["booking", "inbox_item"]
    assert f"booking {asked['ap_id']}" in kept

    # Overlapping nights: A refuses to accept Ute's request, and nothing changes
    ute_on_a = await api.request_by(a, hana, room["ap_id"], ids["ute"])
    path = f"/api/v1/bookings/{ute_on_a['id']}/accept"
    assert await api.refused(a, "POST", path, hana) == (409, "overlap")
    assert (await api.booking(a, hana, ute_on_a["id"]))["state"] == "requested"
    assert (await api.booking(a, hana, on_a["id"]))["state"] == "accepted"
    await api.act(a, hana, ute_on_a["id"], "decline", {"reason": "Déjà réservé"})
    await rig.drain()
    declined = await api.booking(b, ute, ute_asks["id"])
    assert (declined["state"], declined["reason"], declined["private"]) == (
        "declined",
        "Déjà réservé",
        None,
    )
    # ... B refuses Vera's overlapping nights before asking (it knows Tom's), nothing stored
    mine = (await api.ok(b, "GET", "/api/v1/bookings", vera))["count"]
    overlap = await api.refused(
        b, "POST", "/api/v1/bookings", vera, {"offer": room["ap_id"], **nights(7, 8)}
    )
    assert overlap == (409, "overlap")
    assert (await api.ok(b, "GET", "/api/v1/bookings", vera))["count"] == mine
    # ... the nights after Tom's are free (he leaves at 10:00, she arrives at 15:00)
    vera_asks = await api.ok(
        b, "POST", "/api/v1/bookings", vera, {"offer": room["ap_id"], **nights(8, 10)}
    )
    # ... and A refuses over the wire what B could not know: nights taken by Léa, on A
    lea_asks = await api.ok(
        a, "POST", "/api/v1/bookings", lea, {"offer": room["ap_id"], **nights(10, 11)}
    )
    await api.act(a, hana, lea_asks["id"], "accept")
    wes_asks = await api.ok(
        b, "POST", "/api/v1/bookings", wes, {"offer": room["ap_id"], **nights(10, 12)}
    )
    await rig.drain()
    vera_on_a = await api.request_by(a, hana, room["ap_id"], ids["vera"])
    await api.act(a, hana, vera_on_a["id"], "accept", {"details": {"contact": CONTACT}})
    await rig.drain()
    assert (await api.booking(b, vera, vera_asks["id"]))["private"]["address"] == (
        samples.EXACT_ADDRESS
    )
    refused = await api.booking(b, wes, wes_asks["id"])
    assert (refused["state"], refused["reason"]) == ("declined", "These nights are already booked")
    received = [r["booker"]["id"] for r in await api.requests_on(a, hana, room["ap_id"])]
    assert sorted(received) == sorted([ids["tom"], ids["ute"], ids["vera"], lea_id])
    # (Wes's request was refused: A stored nothing)

    # The conversation, both ways, on Vera's stay
    await api.act(b, vera, vera_asks["id"], "messages", {"content": "On arrive vers 16 h"})
    await rig.drain()
    await api.act(a, hana, vera_on_a["id"], "messages", {"content": "La clé est sous le pot"})
    await rig.drain()
    expected = [("On arrive vers 16 h", ids["vera"]), ("La clé est sous le pot", hana_id)]
    for instance, token, booking_id in ((a, hana, vera_on_a["id"]), (b, vera, vera_asks["id"])):
        said = (await api.booking(instance, token, booking_id))["messages"]
        assert [(m["content"], m["author"]) for m in said] == expected

    # Hana cancels Tom's stay with a reason: he is told, and his nights are free again
    await api.act(a, hana, on_a["id"], "cancel", {"reason": "Dégât des eaux"})
    await rig.drain()
    cancelled = await api.booking(b, tom, asked["id"])
    assert (cancelled["state"], cancelled["reason"]) == ("cancelled", "Dégât des eaux")
    assert cancelled["private"] is None
    again = await api.ok(
        b, "POST", "/api/v1/bookings", tom, {"offer": room["ap_id"], **nights(6, 8)}
    )
    await rig.drain()
    [tom_again] = [
        r
        for r in await api.requests_on(a, hana, room["ap_id"])
        if r["booker"]["id"] == ids["tom"] and r["state"] == "requested"
    ]
    await api.act(a, hana, tom_again["id"], "accept", {"details": {"contact": CONTACT}})
    await rig.drain()
    assert (await api.booking(b, tom, again["id"]))["state"] == "accepted"

    # After the date: Tom says his stay took place, Hana says Vera's did not; each side
    # learns it. Ute's request, never answered, expires on both sides, and B is told.
    async def said_done() -> Any:
        path = f"/api/v1/bookings/{tom_soon['id']}/complete"
        r = await api.call(b, "POST", path, tom, {"outcome": "done"})
        too_early = r.status_code == 409 and r.json()["errors"][0]["code"] == "too_early"
        return None if too_early else r

    done = await api.until(said_done, "Tom's stay can be said done once it began")
    assert done.status_code == 200 and done.json()["state"] == "done", done.text
    note = {"outcome": "not_happened", "note": "Personne n’est venu"}
    await api.act(a, hana, vera_soon_a["id"], "complete", note)
    await rig.drain()
    assert (await api.booking(a, hana, tom_soon_a["id"]))["state"] == "done"
    gone = await api.booking(b, vera, vera_soon["id"])
    assert (gone["state"], gone["reason"]) == ("not_happened", "Personne n’est venu")
    assert not [k for k in gone if "rat" in k]  # no ratings, ever

    async def expired() -> Any:
        on_b = await api.booking(b, ute, ute_soon["id"])
        on_a = await api.request_by(a, hana, first["ap_id"], ids["ute"])
        return on_b["state"] == on_a["state"] == "expired" and (on_a, on_b)

    on_a, on_b = await api.until(expired, "Ute's unanswered request expires on both sides")
    assert on_a["reason"] == on_b["reason"] == EXPIRED
    await rig.drain()
    told = [
        p
        for (p,) in await a.query("SELECT payload FROM activity WHERE type = 'Reject'")
        if EXPIRED in str(p) and ute_soon["ap_id"] in str(p)
    ]
    assert len(told) == 1

    # Every payload: the addresses, the exact position and the contact went only to a
    # confirmed guest, alone
    guests = (ids["tom"], ids["vera"])
    carried = await assert_private(
        rig.instances,
        [
            Secret.of(samples.EXACT_ADDRESS, *guests),
            Secret.of(EXACT_LATITUDE, *guests),
            Secret.of(SOON_ADDRESS, *guests),
            Secret.of(CONTACT, *guests),
        ],
    )
    assert {p.doc["type"] for p in carried} == {"Accept"}
    sent = [p for p in carried if p.way == "sent"]
    assert len([p for p in sent if samples.EXACT_ADDRESS in p.text]) == 3  # Tom, Vera, Tom
    assert len([p for p in sent if SOON_ADDRESS in p.text]) == 2
