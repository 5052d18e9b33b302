"""Bookings through the JSON API on one instance (booker and author both here): each rule
refused with its code and nothing changed, the lifecycle of rides, stays and delivery jobs, the
conversation, expiry, and the offer's own text following its seats."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from federation.context import Federation
from federation.services.accounts import create_actor
from federation.services.bookings_expiry import expire_bookings
from instance.auth import create_token
from models.actors import ActorKind, LocalActor
from models.bookings import Booking, BookingState
from models.offers import Offer
from tests import offer_samples as samples

Headers = dict[str, str]


@pytest.fixture
async def alice(member: LocalActor) -> Headers:
    return {"Authorization": f"Bearer {await create_token(member)}"}


async def _member(coop: LocalActor, name: str) -> Headers:
    actor = await create_actor(ActorKind.MEMBER, name, name=name.title(), coop=coop)
    return {"Authorization": f"Bearer {await create_token(actor)}"}


@pytest.fixture
async def bob(coop: LocalActor) -> Headers:
    return await _member(coop, "bob")


@pytest.fixture
async def carol(coop: LocalActor) -> Headers:
    return await _member(coop, "carol")


async def _offer(client: httpx.AsyncClient, auth: Headers, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/api/v1/offers", json=body, headers=auth)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def _book(
    client: httpx.AsyncClient, auth: Headers, offer: dict[str, Any], **ask: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/bookings", json={"offer": offer["ap_id"], **ask}, headers=auth
    )


async def _act(
    client: httpx.AsyncClient, auth: Headers, booking: dict[str, Any], action: str, **body: Any
) -> httpx.Response:
    return await client.post(f"/api/v1/bookings/{booking['id']}/{action}", json=body, headers=auth)


def _code(r: httpx.Response) -> str:
    return str(r.json()["errors"][0]["code"])


async def _seats(client: httpx.AsyncClient, offer: dict[str, Any]) -> tuple[int, str]:
    got = (await client.get(f"/api/v1/offers/{offer['id']}")).json()
    return got["quantity_available"], got["status"]


async def _content(client: httpx.AsyncClient, offer: dict[str, Any]) -> str:
    r = await client.get(f"/offers/{offer['id']}", headers={"Accept": "application/activity+json"})
    return str(r.json()["content"])


async def test_a_ride_requested_accepted_cancelled(
    client: httpx.AsyncClient, alice: Headers, bob: Headers, carol: Headers
) -> None:
    ride = await _offer(client, alice, samples.ride())
    r = await _book(client, bob, ride, quantity=2, message="Deux places, merci !")
    assert r.status_code == 201, r.text
    booking = r.json()
    assert booking["state"] == "requested" and booking["role"] == "booker"
    assert booking["private"] is None
    assert await _seats(client, ride) == (3, "open")  # a request holds nothing

    requests = (await client.get("/api/v1/bookings/requests", headers=alice)).json()
    assert [b["message"] for b in requests["items"]] == ["Deux places, merci !"]
    assert requests["items"][0]["role"] == "author"
    mine = (await client.get("/api/v1/bookings", headers=bob)).json()
    assert [b["id"] for b in mine["items"]] == [booking["id"]]

    # only the author answers; then the details show, to both
    assert (await _act(client, bob, booking, "accept")).status_code == 403
    details = {"meeting_point": "Parking de la gare", "contact": "06 12 34 56 78"}
    r = await _act(client, alice, booking, "accept", details=details)
    assert r.status_code == 200, r.text
    seen = (await client.get(f"/api/v1/bookings/{booking['id']}", headers=bob)).json()
    assert seen["state"] == "accepted"
    assert seen["private"]["contact"] == "06 12 34 56 78"
    assert seen["private"]["meeting_point"] == "Parking de la gare"
    assert await _seats(client, ride) == (1, "open")
    assert "plus que 1 place(s)" in await _content(client, ride)
    assert (await _act(client, alice, booking, "accept")).status_code == 409

    # more than what is left: refused, nothing changed; the last seat fills the ride
    r = await _book(client, carol, ride, quantity=2)
    assert r.status_code == 409 and _code(r) == "not_enough"
    assert r.json()["errors"][0]["available"] == 1
    assert await Booking.filter(booker_uri__endswith="/u/carol").count() == 0
    carols = (await _book(client, carol, ride)).json()
    assert (await _act(client, alice, carols, "accept")).status_code == 200
    assert await _seats(client, ride) == (0, "full")
    assert "Complet" in await _content(client, ride)
    r = await _book(client, carol, ride)
    assert r.status_code == 409 and _code(r) == "offer_not_open"

    # cancelling with a reason gives the seats back
    r = await _act(client, bob, booking, "cancel", reason="Malade")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert r.json()["private"] is None
    seen = (await client.get(f"/api/v1/bookings/{booking['id']}", headers=alice)).json()
    assert (seen["state"], seen["reason"]) == ("cancelled", "Malade")
    assert await _seats(client, ride) == (2, "open")
    assert (await _act(client, bob, booking, "cancel")).status_code == 409


async def test_the_rules_refuse_with_a_code(
    client: httpx.AsyncClient, alice: Headers, bob: Headers
) -> None:
    ride = await _offer(client, alice, samples.ride())
    r = await _book(client, alice, ride)
    assert r.status_code == 403 and _code(r) == "own_offer"
    r = await _book(client, bob, ride, quantity=0)
    assert r.status_code == 422 and _code(r) == "too_small"
    r = await _book(client, bob, ride, quantity="2")
    assert r.status_code == 422 and _code(r) == "not_an_integer"
    assert (await _book(client, bob, ride)).status_code == 201
    r = await _book(client, bob, ride)
    assert r.status_code == 409 and _code(r) == "already_booked"
    r = await client.post(
        "/api/v1/bookings", json={"offer": "https://coop.test/offers/x"}, headers=bob
    )
    assert r.status_code == 404

    job = await _offer(client, alice, samples.delivery_job())
    r = await _book(client, bob, job, quantity=2)
    assert r.status_code == 422 and _code(r) == "one_job"

    closed = await _offer(client, alice, samples.ride(title="Fermé"))
    await client.post(f"/api/v1/offers/{closed['id']}/close", headers=alice)
    r = await _book(client, bob, closed)
    assert r.status_code == 409 and _code(r) == "offer_not_open"
    assert r.json()["errors"][0]["status"] == "closed"
    assert await Booking.filter(offer_uri=closed["ap_id"]).count() == 0

    unauthenticated = await client.post("/api/v1/bookings", json={"offer": ride["ap_id"]})
    assert unauthenticated.status_code == 401
    other = (await client.get("/api/v1/bookings", headers=alice)).json()
    assert other["items"] == []


async def test_bad_values_are_answered_clearly(
    client: httpx.AsyncClient, alice: Headers, bob: Headers
) -> None:
    """Each with its code and a message that says it, never a 500."""
    stay = await _offer(client, alice, samples.stay())
    r = await _book(client, bob, stay, starts_at="9999-12-31T23:59:59-14:00", ends_at="x")
    assert r.status_code == 422 and _code(r) == "not_a_datetime"  # past year 9999 in UTC
    ride = await _offer(client, alice, samples.ride())
    booking = (await _book(client, bob, ride)).json()
    r = await _act(client, bob, booking, "messages", content="   ")
    assert r.status_code == 422 and _code(r) == "required"
    r = await _act(client, bob, booking, "complete", outcome="maybe")
    assert r.status_code == 422
    assert r.json()["errors"][0]["message"] == "must be one of: done, not_happened"


async def test_an_offer_under_way_takes_no_request(
    client: httpx.AsyncClient, alice: Headers, bob: Headers
) -> None:
    """A job whose window has opened (or a ride gone, not yet arrived): a request would expire
    at once, its date being the start."""
    job = await _offer(client, alice, samples.delivery_job())
    await Offer.filter(ap_id=job["ap_id"]).update(
        starts_at=datetime.now(UTC) - timedelta(minutes=30)
    )
    r = await _book(client, bob, job)
    assert r.status_code == 409 and _code(r) == "offer_started"
    assert await Booking.all().count() == 0


async def test_stays_never_overlap(
    client: httpx.AsyncClient, alice: Headers, bob: Headers, carol: Headers
) -> None:
    stay = await _offer(client, alice, samples.stay())
    start = datetime.fromisoformat(stay["starts_at"])
    nights = {
        "starts_at": (start + timedelta(days=1)).isoformat(),
        "ends_at": (start + timedelta(days=3)).isoformat(),
    }
    r = await _book(client, bob, stay, quantity=2)
    assert r.status_code == 422 and _code(r) == "dates_required"
    far = {**nights, "ends_at": (start + timedelta(days=30)).isoformat()}
    r = await _book(client, bob, stay, **far)
    assert r.status_code == 422 and _code(r) == "outside_window"
    long = {**nights, "ends_at": (start + timedelta(days=6)).isoformat()}
    r = await _book(client, bob, stay, **long)
    assert r.status_code == 422 and _code(r) == "too_many_nights"
    r = await _book(client, bob, stay, quantity=3, **nights)
    assert r.status_code == 422 and _code(r) == "too_many_guests"

    bobs = (await _book(client, bob, stay, quantity=2, message="Deux nuits", **nights)).json()
    overlapping = {
        "starts_at": (start + timedelta(days=2)).isoformat(),
        "ends_at": (start + timedelta(days=4)).isoformat(),
    }
    carols = (await _book(client, carol, stay, **overlapping)).json()
    assert carols["state"] == "requested"  # nothing is held yet
    before = (await client.get(f"/api/v1/bookings/{bobs['id']}", headers=bob)).json()
    assert before["private"] is None
    assert (await _act(client, alice, bobs, "accept")).status_code == 200
    after = (await client.get(f"/api/v1/bookings/{bobs['id']}", headers=bob)).json()
    assert after["private"]["address"] == samples.EXACT_ADDRESS
    r = await _act(client, alice, carols, "accept")
    assert r.status_code == 409 and _code(r) == "overlap"
    assert (await client.get(f"/api/v1/bookings/{carols['id']}", headers=carol)).json()[
        "state"
    ] == "requested"
    r = await _book(client, carol, stay, **{**overlapping, "starts_at": nights["starts_at"]})
    assert r.status_code == 409 and _code(r) == "overlap"
    # the night after is free
    later = {
        "starts_at": (start + timedelta(days=3)).isoformat(),
        "ends_at": (start + timedelta(days=4)).isoformat(),
    }
    assert (await _book(client, carol, stay, **later)).status_code == 201


async def test_nights_are_counted_in_the_stay_s_time_zone(
    client: httpx.AsyncClient, alice: Headers, bob: Headers
) -> None:
    """In California, arrival at 17:00 is the next day in UTC: four nights there are three
    UTC days apart, and still more than the three allowed."""
    tz = ZoneInfo("America/Los_Angeles")
    first = datetime.now(tz).date() + timedelta(days=5)

    def local(days: int, hour: int) -> str:
        return datetime.combine(first + timedelta(days=days), time(hour), tz).isoformat()

    body = samples.stay(starts_at=local(0, 17), ends_at=local(10, 11), timezone=tz.key)
    stay = await _offer(client, alice, body)
    r = await _book(client, bob, stay, starts_at=local(1, 17), ends_at=local(5, 11))
    assert r.status_code == 422 and _code(r) == "too_many_nights"
    r = await _book(client, bob, stay, starts_at=local(1, 17), ends_at=local(4, 11))
    assert r.status_code == 201, r.text


async def test_a_delivery_job_assigned_then_progress_in_order(
    client: httpx.AsyncClient, alice: Headers, bob: Headers, carol: Headers
) -> None:
    job = await _offer(client, alice, samples.delivery_job())
    bobs = (await _book(client, bob, job, message="Vélo-cargo dispo")).json()
    carols = (await _book(client, carol, job)).json()
    r = await _act(client, bob, bobs, "progress", progress="picked_up")
    assert r.status_code == 409 and _code(r) == "not_accepted"
    assert (await _act(client, alice, bobs, "accept")).status_code == 200
    assert await _seats(client, job) == (None, "assigned")
    seen = (await client.get(f"/api/v1/bookings/{carols['id']}", headers=carol)).json()
    assert (seen["state"], seen["reason"]) == ("declined", "The job was assigned to someone else")
    r = await _act(client, alice, carols, "accept")
    assert r.status_code == 409 and _code(r) == "not_requested"
    assignee = (await client.get(f"/api/v1/bookings/{bobs['id']}", headers=bob)).json()
    assert assignee["private"]["pickup_address"] == "Épicerie La Cagette, 12 rue Sully, Nantes"
    assert assignee["courier"] == "booker"

    r = await _act(client, bob, bobs, "progress", progress="delivered")
    assert r.status_code == 409 and _code(r) == "progress_order"
    r = await _act(client, alice, bobs, "progress", progress="picked_up")
    assert r.status_code == 403 and _code(r) == "not_courier"
    r = await _act(client, bob, bobs, "progress", progress="picked_up", note="En route")
    assert r.status_code == 200 and r.json()["progress"] == "picked_up"
    assert await _seats(client, job) == (None, "picked_up")
    r = await _act(client, bob, bobs, "cancel")
    assert r.status_code == 409 and _code(r) == "picked_up"
    r = await _act(client, bob, bobs, "progress", progress="delivered", note="Déposé")
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["progress_note"]) == ("done", "Déposé")
    assert await _seats(client, job) == (None, "delivered")
    assert "Livrée" in await _content(client, job)
    r = await _act(client, bob, bobs, "progress", progress="failed")
    assert r.status_code == 409


async def test_completion_after_the_date_and_the_conversation(
    client: httpx.AsyncClient, alice: Headers, bob: Headers
) -> None:
    ride = await _offer(
        client, alice, samples.ride(ride={**samples.ride()["ride"], "auto_accept": True})
    )
    booking = (await _book(client, bob, ride)).json()
    assert booking["state"] == "accepted"  # the ride accepts on its own
    assert booking["private"]["meeting_point"]
    r = await _act(client, bob, booking, "complete", outcome="done")
    assert r.status_code == 409 and _code(r) == "too_early"

    assert (
        await _act(client, bob, booking, "messages", content="À quelle heure ?")
    ).status_code == 201
    r = await _act(client, alice, booking, "messages", content="<b>8 h</b>")
    assert r.status_code == 201
    conversation = r.json()["messages"]
    assert [(m["content"], m["mine"]) for m in conversation] == [
        ("À quelle heure ?", False),
        ("<b>8 h</b>", True),
    ]
    r = await _act(client, bob, booking, "messages", content="")
    assert r.status_code == 422 and _code(r) == "required"

    past = datetime.now(UTC) - timedelta(hours=1)
    await Booking.filter(local_uuid=booking["id"]).update(happens_at=past)
    r = await _act(client, alice, booking, "complete", outcome="not_happened", note="Absent")
    assert r.status_code == 200 and r.json()["state"] == "not_happened"
    r = await _act(client, bob, booking, "complete", outcome="done")
    assert r.status_code == 409 and _code(r) == "not_accepted"


async def test_unanswered_requests_expire(
    fed: Federation, client: httpx.AsyncClient, alice: Headers, bob: Headers
) -> None:
    ride = await _offer(client, alice, samples.ride())
    booking = (await _book(client, bob, ride)).json()
    assert await expire_bookings(fed) == 0
    await Booking.filter(local_uuid=booking["id"]).update(
        happens_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    # its date passed before the worker's pass: too late to accept, nothing taken
    r = await _act(client, alice, booking, "accept")
    assert r.status_code == 409 and _code(r) == "not_requested"
    assert r.json()["errors"][0]["state"] == "expired"
    assert (await Offer.get(ap_id=ride["ap_id"])).quantity_available == 3
    assert await expire_bookings(fed) == 1
    seen = (await client.get(f"/api/v1/bookings/{booking['id']}", headers=alice)).json()
    assert seen["state"] == "expired"
    assert (await _act(client, alice, booking, "accept")).status_code == 409
    assert await Booking.filter(state=BookingState.EXPIRED).count() == 1
    assert (await Offer.get(ap_id=ride["ap_id"])).quantity_available == 3


async def test_the_openapi_document_lists_the_booking_api(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/api/openapi.json")).json()
    for path in (
        "/api/v1/bookings",
        "/api/v1/bookings/requests",
        "/api/v1/bookings/{uuid}",
        "/api/v1/bookings/{uuid}/accept",
        "/api/v1/bookings/{uuid}/progress",
        "/api/v1/bookings/{uuid}/messages",
    ):
        assert path in doc["paths"], path
    schemas = doc["components"]["schemas"]
    assert schemas["BookingInput"]["properties"]["quantity"]["maximum"] == 100
    assert "private" in schemas["Booking"]["properties"]
