"""An offer closed, cancelled or deleted by its author takes its bookings with it, and the other
party is told (a remote booker by a ``Reject``); a delivery job a courier holds keeps its
progress for the courier to report."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from federation.context import Federation
from federation.services.offers import create_offer
from instance.auth import create_token
from models.actors import LocalActor
from models.bookings import Booking, BookingState
from tests import offer_samples as samples
from tests.rig import peers
from tests.test_bookings_api import Headers, _act, _book, _code, _member, _offer, _seats
from tests.test_bookings_inbox import Signer, deliver, request, sent_to
from tests.test_bookings_inbox import bob as remote_bob  # noqa: F401  (a fixture)

sent = peers.sent
"""Every request recorded offline (tests/rig/peers.py)."""


@pytest.fixture
async def alice(member: LocalActor) -> Headers:
    return {"Authorization": f"Bearer {await create_token(member)}"}


async def _state(booking: dict[str, str]) -> tuple[str, str]:
    row = await Booking.get(local_uuid=booking["id"])
    return BookingState(row.state).value, row.reason


async def test_closing_declines_the_waiting_requests_and_keeps_the_accepted(
    client: httpx.AsyncClient, alice: Headers, coop: LocalActor
) -> None:
    bob, carol = await _member(coop, "bob"), await _member(coop, "carol")
    ride = await _offer(client, alice, samples.ride())
    bobs = (await _book(client, bob, ride, quantity=1)).json()
    carols = (await _book(client, carol, ride, quantity=1)).json()
    assert (await _act(client, alice, bobs, "accept")).status_code == 200
    r = await client.post(f"/api/v1/offers/{ride['id']}/close", headers=alice)
    assert r.status_code == 200, r.text
    assert await _state(bobs) == ("accepted", "")
    assert await _state(carols) == ("declined", "The offer was closed")


async def test_cancelling_ends_every_booking_and_tells_a_remote_booker(
    client: httpx.AsyncClient,
    fed: Federation,
    member: LocalActor,
    alice: Headers,
    coop: LocalActor,
    remote_bob: Signer,  # noqa: F811
) -> None:
    ride = await create_offer(fed, member, samples.ride())
    asked = request(remote_bob[0], ride.ap_id, quantity="2")
    assert await deliver(client, fed, asked, remote_bob) == "done"
    remote = await Booking.get(ap_id=asked["id"])
    carol = await _member(coop, "carol")
    carols = (await _book(client, carol, {"ap_id": ride.ap_id}, quantity=1)).json()
    r = await _act(client, alice, {"id": remote.local_uuid}, "accept", details={"contact": "0601"})
    assert r.status_code == 200, r.text

    r = await client.post(f"/api/v1/offers/{ride.local_uuid}/cancel", headers=alice)
    assert r.status_code == 200, r.text
    assert await _state({"id": remote.local_uuid}) == ("cancelled", "The offer was cancelled")
    assert await _state(carols) == ("declined", "The offer was cancelled")
    remote = await Booking.get(id=remote.id)
    told = [a for a in await sent_to(remote_bob[0]) if a["type"] == "Reject"]
    assert [(a["object"], a["content"]) for a in told] == [
        (remote.agreement_id, "The offer was cancelled")
    ]
    assert told[0]["to"] == [remote_bob[0].ap_id]
    assert "0601" not in str(told[0])


async def test_deleting_an_offer_cancels_its_bookings_which_remain_readable(
    client: httpx.AsyncClient, alice: Headers, coop: LocalActor
) -> None:
    bob = await _member(coop, "bob")
    stay = await _offer(client, alice, samples.stay())
    r = await _book(
        client,
        bob,
        stay,
        quantity=1,
        starts_at=stay["starts_at"],
        ends_at=(datetime.fromisoformat(stay["starts_at"]) + timedelta(days=2)).isoformat(),
    )
    assert r.status_code == 201, r.text
    bobs = r.json()
    assert (await _act(client, alice, bobs, "accept")).status_code == 200
    assert (await client.delete(f"/api/v1/offers/{stay['id']}", headers=alice)).status_code == 204
    assert await _state(bobs) == ("cancelled", "The offer was deleted")
    seen = await client.get(f"/api/v1/bookings/{bobs['id']}", headers=bob)
    assert seen.status_code == 200 and seen.json()["state"] == "cancelled"
    assert seen.json()["private"] is None
    assert (await Booking.get(local_uuid=bobs["id"])).private == {}  # the address erased


async def test_a_job_a_courier_holds_cannot_be_moved_by_hand(
    client: httpx.AsyncClient, alice: Headers, coop: LocalActor
) -> None:
    courier = await _member(coop, "bob")
    job = await _offer(client, alice, samples.delivery_job())
    claim = (await _book(client, courier, job)).json()
    assert (await _act(client, alice, claim, "accept")).status_code == 200
    for status in ("picked_up", "delivered", "open"):
        r = await client.post(
            f"/api/v1/offers/{job['id']}/status", json={"status": status}, headers=alice
        )
        assert r.status_code == 400 and _code(r) == "held_by_booking", r.text
    assert await _seats(client, job) == (None, "assigned")

    r = await _act(client, courier, claim, "progress", progress="picked_up")
    assert r.status_code == 200
    for action in ("cancel", "close"):  # the crate is on its way: the courier's report ends it
        r = await client.post(f"/api/v1/offers/{job['id']}/{action}", headers=alice)
        assert r.status_code == 400 and _code(r) == "held_by_booking", r.text
    assert await _state(claim) == ("accepted", "")
    assert await _seats(client, job) == (None, "picked_up")


async def test_cancelling_a_job_before_pickup_tells_its_courier(
    client: httpx.AsyncClient, alice: Headers, coop: LocalActor
) -> None:
    courier = await _member(coop, "bob")
    job = await _offer(client, alice, samples.delivery_job())
    claim = (await _book(client, courier, job)).json()
    assert (await _act(client, alice, claim, "accept")).status_code == 200
    r = await client.post(f"/api/v1/offers/{job['id']}/cancel", headers=alice)
    assert r.status_code == 200, r.text
    assert await _state(claim) == ("cancelled", "The offer was cancelled")
