"""Two real instances: B suspends A's domain with the CLI; A's activities are refused with 403
and nothing is stored, nothing of B's reaches A, nothing is fetched from A; lifting the block
lets federation resume. Over real HTTP, signatures verified, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from federation.blocks import CACHE_SECONDS
from tests import offer_samples as samples
from tests.rig.instances import Instance, Rig

SEEN_BY_EVERY_PROCESS = CACHE_SECONDS + 1.0
"""A block made by the CLI reaches the running server's copy of the rules within this."""


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    root: Path = tmp_path_factory.mktemp("blocks")
    rig = Rig([await Instance.create("a", root), await Instance.create("b", root)])
    yield rig
    await rig.stop()


async def _offer(instance: Instance, token: str, title: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=instance.base_url) as client:
        r = await client.post(
            "/api/v1/offers",
            json=samples.ride(title=title),
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _count(instance: Instance, sql: str) -> int:
    return int((await instance.query(sql))[0][0])


async def test_a_suspended_domain_is_cut_off_then_federates_again(rig: Rig) -> None:
    a, b = rig.instances
    await a.coop("velos")
    alice = await a.member("alice", "velos")
    await b.coop("roues")
    bob = await b.member("bob", "roues")
    token = (await b.ok("token", "create", "bob")).strip()
    assert (await a.ok("follow", "alice", f"@bob@{b.domain}")).strip().endswith("accepted")
    assert (await b.ok("follow", "bob", f"@alice@{a.domain}")).strip().endswith("accepted")
    await _offer(b, token, "Avant le blocage")
    await rig.drain()
    assert await _count(a, "SELECT COUNT(*) FROM offer WHERE title = 'Avant le blocage'") == 1

    # B suspends A: A's actors, follows and offers are purged there at once
    out = await b.ok(
        "domain", "block", a.domain, "--severity", "suspend", "--public-comment", "Tests"
    )
    assert out.startswith(f"{a.domain}: suspend") and "purged 1 actor(s)" in out, out
    assert f"{a.domain}\tsuspend" in await b.ok("domain", "list")
    a_host = f"'{a.base_url}/%'"
    assert await _count(b, f"SELECT COUNT(*) FROM remote_actor WHERE domain = '{a.domain}'") == 0
    follows_with_a = (
        f"SELECT COUNT(*) FROM follow WHERE follower_uri LIKE {a_host} OR target_uri LIKE {a_host}"
    )
    assert await _count(b, follows_with_a) == 0
    await asyncio.sleep(SEEN_BY_EVERY_PROCESS)  # the running server's cache

    # an activity from A: refused with 403, nothing stored on B
    stored = f"SELECT COUNT(*) FROM inbox_item WHERE actor_uri LIKE {a_host}"
    before = await _count(b, stored)
    await a.ok("actor", "update", "alice", "--name", "Alice bloquée")
    await rig.drain()
    assert await a.query(
        "SELECT d.state, d.last_status FROM delivery d JOIN activity t ON t.id = d.activity_id"
        " WHERE t.type = 'Update'"
    ) == [("failed", 403)]
    assert await _count(b, stored) == before
    assert "request refused" in b.log()

    # an offer published on B goes nowhere near A; B fetches nothing from A
    last = await _count(b, "SELECT COALESCE(MAX(id), 0) FROM delivery")
    created = await _offer(b, token, "Pendant le blocage")
    await rig.drain()
    to_a = f"SELECT COUNT(*) FROM delivery WHERE id > {last} AND host = '{a.domain}'"
    assert await _count(b, to_a) == 0
    assert await _count(a, "SELECT COUNT(*) FROM offer WHERE title = 'Pendant le blocage'") == 0
    refused = await b.cli("follow", "bob", f"@alice@{a.domain}", "--wait", "1")
    assert refused.returncode == 1, refused
    assert "does not federate with that domain" in refused.stderr
    assert created["local"] is True

    # lifted: follows work again and B's next offer reaches A
    await b.ok("domain", "unblock", a.domain)
    assert (await b.ok("domain", "list")).strip() == ""
    await asyncio.sleep(SEEN_BY_EVERY_PROCESS)
    await a.ok("unfollow", "alice", f"@bob@{b.domain}")
    assert (await a.ok("follow", "alice", f"@bob@{b.domain}")).strip().endswith("accepted")
    await rig.drain()
    assert await b.collection_items("/u/bob/followers") == [alice]
    await _offer(b, token, "Après le blocage")
    await rig.drain()
    assert await _count(a, "SELECT COUNT(*) FROM offer WHERE title = 'Après le blocage'") == 1
    assert await a.collection_items("/u/alice/following") == [bob]
