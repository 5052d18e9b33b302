"""Property-based fuzzing of the JSON API and the pages' query strings (issue 10): offers and
bookings from valid bodies, mutated (fields replaced by random JSON, deep nesting, huge strings,
lone surrogates, NUL, numbers past a float or a column), random bodies on every write, random
query strings on every list. Whatever is sent: no 5xx, no ERROR log line, no traceback; a
refusal is 400, 404, 409, 413 or 422 with a JSON body.

Bounded for CI (about 1,000 examples here) and reproducible (``derandomize``); the longer run
is ``bench/fuzz.py``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.context import Federation
from tests.rig.fuzz import (
    API_OFFERS,
    Result,
    World,
    book,
    booking_seeds,
    build_world,
    call_api,
    fuzz,
    log_problems,
)
from tests.rig.fuzz_inputs import Sample, mutated, query_params, random_json, spliced

REFUSALS = (400, 401, 403, 404, 405, 409, 413, 422)
LISTS = [
    "/api/v1/offers",
    "/api/v1/dispatch",
    "/api/v1/bookings",
    "/api/v1/bookings/requests",
    "/search",
    "/dispatch",
    "/coops/velos/dispatch",
    "/my/bookings",
    "/bookings/new",
    "/directory/instances",
    "/c/velos/followers",
    "/c/velos/outbox",
    "/.well-known/webfinger",
    "/authorize_interaction",
]
OFFERS = API_OFFERS


@pytest.fixture
async def world(fed: Federation, database_url: str) -> World:
    return await build_world(fed, database_url)


def check(result: Result, caplog: pytest.LogCaptureFixture, sample: Any = None) -> None:
    problems = result.problems + log_problems(caplog.records)
    assert not problems, (result.label, sample, problems)
    assert result.status < 500


@fuzz(350)
@given(sample=mutated(OFFERS), put=st.booleans())
async def test_offer_bodies(
    world: World, caplog: pytest.LogCaptureFixture, sample: Sample, put: bool
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    method, path = (
        ("PUT", f"/api/v1/offers/{world.ride['id']}") if put else ("POST", "/api/v1/offers")
    )
    result = await call_api(
        world, sample.label, method, path, headers=world.alice, body=sample.body()
    )
    check(result, caplog, sample.ops)
    assert result.status in (200, 201, *REFUSALS), result


@fuzz(300)
@given(data=st.data(), as_author=st.booleans())
async def test_booking_bodies(
    world: World, caplog: pytest.LogCaptureFixture, data: st.DataObject, as_author: bool
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    sample = data.draw(mutated(booking_seeds(world)))
    result = await book(world, sample, as_author)
    check(result, caplog, sample.ops)
    assert result.status in (200, 201, *REFUSALS), result


@fuzz(250)
@given(path=st.sampled_from(LISTS), params=query_params(), as_alice=st.booleans())
async def test_query_strings(
    world: World,
    caplog: pytest.LogCaptureFixture,
    path: str,
    params: dict[str, str],
    as_alice: bool,
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    headers = world.alice if as_alice else {}
    result = await call_api(world, "query string", "GET", path, headers=headers, params=params)
    check(result, caplog, params)


@fuzz(100)
@given(data=st.data())
async def test_random_bodies_on_every_write(
    world: World, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    writes = [
        ("POST", "/api/v1/offers"),
        ("PUT", f"/api/v1/offers/{world.stay['id']}"),
        ("POST", f"/api/v1/offers/{world.stay['id']}/status"),
        ("POST", "/api/v1/bookings"),
        *[("POST", f"/api/v1/bookings/{world.booking['id']}/{a}") for a in booking_seeds(world)],
    ]
    method, path = data.draw(st.sampled_from(writes))
    sample: Sample = data.draw(random_json() | spliced({"offer": OFFERS["ride"]}))
    who = data.draw(st.sampled_from([world.alice, world.bob]))
    result = await call_api(world, sample.label, method, path, headers=who, body=sample.body())
    check(result, caplog, sample.body()[:200])
    if result.status >= 400:
        assert result.status in REFUSALS, result


async def test_the_seeds_themselves_are_taken(world: World) -> None:
    """Unmutated, the bodies the fuzzing starts from are accepted: mutations explore from the
    paths that do the work."""
    for body in OFFERS.values():
        r = await world.client.post("/api/v1/offers", json=body, headers=world.alice)
        assert r.status_code == 201, r.text
    seeds = booking_seeds(world)
    r = await world.client.post("/api/v1/bookings", json=seeds["stay"], headers=world.bob)
    assert r.status_code == 201, r.text
    r = await world.client.post(
        f"/api/v1/bookings/{world.booking['id']}/messages",
        content=json.dumps(seeds["messages"]),
        headers=world.bob,
    )
    assert r.status_code in (200, 201), r.text
