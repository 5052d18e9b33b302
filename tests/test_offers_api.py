"""The JSON API: create, read, update, close, delete and search offers; bad input refused."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from activitypub.offers import distance_km
from instance.auth import create_token
from models.actors import LocalActor
from models.offers import Offer
from tests import offer_samples as samples


@pytest.fixture
async def auth(member: LocalActor) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token(member)}"}


async def test_create_each_kind_and_read_back(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    for build in (samples.ride, samples.delivery_job, samples.stay):
        r = await client.post("/api/v1/offers", json=build(), headers=auth)
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["status"] == "open" and created["local"] is True
        got = (await client.get(f"/api/v1/offers/{created['id']}")).json()
        assert got["title"] == build()["title"]
        assert got["kind"] == build()["kind"]
    assert await Offer.all().count() == 3


async def test_stay_address_only_for_its_author(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    created = (await client.post("/api/v1/offers", json=samples.stay(), headers=auth)).json()
    assert created["stay"]["location"]["address"] == samples.EXACT_ADDRESS
    public = (await client.get(f"/api/v1/offers/{created['id']}")).json()
    assert "address" not in public["stay"]["location"]
    moved = distance_km(
        44.7537,
        5.3706,
        public["stay"]["location"]["latitude"],
        public["stay"]["location"]["longitude"],
    )
    assert 0.04 < moved < 0.6  # 100–500 m, then rounded to ~100 m
    as2 = await client.get(
        f"/offers/{created['id']}", headers={"Accept": "application/activity+json"}
    )
    assert samples.EXACT_ADDRESS not in as2.text
    # the fuzzed position is stored once: reads and unrelated edits do not move it
    again = (await client.get(f"/api/v1/offers/{created['id']}")).json()
    assert again["stay"]["location"] == public["stay"]["location"]
    edited = samples.stay(title="Chambre au calme")
    r = await client.put(f"/api/v1/offers/{created['id']}", json=edited, headers=auth)
    assert r.json()["stay"]["public_location"] == public["stay"]["location"]


async def test_update_close_delete(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    created = (await client.post("/api/v1/offers", json=samples.ride(), headers=auth)).json()
    body = samples.ride()
    body["ride"]["seats_available"] = 1
    r = await client.put(f"/api/v1/offers/{created['id']}", json=body, headers=auth)
    assert r.status_code == 200 and r.json()["quantity_available"] == 1
    r = await client.post(f"/api/v1/offers/{created['id']}/close", headers=auth)
    assert r.json()["status"] == "closed"
    r = await client.post(
        f"/api/v1/offers/{created['id']}/status", json={"status": "open"}, headers=auth
    )
    assert r.status_code == 400
    r = await client.delete(f"/api/v1/offers/{created['id']}", headers=auth)
    assert r.status_code == 204
    assert (await client.get(f"/api/v1/offers/{created['id']}")).status_code == 404


async def test_search_by_place_time_and_seats(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    for build in (samples.ride, samples.delivery_job, samples.stay):
        await client.post("/api/v1/offers", json=build(), headers=auth)
    near_grenoble = (await client.get("/api/v1/offers?lat=45.19&lon=5.72&radius_km=10")).json()
    assert [o["kind"] for o in near_grenoble["items"]] == ["ride"]  # by destination
    by_dest_name = (await client.get("/api/v1/offers?place=Chantenay&radius_km=1")).json()
    assert [o["kind"] for o in by_dest_name["items"]] == ["delivery_job"]
    unknown = await client.get("/api/v1/offers?place=Xyzzyville")  # Atlantis (ZA) is known
    assert unknown.status_code == 400 and "latitude" in unknown.json()["error"]
    by_known_name = (await client.get("/api/v1/offers?place=Die&radius_km=5")).json()
    assert [o["kind"] for o in by_known_name["items"]] == ["stay"]
    seats = (await client.get("/api/v1/offers?kind=ride&min_seats=4")).json()
    assert seats["count"] == 0
    everything = (await client.get("/api/v1/offers")).json()["items"]
    assert [o["starts_at"] for o in everything] == sorted(o["starts_at"] for o in everything)
    text = (await client.get("/api/v1/offers?q=légumes")).json()
    assert [o["kind"] for o in text["items"]] == ["delivery_job"]


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("lat=1", "lon", "required"),
        ("lon=1", "lat", "required"),
        ("lat=north&lon=1", "lat", "not_a_number"),
        ("lat=1&lon=inf", "lon", "not_a_number"),
        ("kind=boat", "kind", "not_a_choice"),
        ("purpose=gift", "purpose", "not_a_choice"),
        ("from=soon", "from", "not_a_date"),
        ("from=2030-01-02&to=2030-01-01", "to", "before_start"),
        ("lat=1&lon=1&radius_km=0", "radius_km", "not_positive"),
        ("lat=1&lon=1&radius_km=-3", "radius_km", "too_small"),
        ("min_seats=two", "min_seats", "not_an_integer"),
        ("offset=-1", "offset", "not_an_integer"),
        ("limit=²", "limit", "not_an_integer"),
        ("offset=99999999999999999999", "offset", "too_large"),
        ("offset=10001", "offset", "too_large"),
        ("place=Xyzzyville", "place", "unknown_place"),
    ],
)
async def test_bad_search_parameters_are_refused_with_codes(
    client: httpx.AsyncClient, query: str, field: str, code: str
) -> None:
    # an API path answers JSON, whatever the Accept header asks
    r = await client.get(f"/api/v1/offers?{query}", headers={"Accept": "text/html"})
    assert r.status_code == 400, r.text
    body = r.json()
    [problem] = body["errors"]
    assert (problem["field"], problem["code"]) == (field, code)
    assert body["error"] == f"{field}: {problem['message']}"  # and a message for people


async def test_a_bad_latitude_says_its_bounds(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/offers?lat=100&lon=0")
    assert r.status_code == 400
    assert r.json() == {
        "error": "lat: must be between -90 and 90",
        "status": 400,
        "errors": [
            {
                "field": "lat",
                "code": "too_large",
                "min": -90,
                "max": 90,
                "message": "must be between -90 and 90",
            }
        ],
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"kind": "boat", "purpose": "offer", "title": "x", "starts_at": "2030-01-01T00:00:00Z"},
            "kind",
        ),
        (samples.ride(title=None), "title"),
        (samples.ride(ends_at="2000-01-01T00:00:00Z"), "ends_at"),
        (samples.stay(ends_at=None), "ends_at"),
    ],
)
async def test_bad_input_is_refused_with_a_message(
    client: httpx.AsyncClient, auth: dict[str, str], body: dict, field: str
) -> None:
    r = await client.post("/api/v1/offers", json=body, headers=auth)
    assert r.status_code == 422
    assert field in {e["field"] for e in r.json()["errors"]}
    assert await Offer.all().count() == 0


async def test_negative_seats_and_bad_coordinates(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = samples.ride()
    body["ride"]["seats_total"] = -2
    body["ride"]["origin"]["latitude"] = 123
    r = await client.post("/api/v1/offers", json=body, headers=auth)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} >= {"ride.seats_total", "ride.origin.latitude"}
    assert (await client.post("/api/v1/offers", content=b"{nope", headers=auth)).status_code == 400
    assert (await client.post("/api/v1/offers", json=samples.ride())).status_code == 401
    bad_token = {"Authorization": "Bearer coopub_nope"}
    assert (
        await client.post("/api/v1/offers", json=samples.ride(), headers=bad_token)
    ).status_code == 401
    assert (await client.get("/api/v1/offers?lat=100&lon=0")).status_code == 400
    assert await Offer.all().count() == 0


async def test_openapi_document(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    assert {"get", "post"} <= set(doc["paths"]["/api/v1/offers"])
    # generated: every reference resolves, the limits are there (tests/test_offer_description.py
    # checks each of them against what the API enforces)
    refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(doc))
    assert refs and set(refs) <= set(doc["components"]["schemas"])
    ride = doc["components"]["schemas"]["RideDetails"]["properties"]
    assert (ride["seats_total"]["minimum"], ride["seats_total"]["maximum"]) == (1, 100)
    assert ride["flexibility_minutes"]["x-unit"] == "minute"
