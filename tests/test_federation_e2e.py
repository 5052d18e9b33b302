"""Two real instances follow each other through the CLI, over HTTP, signatures verified."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.rig.instances import Instance, Rig


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    root: Path = tmp_path_factory.mktemp("e2e")
    a = await Instance.create("a", root)
    b = await Instance.create("b", root)
    rig = Rig([a, b])
    yield rig
    await rig.stop()


async def test_follow_accept_unfollow_between_instances(rig: Rig) -> None:
    a, b = rig.instances
    velos = await a.coop("velos")
    alice = await a.member("alice", "velos")
    roues = await b.coop("roues", "--locked")
    bob = await b.member("bob", "roues")

    # bob@b follows the open coop on a: WebFinger, signed Follow, Accept back
    out = await b.ok("follow", "bob", f"@velos@{a.domain}", "--wait", "10")
    assert out.strip().endswith("accepted"), out
    await rig.drain()
    assert await a.collection_items("/c/velos/followers") == [bob]
    assert await b.collection_items("/u/bob/following") == [velos]

    # a profile change reaches the follower's server through its shared inbox
    await a.ok("actor", "update", "velos", "--name", "Vélos solidaires")
    await rig.drain()
    assert await a.query(
        "SELECT inbox FROM delivery WHERE activity_id IN "
        "(SELECT id FROM activity WHERE type = 'Update')"
    ) == [(f"{b.base_url}/inbox",)]
    assert await b.query(f"SELECT name FROM remote_actor WHERE ap_id = '{velos}'") == [
        ("Vélos solidaires",)
    ]

    # alice@a asks the locked coop on b: pending until approved there
    waiting = await a.cli("follow", "alice", f"@roues@{b.domain}", "--wait", "1")
    assert waiting.returncode == 3 and waiting.stdout.strip().endswith("pending"), waiting
    await rig.drain()
    assert await b.collection_items("/c/roues/followers") == []
    pending = await b.ok("follows", "list", "roues")
    assert f"{alice} → {roues}\tpending" in pending
    await b.ok("follows", "approve", "roues", f"@alice@{a.domain}")
    await rig.drain()
    assert await b.collection_items("/c/roues/followers") == [alice]
    assert await a.collection_items("/u/alice/following") == [roues]
    assert f"{alice} → {roues}\taccepted" in await a.ok("follows", "list", "alice")

    # Undo(Follow) removes the follower on the other side
    await b.ok("unfollow", "bob", f"@velos@{a.domain}")
    await rig.drain()
    assert await a.collection_items("/c/velos/followers") == []
    assert await b.collection_items("/u/bob/following") == []

    # every delivery was accepted by the other side's signature check
    for instance in rig.instances:
        states = await instance.query("SELECT state, COUNT(*) FROM delivery GROUP BY state")
        assert dict(states) == {"delivered": dict(states).get("delivered")}, states
        assert "request refused" not in instance.log()


async def test_unsigned_and_forged_posts_are_refused(rig: Rig) -> None:
    a, b = rig.instances
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{b.base_url}/activities/forged",
        "type": "Follow",
        "actor": f"{b.base_url}/u/bob",
        "object": f"{a.base_url}/c/velos",
    }
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{a.base_url}/c/velos/inbox", json=follow)
    assert r.status_code == 401
    assert r.json()["error"]
    rows = await a.query("SELECT COUNT(*) FROM inbox_item WHERE activity_id LIKE '%forged'")
    assert rows[0][0] == 0


async def test_unknown_handle_gives_clear_error(rig: Rig) -> None:
    a, b = rig.instances
    result = await a.cli("follow", "alice", f"@nobody@{b.domain}")
    assert result.returncode == 1
    assert result.stderr.startswith("coopub: error: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
