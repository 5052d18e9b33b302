"""An account moved from one coopub instance to another keeps its followers: three real
instances over HTTP. Marie on A is followed by Fanny on C and by Louis on A; she opens an account
on B, lists her old one there as an alias, and moves A → B with the CLI. C honours the ``Move``
(after fetching B's account and finding the alias) and Fanny follows Marie on B; Louis, on A,
follows her there too; B's followers collection lists both."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests import offer_samples as samples
from tests.rig.instances import Instance, Rig
from tests.skips import E2E_ONCE, once_on_postgres

pytestmark = once_on_postgres(E2E_ONCE)  # tests/skips.py


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    root: Path = tmp_path_factory.mktemp("moves")
    rig = Rig(
        [
            await Instance.create("a", root),
            await Instance.create("b", root),
            await Instance.create("c", root),
        ]
    )
    yield rig
    await rig.stop()


async def _one(instance: Instance, sql: str) -> object:
    rows = await instance.query(sql)
    return rows[0][0] if rows else None


async def test_an_account_moved_to_another_coopub_keeps_its_followers(rig: Rig) -> None:
    a, b, c = rig.instances
    await a.coop("velos")
    old = await a.member("marie", "velos")
    louis = await a.member("louis", "velos")
    await b.coop("roues")
    new = await b.member("marie", "roues")
    await c.coop("pedales")
    fanny = await c.member("fanny", "pedales")
    assert (await c.ok("follow", "fanny", f"@marie@{a.domain}")).strip().endswith("accepted")
    assert (await a.ok("follow", "louis", f"@marie@{a.domain}")).strip().endswith("accepted")
    await rig.drain()

    # moving before B lists the alias is refused, nothing sent
    refused = await a.cli("member", "move", "marie", f"@marie@{b.domain}")
    assert refused.returncode == 1 and "alias" in refused.stderr, refused
    assert await _one(a, "SELECT moved_to FROM local_actor WHERE username = 'marie'") is None

    out = await b.ok("member", "alias", "marie", "add", f"@marie@{a.domain}")
    assert out.strip() == f"{new} also known as {old}"
    assert (await b.get_as2("/u/marie"))["alsoKnownAs"] == [old]

    out = await a.ok("member", "move", "marie", f"@marie@{b.domain}")
    assert out.strip() == (
        f"{old} moved to {new}: Move sent to 1 inbox(es), 1 follower(s) here now follow it"
    )
    await rig.drain()

    assert (await a.get_as2("/u/marie"))["movedTo"] == new
    [move] = await a.query("SELECT payload FROM activity WHERE type = 'Move'")
    payload = move[0] if isinstance(move[0], dict) else json.loads(move[0])
    assert (payload["actor"], payload["object"], payload["target"]) == (old, old, new)

    # C honoured the Move: Fanny follows Marie on B (accepted), no longer on A
    follows = await c.query(f"SELECT target_uri, state FROM follow WHERE follower_uri = '{fanny}'")
    assert follows == [(new, "accepted")], (follows, c.log()[-3000:])
    assert await _one(c, "SELECT COUNT(*) FROM notification WHERE kind = 'move'") == 1
    # Louis, on A itself, too
    follows = await a.query(f"SELECT target_uri, state FROM follow WHERE follower_uri = '{louis}'")
    assert follows == [(new, "accepted")]
    # B's account has them both; A's has none left
    assert sorted(await b.collection_items("/u/marie/followers")) == sorted([fanny, louis])
    assert await a.collection_items("/u/marie/followers") == []

    # the old account publishes no new offer, but still logs in (its token still answers)
    token = (await a.ok("token", "create", "marie")).strip()
    async with httpx.AsyncClient(base_url=a.base_url) as client:
        r = await client.post(
            "/api/v1/offers", json=samples.ride(), headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code == 409 and "moved" in r.text, r.text

    # moving back: an Update; the followers stay with the new account
    assert (await a.ok("member", "move", "marie", "--back")).strip() == f"{old} moved back"
    await rig.drain()
    assert "movedTo" not in await a.get_as2("/u/marie")
    assert await c.query(f"SELECT target_uri FROM follow WHERE follower_uri = '{fanny}'") == [
        (new,)
    ]
