"""`coopub member delete` between two real instances: the other server forgets the member."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests import offer_samples as samples
from tests.rig.instances import Instance, Rig


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    root: Path = tmp_path_factory.mktemp("accounts")
    rig = Rig([await Instance.create("a", root), await Instance.create("b", root)])
    yield rig
    await rig.stop()


async def test_deleted_member_is_forgotten_by_its_followers_server(rig: Rig) -> None:
    a, b = rig.instances
    await a.coop("velos")
    alice = await a.member("alice", "velos")
    await b.coop("roues")
    await b.member("bob", "roues")
    token = (await a.ok("token", "create", "alice")).strip()
    assert (await b.ok("follow", "bob", f"@alice@{a.domain}")).strip().endswith("accepted")
    async with httpx.AsyncClient(base_url=a.base_url) as client:
        r = await client.post(
            "/api/v1/offers", json=samples.ride(), headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 201, r.text
    await rig.drain()
    assert await b.query(f"SELECT COUNT(*) FROM remote_actor WHERE ap_id = '{alice}'") == [(1,)]
    assert await b.query(f"SELECT COUNT(*) FROM offer WHERE author_uri = '{alice}'") == [(1,)]

    out = await a.ok("member", "delete", "alice", "--yes")
    assert out.strip() == f"deleted {alice}; Delete delivered to 1 of 1 server(s)"
    await rig.drain()

    assert await b.query(f"SELECT COUNT(*) FROM offer WHERE author_uri = '{alice}'") == [(0,)]
    assert await b.query(f"SELECT COUNT(*) FROM remote_actor WHERE ap_id = '{alice}'") == [(0,)]
    assert await b.query(f"SELECT COUNT(*) FROM follow WHERE target_uri = '{alice}'") == [(0,)]
    states = await a.query("SELECT state, COUNT(*) FROM delivery GROUP BY state")
    assert dict(states) == {"delivered": dict(states).get("delivered")}, states
    async with httpx.AsyncClient() as client:
        r = await client.get(alice, headers={"Accept": "application/activity+json"})
    assert r.status_code == 410 and r.json()["type"] == "Tombstone"
