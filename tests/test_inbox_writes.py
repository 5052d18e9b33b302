"""What one inbox POST writes: from a known signer on a reachable host, only its inbox row (no
``UPDATE host``, no actor row touched); concurrent POSTs' rows are written together (one
transaction, duplicates told apart); and a batch of items records its outcomes together."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from tortoise import connections, fields
from tortoise.fields import data

from federation.context import Federation
from federation.inbox import process_due
from models.activities import InboxItem, InboxState
from models.actors import RemoteActor
from models.delivery import Host
from models.json_column import read_json
from tests.conftest import TEST_DOMAIN
from tests.rig.canned import keypair, offline, post_signed, remote_actor

BASE = f"https://{TEST_DOMAIN}"
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)


@pytest.fixture(autouse=True)
async def sent(fed: Federation) -> AsyncIterator[list[httpx.Request]]:
    yield await offline(fed)


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement the default connection runs meanwhile (the real connection, its
    methods wrapped to note the query first)."""
    conn = connections.get("default")
    seen: list[str] = []
    names = ("execute_insert", "execute_query", "execute_query_dict", "execute_many")
    originals = {name: getattr(conn, name) for name in names}

    def noting(original: Any) -> Any:
        async def run(query: str, *args: Any, **kwargs: Any) -> Any:
            seen.append(str(query))
            return await original(query, *args, **kwargs)

        return run

    for name, original in originals.items():
        setattr(conn, name, noting(original))
    try:
        yield seen
    finally:
        for name in names:
            delattr(conn, name)  # the class's own methods again


def follow(actor: RemoteActor, n: int) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.ap_id}/follows/{n}",
        "type": "Follow",
        "actor": actor.ap_id,
        "object": f"{BASE}/c/velos",
    }


async def test_a_post_from_a_known_reachable_host_writes_only_its_inbox_row(
    fed: Federation, client: httpx.AsyncClient
) -> None:
    zoe, pem = await remote_actor("zoe", key=keypair("a"))
    assert zoe.key_id
    await Host.create(domain=zoe.domain, last_success_at=datetime.now(UTC) - timedelta(hours=1))
    first = await post_signed(client, f"{BASE}/inbox", follow(zoe, 0), zoe.key_id, pem)
    assert first.status_code == 202, first.text
    for n in range(1, 4):
        with statements() as seen:
            r = await post_signed(client, f"{BASE}/inbox", follow(zoe, n), zoe.key_id, pem)
        assert r.status_code == 202, r.text
        writes = [q for q in seen if WRITE.match(q)]
        assert len(writes) == 1 and "inbox_item" in writes[0], writes
        assert len(seen) == 1, seen  # the row: the key's owner is held (federation/actors.py)
    assert await InboxItem.all().count() == 4


async def test_concurrent_posts_write_their_rows_together(
    fed: Federation, client: httpx.AsyncClient
) -> None:
    """Twelve POSTs at once: the first row is written alone, the others that arrived meanwhile
    in one more write (one INSERT of all); an activity sent twice at once, or received before,
    is stored once and answered 202 each time."""
    zoe, pem = await remote_actor("zoe", key=keypair("a"))
    assert zoe.key_id
    await Host.create(domain=zoe.domain, last_success_at=datetime.now(UTC))
    before = await post_signed(client, f"{BASE}/inbox", follow(zoe, 0), zoe.key_id, pem)
    assert before.status_code == 202, before.text
    sent = [follow(zoe, n) for n in range(1, 11)] + [follow(zoe, 5), follow(zoe, 0)]
    with statements() as seen:
        answers = await asyncio.gather(
            *(post_signed(client, f"{BASE}/inbox", a, zoe.key_id, pem) for a in sent)
        )
    assert [r.status_code for r in answers] == [202] * 12
    inserts = [q for q in seen if WRITE.match(q)]
    assert len(inserts) <= 3 and all("inbox_item" in q for q in inserts), inserts
    ids = await InboxItem.all().order_by("activity_id").values_list("activity_id", flat=True)
    assert ids == sorted(f"{zoe.ap_id}/follows/{n}" for n in range(11))


async def test_rows_written_together_tell_new_from_received(fed: Federation) -> None:
    """``InboxWrites`` directly: a write of several rows answers, per row, whether it was
    new; the second of the same id in one write, and an id stored before, are not."""
    now = datetime.now(UTC)

    def row(n: int) -> dict[str, Any]:
        return {
            "activity_id": f"https://a.example/a/{n}",
            "actor_uri": "https://a.example/u",
            "type": "Follow",
            "payload": {"n": n},
            "recipient": None,
            "next_attempt_at": now,
        }

    assert await fed.inbox_writes.add(**row(0))
    assert not await fed.inbox_writes.add(**row(0))
    answers = await asyncio.gather(*(fed.inbox_writes.add(**row(n)) for n in (1, 2, 0, 2, 3)))
    assert answers == [True, True, False, False, True]
    payloads = await InboxItem.all().order_by("id").values_list("payload", flat=True)
    assert payloads == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}]


async def test_a_batch_records_its_outcomes_in_one_statement_per_state(
    fed: Federation, client: httpx.AsyncClient
) -> None:
    zoe, pem = await remote_actor("zoe", key=keypair("a"))
    assert zoe.key_id
    for n in range(6):
        activity = {**follow(zoe, n), "type": "Listen"} if n % 2 else follow(zoe, n)
        r = await post_signed(client, f"{BASE}/inbox", activity, zoe.key_id, pem)
        assert r.status_code == 202, r.text
    with statements() as seen:
        assert await process_due(fed) == 6
    outcomes = [q for q in seen if q.lstrip().upper().startswith("UPDATE") and "inbox_item" in q]
    states = {i.state for i in await InboxItem.all()}
    claim_and_outcomes = 1 + len(states)  # the claim's UPDATE, then one per final state
    assert len(outcomes) <= claim_and_outcomes, outcomes
    assert InboxState.IGNORED in states  # "Listen" has no handler
    assert all(i.attempts == 1 for i in await InboxItem.all())


async def test_a_post_with_numbers_at_the_edges_is_stored_as_read(
    fed: Federation, client: httpx.AsyncClient
) -> None:
    """Tortoise writes and reads the JSON columns with orjson (a dependency for its speed),
    which holds integers of 64 bits: the reader (activitypub/json_body.py) keeps those exact and
    reads a wider one as a double, so that such an activity is stored, not a 500."""
    payload = InboxItem._meta.fields_map["payload"]
    assert isinstance(payload, fields.JSONField) and payload.decoder is read_json
    assert payload.encoder is data.JSON_DUMPS and data.JSON_LOADS is orjson.loads
    zoe, pem = await remote_actor("zoe", key=keypair("a"))
    assert zoe.key_id
    activity = follow(zoe, 1) | {"sizes": [2**64 - 1, -(2**63), 10**30, 0.5, "é😀"]}
    r = await post_signed(client, f"{BASE}/inbox", activity, zoe.key_id, pem)
    assert r.status_code == 202, r.text
    stored = await InboxItem.get(activity_id=activity["id"])
    assert stored.payload["sizes"] == [2**64 - 1, -(2**63), 1e30, 0.5, "é😀"]


@pytest.mark.parametrize(
    "text", ["[1e400]", "[" + "9" * 400 + "]", '{"a": NaN, "b": -Infinity}', '["\\ud800"]']
)
def test_a_json_column_reads_what_orjson_refuses(text: str) -> None:
    """What ``json.dumps`` stored before orjson and the reader's limits (a row of an earlier
    version) is read, not a ``FieldError`` on every read of its row."""
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)
    assert repr(read_json(text)) == repr(json.loads(text))
