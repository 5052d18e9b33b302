"""A member's account deletion, proven with an independent implementation: the Fedify peer
(Node.js) follows Alice and has her ride; Alice deletes her account from the settings page,
logged in; the peer receives, signature checked, the ``Delete`` of her ride (a ``Tombstone``)
and the ``Delete`` of her actor, and fetching her actor URL then answers 410 Gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests import offer_samples as samples
from tests.rig.fedify_peer import PeerError
from tests.rig.pages import PASSWORD, csrf_of, logged_in
from tests.rig.peer_setup import PeerSetup, needs_node, peer_following
from tests.skips import PEER_ONCE, once_on_postgres

pytestmark = [needs_node, once_on_postgres(PEER_ONCE)]  # tests/skips.py

AS2 = {"Accept": "application/activity+json"}


@pytest.fixture(scope="module")
async def setup(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PeerSetup]:
    async with peer_following("gone", tmp_path_factory.mktemp("gone")) as s:
        yield s


def _object_id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def _deletes(state: dict[str, Any], actor: str) -> dict[str, dict[str, Any]]:
    """The ``Delete``s the peer accepted from ``actor`` (as Fedify reads them), by object."""
    return {
        str(_object_id(r["json"].get("object"))): r["json"]
        for r in state["received"]
        if r["type"] == "Delete" and r["actor"] == actor
    }


async def test_the_peer_is_told_that_a_member_deleted_their_account(setup: PeerSetup) -> None:
    s = setup
    ride: dict[str, Any] = await s.api("POST", "/api/v1/offers", samples.ride())
    await s.rig.drain()
    await s.peer.wait_for(
        lambda st: any(
            r["type"] == "Create" and _object_id(r["json"].get("object")) == ride["ap_id"]
            for r in st["received"]
        )
    )

    async with logged_in(s.instance, "alice") as http:
        page = await http.get("/settings/delete")
        assert page.status_code == 200, page.text
        form = {"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD}
        r = await http.post("/settings/delete", data=form)
        assert r.status_code == 200 and 'id="account-deleted"' in r.text
    await s.rig.drain()

    state = await s.peer.wait_for(lambda st: len(_deletes(st, s.alice)) >= 2)
    deletes = _deletes(state, s.alice)
    assert set(deletes) == {ride["ap_id"], s.alice}, deletes
    offer_delete = deletes[ride["ap_id"]]
    assert offer_delete["object"]["type"] == "Tombstone"
    assert offer_delete["actor"] == s.alice
    # Fedify accepted every POST of Alice's: each signature checked, with the key it had
    posts = [r for r in state["inboxRequests"] if r["body"].get("actor") == s.alice]
    assert posts and all(r["status"] == 202 for r in posts), posts
    assert not state["errors"], state["errors"]

    # her actor and her ride: 410 Gone with a Tombstone, for the peer as for anyone
    with pytest.raises(PeerError):
        await s.peer.lookup(s.alice)
    fetched = (await s.peer.state())["outgoing"]
    assert any(o["url"] == s.alice and o["status"] == 410 for o in fetched), fetched
    async with httpx.AsyncClient() as client:
        r = await client.get(s.alice, headers=AS2)
        assert r.status_code == 410 and r.json()["type"] == "Tombstone"
        assert r.json()["formerType"] == "Person"
        r = await client.get(ride["ap_id"], headers=AS2)
        assert r.status_code == 410 and r.json()["type"] == "Tombstone"
