"""Moving accounts with an independent implementation (Fedify 1.5, Node.js), both ways.

- The peer follows Marie, who moves to another account on the same instance: the peer receives
  the ``Move`` as Mastodon sends it, and reads the new account's ``alsoKnownAs`` and the old
  one's ``movedTo`` through Fedify's own parser.
- Zoe follows the peer, which moves to Pierre (a coopub account): not honoured while Pierre does
  not list the peer; once he does, Zoe follows Pierre and no longer the peer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.rig.fedify_peer import FedifyPeer
from tests.rig.instances import Instance, Rig
from tests.rig.peer_setup import needs_node
from tests.skips import PEER_ONCE, once_on_postgres

pytestmark = [needs_node, once_on_postgres(PEER_ONCE)]  # tests/skips.py


@pytest.fixture(scope="module")
async def setup(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Rig, FedifyPeer]]:
    instance = await Instance.create(
        "fedify-moves", tmp_path_factory.mktemp("fedify-moves"), authorized_fetch=True
    )
    await instance.coop("velos")
    peer = await FedifyPeer.start()
    yield Rig([instance]), peer
    await peer.stop()
    await instance.stop()


def received(state: dict[str, Any], kind: str, actor: str) -> list[dict[str, Any]]:
    return [
        r["json"]
        for r in state.get("received", [])
        if r.get("type") == kind and r.get("actor") == actor
    ]


def ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [i if isinstance(i, str) else i.get("id") for i in items if i]


async def test_the_peer_receives_the_move_of_an_account_it_follows(
    setup: tuple[Rig, FedifyPeer],
) -> None:
    rig, peer = setup
    (instance,) = rig.instances
    marie = await instance.member("marie", "velos")
    new = await instance.member("marie2", "velos")
    await peer.follow(f"marie@{instance.domain}")
    await peer.wait_for(lambda s: s["following"].get(marie) == "accepted")

    await instance.ok("member", "alias", "marie2", "add", f"@marie@{instance.domain}")
    out = await instance.ok("member", "move", "marie", f"@marie2@{instance.domain}")
    assert "Move sent to 1 inbox(es)" in out, out
    await rig.drain()

    state = await peer.wait_for(lambda s: bool(received(s, "Move", marie)))
    [move] = received(state, "Move", marie)
    assert (move["actor"], move["object"], move["target"]) == (marie, marie, new)
    assert move["id"].startswith(instance.base_url + "/")

    # Fedify reads both sides of the move from the actor documents
    assert ids((await peer.lookup(new))["object"]["alsoKnownAs"]) == [marie]
    assert ids((await peer.lookup(marie))["object"]["movedTo"]) == [new]


async def test_coopub_follows_the_peers_new_account_once_it_lists_the_peer(
    setup: tuple[Rig, FedifyPeer],
) -> None:
    rig, peer = setup
    (instance,) = rig.instances
    zoe = await instance.member("zoe", "velos")
    pierre = await instance.member("pierre", "velos")
    out = await instance.ok("follow", "zoe", f"@{peer.handle}", "--wait", "15")
    assert out.strip().endswith("accepted"), out
    await peer.wait_for(lambda s: zoe in s["followers"])
    follows = f"SELECT target_uri, state FROM follow WHERE follower_uri = '{zoe}'"

    # Pierre does not list the peer yet: the Move is ignored, nothing changes
    await peer.move(pierre)
    await rig.drain()
    assert await instance.query(follows) == [(peer.actor_id, "accepted")]
    assert "move not honoured: no alias" in instance.log()

    await instance.ok("member", "alias", "pierre", "add", peer.actor_id)
    sent = await peer.move(pierre)
    assert sent["recipients"] == 1
    for _ in range(100):
        await rig.drain()
        if await instance.query(follows) == [(pierre, "accepted")]:
            break
    assert await instance.query(follows) == [(pierre, "accepted")], instance.log()[-3000:]
    rows = await instance.query(
        "SELECT actor_uri, object_uri FROM notification WHERE kind = 'move'"
    )
    assert rows == [(peer.actor_id, pierre)]
    await peer.wait_for(lambda s: zoe not in s["followers"])  # the Undo reached the peer
