"""Interoperability with an independent implementation: a Fedify 1.5 peer (Node.js).

coopub runs in authorized-fetch mode here, so the peer's actor fetches must be signed (as
GoToSocial requires); the peer records the requests coopub makes, so ours are checked too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests import offer_samples as samples
from tests.rig.fedify_peer import FedifyPeer, node_available
from tests.rig.instances import Instance, Rig
from tests.skips import in_ci

pytestmark = pytest.mark.skipif(
    not node_available() and not in_ci(),
    reason="Node.js >= 20 is not installed (scripts/setup); CI always runs this test",
)


@pytest.fixture(scope="module")
async def setup(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Rig, FedifyPeer]]:
    instance = await Instance.create(
        "fedify", tmp_path_factory.mktemp("fedify"), authorized_fetch=True
    )
    peer = await FedifyPeer.start()
    yield Rig([instance]), peer
    await peer.stop()
    await instance.stop()


def _signed_gets_to_peer(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r
        for r in state.get("requests", [])
        if r.get("method") == "GET" and "/users/peer" in r.get("url", r.get("path", ""))
    ]


async def test_peer_follows_coop_and_gets_accept(setup: tuple[Rig, FedifyPeer]) -> None:
    rig, peer = setup
    (instance,) = rig.instances
    velos = await instance.coop("velos")
    await peer.follow(f"acct:velos@{instance.domain}")
    await peer.wait_for(lambda s: s["following"].get(velos) == "accepted")
    await rig.drain()
    rows = await instance.query(
        f"SELECT follower_uri FROM follow WHERE state = 'accepted' AND target_uri = '{velos}'"
    )
    assert rows == [(peer.actor_id,)]
    state = await peer.state()
    accepts = [r for r in state["received"] if r["type"] == "Accept"]
    assert accepts and accepts[-1]["actor"] == velos


async def test_member_follows_peer_and_receives_its_post(setup: tuple[Rig, FedifyPeer]) -> None:
    rig, peer = setup
    (instance,) = rig.instances
    alice = await instance.member("alice", "velos")
    out = await instance.ok("follow", "alice", f"@{peer.handle}", "--wait", "15")
    assert out.strip().endswith("accepted"), out + instance.log()[-2000:]
    state = await peer.wait_for(lambda s: alice in s["followers"])

    # our fetches of the peer's actor were signed (GoToSocial refuses unsigned ones)
    gets = _signed_gets_to_peer(state)
    assert gets, state.get("requests")
    assert all(_header(g, "signature") for g in gets)

    published = await peer.publish("<p>Bonjour de Fedify</p>")
    await rig.drain()
    for _ in range(100):
        rows = await instance.query(
            "SELECT type, actor_uri, payload FROM inbox_item WHERE type = 'Create'"
        )
        if rows:
            break
        await rig.drain()
    assert rows, instance.log()[-3000:]
    kind, actor_uri, payload = rows[0]
    assert (kind, actor_uri) == ("Create", peer.actor_id)
    assert published["id"] in str(payload)


async def test_unsigned_fetch_refused_in_authorized_fetch_mode(
    setup: tuple[Rig, FedifyPeer],
) -> None:
    rig, _ = setup
    (instance,) = rig.instances
    async with httpx.AsyncClient() as client:
        unsigned = await client.get(
            f"{instance.base_url}/c/velos", headers={"Accept": "application/activity+json"}
        )
        public = await client.get(
            f"{instance.base_url}/actor", headers={"Accept": "application/activity+json"}
        )
    assert unsigned.status_code == 401
    assert public.status_code == 200 and public.json()["type"] == "Application"


def _header(request: dict[str, Any], name: str) -> str | None:
    headers = request.get("headers") or {}
    if isinstance(headers, dict):
        for key, value in headers.items():
            if key.lower() == name:
                return str(value)
    return None


async def test_peer_receives_offers_as_notes(setup: tuple[Rig, FedifyPeer]) -> None:
    """Fedify parses our offer (a Note with FEP-0837 terms in an inline context) and the coop's
    boost of it: what Mastodon-like servers see."""
    rig, peer = setup
    (instance,) = rig.instances
    alice = f"{instance.base_url}/u/alice"
    await peer.follow(alice)
    await peer.wait_for(lambda s: s["following"].get(alice) == "accepted")
    token = (await instance.ok("token", "create", "alice")).strip()
    async with httpx.AsyncClient(base_url=instance.base_url) as client:
        r = await client.post(
            "/api/v1/offers", json=samples.ride(), headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code == 201, r.text
    offer_id = r.json()["ap_id"]
    await rig.drain()
    state = await peer.wait_for(
        lambda s: (
            any(x["type"] == "Create" and x["actor"] == alice for x in s["received"])
            and any(x["type"] == "Announce" for x in s["received"])
        )
    )
    create = next(x for x in state["received"] if x["type"] == "Create" and x["actor"] == alice)
    note = create["json"]["object"]
    assert note["type"] == "Note" and note["id"] == offer_id
    assert samples.ride()["title"].split(" ")[0] in note["content"]
    boost = next(x for x in state["received"] if x["type"] == "Announce")
    assert boost["actor"] == f"{instance.base_url}/c/velos"
