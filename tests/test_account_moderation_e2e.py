"""Two real instances, account moderation with the CLI: B removes an offer of A's member with
a reason, which reaches the member on A as a direct message; B suspends its own member, and
A's copy of that actor says so (``"suspended": true``) until B lifts it; B suspends A's
member, whose activities B then refuses with 403 while nothing of B's goes to them. Over real
HTTP, signatures verified."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from federation.actors import KEY_OWNER_SECONDS
from tests import offer_samples as samples
from tests.rig.instances import Instance, Rig
from tests.skips import E2E_ONCE, once_on_postgres

pytestmark = once_on_postgres(E2E_ONCE)  # tests/skips.py


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    root: Path = tmp_path_factory.mktemp("moderation")
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


async def test_moderation_across_two_instances(rig: Rig) -> None:
    a, b = rig.instances
    await a.coop("velos")
    alice = await a.member("alice", "velos")
    await b.coop("roues")
    await b.member("bob", "roues")
    carla = await b.member("carla", "roues")
    token = (await a.ok("token", "create", "alice")).strip()
    assert (await b.ok("follow", "bob", f"@alice@{a.domain}")).strip().endswith("accepted")
    assert (await a.ok("follow", "alice", f"@bob@{b.domain}")).strip().endswith("accepted")
    assert (await a.ok("follow", "alice", f"@carla@{b.domain}")).strip().endswith("accepted")
    offer = await _offer(a, token, "Trajet douteux")
    await rig.drain()
    assert await _count(b, "SELECT COUNT(*) FROM offer WHERE title = 'Trajet douteux'") == 1

    # B removes alice's offer with a reason: gone on B, the reason reaches alice on A
    out = await b.ok("offer", "remove", offer["ap_id"], "--reason", "Arnaque <b>évidente</b>")
    assert "removed" in out, out
    assert await _count(b, "SELECT COUNT(*) FROM offer WHERE title = 'Trajet douteux'") == 0
    await rig.drain()
    [(_kind, text)] = await a.query(
        "SELECT n.kind, n.text FROM notification n JOIN local_actor m ON m.id = n.recipient_id"
        " WHERE m.username = 'alice' AND n.kind = 'mention'"
    )
    assert "Arnaque <b>évidente</b>" in text and "Trajet douteux" in text, text
    [(content,)] = await a.query(
        f"SELECT content FROM post WHERE author_uri = '{b.base_url}/actor'"
        " AND visibility = 'direct'"
    ) or await a.query(f"SELECT content FROM post WHERE author_uri LIKE '{b.base_url}/%'")
    assert "&lt;b&gt;" in content  # plain text, escaped
    assert await _count(a, "SELECT COUNT(*) FROM offer WHERE title = 'Trajet douteux'") == 1
    log = await b.ok("account", "log")
    assert "remove_offer" in log and offer["ap_id"] in log

    # B suspends its own carla: A gets the Update and keeps the flag in its copy
    out = await b.ok("account", "suspend", f"@carla@{b.domain}", "--reason", "fraude")
    assert "suspend" in out, out
    doc = await b.get_as2("/u/carla")
    assert doc["suspended"] is True and doc["name"] == "carla"
    await rig.drain()
    assert await _count(
        a, f"SELECT COUNT(*) FROM remote_actor WHERE ap_id = '{carla}'"
        " AND CAST(document AS TEXT) LIKE '%suspended%'",
    ) == 1  # fmt: skip
    refused = await b.cli("account", "suspend", f"@carla@{b.domain}")
    assert refused.returncode == 1 and "already suspended" in refused.stderr
    await b.ok("account", "unsuspend", f"@carla@{b.domain}")
    await rig.drain()
    assert await _count(
        a, f"SELECT COUNT(*) FROM remote_actor WHERE ap_id = '{carla}'"
        " AND CAST(document AS TEXT) LIKE '%suspended%'",
    ) == 0  # fmt: skip
    log = await b.ok("account", "log", f"@carla@{b.domain}")
    assert [line.split("\t")[1] for line in log.splitlines()] == ["unsuspend", "suspend"]

    # B suspends alice: purged there, her activities refused, nothing of B's sent to her
    out = await b.ok("account", "suspend", f"@alice@{a.domain}", "--reason", "spam")
    assert out.startswith(f"alice@{a.domain}: suspend"), out
    assert f"alice@{a.domain}\tsuspended\tremote" in await b.ok("account", "list")
    assert await _count(b, f"SELECT COUNT(*) FROM follow WHERE follower_uri = '{alice}'") == 0
    assert await _count(b, f"SELECT COUNT(*) FROM follow WHERE target_uri = '{alice}'") == 0
    assert await _count(b, f"SELECT COUNT(*) FROM remote_actor WHERE ap_id = '{alice}'") == 1
    await asyncio.sleep(KEY_OWNER_SECONDS + 1.0)  # B's served process reads alice's row again
    await a.ok("actor", "update", "alice", "--name", "Alice suspendue")
    await rig.drain()
    assert await a.query(
        "SELECT d.state, d.last_status FROM delivery d JOIN activity t ON t.id = d.activity_id"
        f" WHERE t.type = 'Update' AND d.host = '{b.domain}'"
    ) == [("failed", 403)]
    assert await _count(b, "SELECT COUNT(*) FROM inbox_item WHERE type = 'Update'") == 0
    last = await _count(b, "SELECT COALESCE(MAX(id), 0) FROM delivery")
    bob_token = (await b.ok("token", "create", "bob")).strip()
    await _offer(b, bob_token, "Pendant la suspension")
    await rig.drain()
    to_a = f"SELECT COUNT(*) FROM delivery WHERE id > {last} AND host = '{a.domain}'"
    assert await _count(b, to_a) == 0
    assert await _count(a, "SELECT COUNT(*) FROM offer WHERE title = 'Pendant la suspension'") == 0
