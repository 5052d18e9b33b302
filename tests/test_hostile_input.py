"""Hostile input, one case each (issue 10, point 5): refused once and clearly, never a 500, never
a traceback; a stored item that can never succeed is set aside at once, never retried.

The property-based runs over many more inputs are ``test_fuzz_inbox.py`` and
``test_fuzz_api.py``.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise import connections

from activitypub.json_body import (
    MAX_DEPTH,
    has_nul_escape,
    load_json,
    nesting_depth_within,
    value_depth_within,
)
from federation.context import Federation
from federation.inbox import process_due
from instance.auth import create_token
from models.activities import InboxItem, InboxState
from models.actors import LocalActor, RemoteActor
from models.errors import Malformed
from models.follows import Follow, FollowState
from models.offers import Offer
from tests import offer_samples as samples
from tests.conftest import TEST_DOMAIN
from tests.rig.canned import keypair, offline, post_signed, remote_actor

BASE = f"https://{TEST_DOMAIN}"
EXPECTED = Path(__file__).parent / "expected"
FIXTURES = Path(__file__).parent / "fixtures"
DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_SMALL = b"[" * 30_000 + b"]" * 30_000
"""Within the API's 64 KiB bodies."""


@pytest.fixture(autouse=True)
async def _offline(fed: Federation) -> AsyncIterator[None]:
    await offline(fed)
    yield


@pytest.fixture
async def zoe(fed: Federation) -> tuple[RemoteActor, str]:
    return await remote_actor("zoe", key=keypair("a"))


@pytest.fixture
async def auth(member: LocalActor) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token(member)}"}


@pytest.fixture
async def followed(fed: Federation, member: LocalActor, zoe: tuple[RemoteActor, str]) -> None:
    """Alice follows zoe: zoe's offers have a reason to be kept (and so are read)."""
    await Follow.create(
        ap_id=fed.urls.new_activity_id(),
        follower_uri=fed.urls.actor(member),
        target_uri=zoe[0].ap_id,
        local_follower=member,
        state=FollowState.ACCEPTED,
    )


def refused(r: httpx.Response, status: int = 400) -> dict[str, Any]:
    """A JSON refusal with a message, the one answer to bad input."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    assert isinstance(body["error"], str) and body["error"]
    return body


def no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert bad == [], [(r.getMessage(), r.exc_info) for r in bad]


async def post(client: httpx.AsyncClient, zoe: tuple[RemoteActor, str], activity: Any) -> Any:
    actor, pem = zoe
    assert actor.key_id
    return await post_signed(client, f"{BASE}/inbox", activity, actor.key_id, pem)


def create_of(zoe: RemoteActor, offer: dict[str, Any], n: int = 1) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{zoe.ap_id}/creates/{n}",
        "type": "Create",
        "actor": zoe.ap_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": offer,
    }


def zoes_ride(zoe: RemoteActor, which: str = "ride", **change: Any) -> dict[str, Any]:
    """Our pinned ride (or another kind), as zoe's (on her host, attributed to her), with
    ``change``."""
    doc: dict[str, Any] = json.loads((EXPECTED / f"offer_{which}.json").read_text())
    doc.update(id="https://remote.example/offers/1", attributedTo=zoe.ap_id, url=None)
    doc["startTime"] = "2099-12-01T07:00:00Z"
    if "endTime" in doc:
        doc["endTime"] = "2099-12-03T07:00:00Z"
    doc.update(change)
    return {k: v for k, v in doc.items() if v is not None}


SET_ASIDE = (InboxState.IGNORED, InboxState.FAILED)


async def process_and_check(
    fed: Federation, activity_id: str, states: tuple[InboxState, ...] = SET_ASIDE
) -> InboxItem:
    """Process the queue once: the item is done with, at the first attempt."""
    await process_due(fed)
    item = await InboxItem.get(activity_id=activity_id)
    assert item.state in states, (item.state, item.error)
    assert item.attempts == 1
    assert await process_due(fed) == 0  # nothing left to retry
    return item


# --- the JSON reader ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (DEEP, "nested"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "nested"),
        (b'["\\ud800"]', "Unicode"),
        (b'{"\\udc00x": 1}', "Unicode"),
        (b'["\\u0000"]', "NUL"),
        (b'["\\\\\\u0000"]', "NUL"),  # an escaped backslash, then NUL
        (b'{"\\u00e9\\\\u0000": "\\u00e9\\u0000"}', "NUL"),  # after other escapes
        (b'{"\\u0000": 1}', "NUL"),  # in a key
        (b'[{"a": "[[[[{{{{"}' + b",[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"]", "nested"),
        (b"[NaN]", "finite"),
        (b"[-Infinity]", "finite"),
        (b"[1e400]", "finite"),
        (b"[" + b"9" * 400 + b"]", "finite"),  # an integer no double holds
        (b"\xed\xa0\x80", "UTF-8"),  # a surrogate encoded in UTF-8 (CESU)
        (b"[1", "JSON"),
        (b"[" + b"9" * 5000 + b"]", "JSON"),  # past Python's 4,300 digits for an int
    ],
)
def test_json_reader_refuses(body: bytes, message: str) -> None:
    with pytest.raises(Malformed) as caught:
        load_json(body)
    assert message in caught.value.public_message


def test_json_reader_accepts() -> None:
    limit = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert load_json(limit) is not None
    assert load_json(b'["\\ud83d\\ude00", "[\\"{", "\\\\u0000", "\\\\\\ud83d\\ude00"]') == [
        "😀",
        '["{',
        "\\u0000",
        "\\😀",
    ]
    assert load_json("\ufeff{}".encode()) == {}
    extremes = [2**64 - 1, -(2**63)]  # as wide as the JSON columns keep integers exact
    assert load_json(json.dumps(extremes).encode()) == extremes
    assert load_json(b"[" + b"9" * 30 + b", -" + b"9" * 30 + b"]") == [1e30, -1e30]  # a double
    brackets = b'"' + b"[{" * MAX_DEPTH + b'"'  # more brackets than the limit, in a string
    assert load_json(b"[" * (MAX_DEPTH - 1) + brackets + b"]" * (MAX_DEPTH - 1)) is not None
    assert load_json(b'["\\\\u0000", "\\u00e9"]') == ["\\u0000", "é"]


NUL_PATTERN = re.compile(r"(?:^|[^\\])(?:\\\\)*\\u0000")
"""``\\u0000`` as an escape: the regular expression the reader used before finding it by hand."""


def test_the_nul_escape_is_found_as_the_pattern_finds_it() -> None:
    rng = random.Random(14)
    texts = ["", "\\u0000", "\\\\u0000", "\\\\\\u0000", "a\\u0000", "\\u00000"]
    texts += ["".join(rng.choice('\\u0a"') for _ in range(rng.randint(1, 30))) for _ in range(5000)]
    for text in texts:
        assert has_nul_escape(text) == bool(NUL_PATTERN.search(text)), text


@pytest.mark.parametrize(
    "path", sorted([*FIXTURES.rglob("*.json"), *EXPECTED.rglob("*.json")]), ids=lambda p: p.name
)
def test_the_reader_reads_fixtures_as_json_does(path: Path) -> None:
    body = path.read_bytes()
    assert load_json(body) == json.loads(body)


# --- over HTTP ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/inbox", "/c/velos/inbox", "/actor/inbox"])
async def test_deep_json_on_the_inbox_is_400_even_unsigned(
    client: httpx.AsyncClient, coop: LocalActor, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    r = await client.post(path, content=DEEP, headers={"Content-Type": "application/activity+json"})
    assert "nested" in refused(r)["error"]
    assert await InboxItem.all().count() == 0
    no_error_logged(caplog)


@pytest.mark.parametrize("path", ["/api/v1/offers", "/api/v1/bookings"])
@pytest.mark.parametrize(
    "body",
    [DEEP_SMALL, b'{"title": "\\ud800"}', b'{"title": "a\\u0000"}', b'{"price_cents": NaN}'],
)
async def test_hostile_json_on_the_api_is_400(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    path: str,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    r = await client.post(path, content=body, headers={**auth, "Content-Type": "application/json"})
    refused(r)
    no_error_logged(caplog)


@pytest.mark.parametrize("timezone", ["x" * 70_000, "Europe/" + "a" * 300, "../../etc/passwd"])
async def test_a_time_zone_that_is_no_file_name_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str], timezone: str
) -> None:
    """Found by fuzzing: a 70,000-character time zone reached ``ZoneInfo``, whose file lookup
    raised ``OSError`` (name too long): a 500. Regular rides read the zone early."""
    ride = samples.ride()
    ride["timezone"] = timezone
    ride["ride"]["schedule"] = {"weekdays": ["MO"], "time": "07:30"}
    r = await client.post("/api/v1/offers", json=ride, headers=auth)
    assert r.status_code in (413, 422), r.text


async def test_offer_status_body_is_read_the_same_way(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    created = (await client.post("/api/v1/offers", json=samples.ride(), headers=auth)).json()
    r = await client.post(
        f"/api/v1/offers/{created['id']}/status",
        content=b'{"status": "\\udfff"}',
        headers={**auth, "Content-Type": "application/json"},
    )
    refused(r)


@pytest.mark.parametrize(
    "change",
    [
        {"type": "\ud800"},
        {"type": "Follow\x00"},
        {"id": "https://remote.example/users/zoe/follows/" + "x" * 500},
        {"object": "https://coop.test/c/velos" + "x" * 70_000},
        {"object": {"id": "https://coop.test/activities/" + "y" * 70_000, "type": "Follow"}},
        {"actor": {"id": "https://remote.example/users/zoe", "name": "\ud800"}},
    ],
)
async def test_signed_activity_with_bad_text_or_long_ids_is_400(
    client: httpx.AsyncClient,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    change: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{zoe[0].ap_id}/follows/1",
        "type": "Follow",
        "actor": zoe[0].ap_id,
        "object": f"{BASE}/c/velos",
        **change,
    }
    refused(await post(client, zoe, follow))
    assert await InboxItem.all().count() == 0
    no_error_logged(caplog)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/offers?offset=9223372036854775808",
        "/api/v1/offers?offset=99999999999999999999999",
        "/api/v1/offers?limit=9223372036854775808",
        "/api/v1/dispatch?offset=9223372036854775808",
        "/api/v1/dispatch?limit=-1",
        # found by bench/fuzz.py on PostgreSQL: "date value out of range" (500)
        "/api/v1/offers?to=9999-12-31T23:59:59-23:59",
        "/api/v1/offers?from=0001-01-01T00:00:00%2B23:59",
    ],
)
async def test_query_out_of_bounds_is_a_coded_400(
    client: httpx.AsyncClient, auth: dict[str, str], path: str
) -> None:
    body = refused(await client.get(path, headers=auth))
    assert body["errors"][0]["code"] in ("too_large", "not_an_integer", "not_a_date"), body


@pytest.mark.parametrize(
    "offer", ["http://[", "https://[::1", "https://" + "x" * 501, "https://b:abc/offers/1"]
)
async def test_booking_an_unparseable_offer_id_is_a_refusal(
    client: httpx.AsyncClient, auth: dict[str, str], offer: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by bench/fuzz.py: ``ValueError('Invalid IPv6 URL')`` from the URL check (500)."""
    r = await client.post("/api/v1/bookings", json={"offer": offer, "quantity": 1}, headers=auth)
    assert r.status_code in (404, 422), r.text
    no_error_logged(caplog)


@pytest.mark.parametrize(
    "path", ["/api/v1/offers?q=%00", "/api/v1/offers?place=a%00", "/api/v1/bookings?x=%00"]
)
async def test_nul_in_a_query_is_400(
    client: httpx.AsyncClient, auth: dict[str, str], path: str
) -> None:
    assert "NUL" in refused(await client.get(path, headers=auth))["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/search?offset=9223372036854775808",
        "/search?q=%00",
        "/u/al%00ice",
        "/offers/new?kind=%00",
        "/.well-known/webfinger?resource=acct:a%00@coop.test",
        "/c/velos/followers?page=9223372036854775808",
    ],
)
async def test_pages_refuse_bad_queries_without_a_500(
    client: httpx.AsyncClient, member: LocalActor, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    r = await client.get(path)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    no_error_logged(caplog)


async def test_forms_refuse_nul(
    client: httpx.AsyncClient, member: LocalActor, caplog: pytest.LogCaptureFixture
) -> None:
    page = await client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = await client.post(
        "/login", data={"csrf_token": token, "username": "ali\x00ce", "password": "x"}
    )
    assert 400 <= r.status_code < 500, r.status_code
    no_error_logged(caplog)


# --- the worker: what can never succeed is set aside at once -----------------------------------


@pytest.mark.parametrize("count", ["9223372036854775808", "101", "-1"])
async def test_a_stays_places_left_past_a_column_fail_at_once(
    client: httpx.AsyncClient,
    fed: Federation,
    zoe: tuple[RemoteActor, str],
    followed: None,
    count: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Found by the fuzzing on PostgreSQL: what is left of a stay went into an int column
    unchecked (``value out of int32 range``, retried with a traceback)."""
    stay = zoes_ride(zoe[0], "stay")
    stay["publishes"]["availableQuantity"]["hasNumericalValue"] = count
    activity = create_of(zoe[0], stay)
    assert (await post(client, zoe, activity)).status_code == 202
    await process_and_check(fed, activity["id"])
    assert await Offer.all().count() == 0
    no_error_logged(caplog)


@pytest.mark.parametrize(
    "change",
    [
        {"origin": {"type": "Place", "name": "X", "latitude": 10**300, "longitude": 0}},
        {"seatsTotal": 10**30},
        {"priceCents": 2**63},
        {"priceCents": 10**300},
        {"flexibilityMinutes": -(10**300)},
        {"startTime": "9999-12-31T23:59:59-23:59"},
        {"endTime": "0001-01-01T00:00:00+23:59"},
        {"startTime": True},
        {"kind": True},
        {"attributedTo": "https://remote.example/users/zoe" + "z" * 600},
        {"@context": ["https://www.w3.org/ns/activitystreams", {"@base": "::"}]},
        {"@context": ["https://www.w3.org/ns/activitystreams", {"@vocab": 1}]},
        {"@context": ["https://www.w3.org/ns/activitystreams", {"x": {"@id": "#"}}], "x": "y"},
    ],
)
async def test_offers_out_of_range_fail_at_once(
    client: httpx.AsyncClient,
    fed: Federation,
    zoe: tuple[RemoteActor, str],
    followed: None,
    change: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    activity = create_of(zoe[0], zoes_ride(zoe[0], **change))
    assert (await post(client, zoe, activity)).status_code == 202
    await process_and_check(fed, activity["id"])
    assert await Offer.all().count() == 0
    no_error_logged(caplog)


@pytest.mark.parametrize(
    "change",
    [
        {"origin": {"type": "Place", "name": "X", "latitude": 10**400, "longitude": 0}},
        {"priceCents": -(10**400)},
    ],
)
async def test_integers_no_double_holds_are_refused_at_the_door(
    client: httpx.AsyncClient, zoe: tuple[RemoteActor, str], change: dict[str, Any]
) -> None:
    activity = create_of(zoe[0], zoes_ride(zoe[0], **change))
    answer = await post(client, zoe, activity)
    assert answer.status_code == 400 and "finite" in answer.json()["error"]
    assert not await InboxItem.exists()


@pytest.mark.parametrize(
    "payload",
    [
        # stored before the limits existed (or by a bug): the parsing boundary still holds
        {"content": json.loads("[" * 400 + "]" * 400)},
        {"content": json.loads("[" * 900 + "]" * 900)},
        {"name": json.loads('{"a":' * 300 + '"b"' + "}" * 300)},
        {"id": "https://remote.example/offers/" + "z" * 70_000},
        {"priceCents": 10**400},  # stored before the reader read it as a double (refused)
    ],
)
async def test_stored_items_that_cannot_be_read_are_not_retried(
    fed: Federation,
    zoe: tuple[RemoteActor, str],
    followed: None,
    payload: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    activity = create_of(zoe[0], zoes_ride(zoe[0], **payload))
    # written as JSON by hand: orjson, which writes the column now, refuses such depths
    await InboxItem.create(
        activity_id=activity["id"],
        actor_uri=zoe[0].ap_id,
        type="Create",
        payload={},
        next_attempt_at=datetime.now(UTC),
    )
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    sql = "UPDATE inbox_item SET payload = {} WHERE activity_id = {}"
    marks = ("$1::jsonb", "$2") if postgres else ("?", "?")
    await conn.execute_query(sql.format(*marks), [json.dumps(activity), activity["id"]])
    await process_and_check(fed, activity["id"], (*SET_ASIDE, InboxState.DONE))
    no_error_logged(caplog)


@pytest.mark.parametrize("kind", ["Accept", "Reject", "Undo"])
async def test_answers_about_huge_object_ids_are_not_retried(
    fed: Federation,
    zoe: tuple[RemoteActor, str],
    member: LocalActor,
    kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    huge = f"{BASE}/activities/" + "9" * 70_000
    activity = {
        "id": f"{zoe[0].ap_id}/answers/1",
        "type": kind,
        "actor": zoe[0].ap_id,
        "object": {"id": huge, "type": "Follow", "actor": zoe[0].ap_id, "object": huge},
    }
    await InboxItem.create(
        activity_id=activity["id"],
        actor_uri=zoe[0].ap_id,
        type=kind,
        payload=activity,
        next_attempt_at=datetime.now(UTC),
    )
    await process_and_check(fed, activity["id"])
    no_error_logged(caplog)


def test_a_value_is_measured_as_its_json_text_is() -> None:
    """``value_depth_within`` (a stored row, parsed) agrees with ``nesting_depth_within`` (a
    body, as bytes) on random documents, at every limit around their depth."""
    rng = random.Random(14)

    def document(depth: int) -> Any:
        if depth == 0 or rng.random() < 0.2:
            return rng.choice([1, "[{", None, 2.5])
        children = [document(depth - 1) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.5:
            return children
        return {f"k{n}": child for n, child in enumerate(children)}

    for _ in range(2000):
        value = document(rng.randint(0, 8))
        text = json.dumps(value).encode()
        for limit in range(10):
            assert value_depth_within(value, limit) == nesting_depth_within(text, limit), text
