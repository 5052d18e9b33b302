"""The home feed and replies with an independent implementation (Fedify 1.5, Node.js): the peer
posts, a coopub member who follows it sees the post on their home page and replies, and Fedify
reads the reply as a reply to its note that mentions it; a coop's announcement reaches the peer
as a plain ``Note`` (no ``name`` for a content warning)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.rig.fedify_peer import FedifyPeer
from tests.rig.instances import Instance, Rig
from tests.rig.pages import csrf_of, logged_in
from tests.rig.peer_setup import needs_node
from tests.skips import PEER_ONCE, once_on_postgres

pytestmark = [needs_node, once_on_postgres(PEER_ONCE)]  # tests/skips.py


@pytest.fixture(scope="module")
async def setup(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Rig, FedifyPeer]]:
    instance = await Instance.create(
        "fedify-feed", tmp_path_factory.mktemp("fedify-feed"), authorized_fetch=True
    )
    peer = await FedifyPeer.start()
    yield Rig([instance]), peer
    await peer.stop()
    await instance.stop()


def notes_from(state: dict[str, Any], actor: str) -> list[dict[str, Any]]:
    """The notes ``actor`` sent the peer (``Create``), as Fedify parsed them."""
    return [
        r["note"]
        for r in state.get("received", [])
        if r.get("type") == "Create" and r.get("actor") == actor and r.get("note")
    ]


async def test_the_peers_post_is_on_the_home_feed_and_the_reply_threads(
    setup: tuple[Rig, FedifyPeer],
) -> None:
    rig, peer = setup
    (instance,) = rig.instances
    await instance.coop("velos")
    alice = await instance.member("alice", "velos")
    out = await instance.ok("follow", "alice", f"@{peer.handle}", "--wait", "15")
    assert out.strip().endswith("accepted"), out + instance.log()[-2000:]
    await peer.wait_for(lambda s: alice in s["followers"])

    published = await peer.publish(
        '<p>Bonjour de Fedify <script>alert(1)</script><a href="https://fedify.dev/">lien</a></p>'
    )
    await rig.drain()
    async with logged_in(instance, "alice") as web:
        for _ in range(50):
            home = await web.get("/home")
            if "Bonjour de Fedify" in home.text:
                break
            await rig.drain()
        assert "Bonjour de Fedify" in home.text, instance.log()[-3000:]
        assert "<script" not in home.text and "alert(1)" not in home.text
        assert 'href="https://fedify.dev/"' in home.text

        form = await web.get("/reply", params={"to": published["id"]})
        assert form.status_code == 200
        r = await web.post(
            "/reply",
            data={
                "csrf_token": csrf_of(form.text),
                "in_reply_to": published["id"],
                "text": "Bonjour Fedify !",
                "language": "fr",
            },
        )
        assert r.status_code == 303, r.text
    await rig.drain()
    state = await peer.wait_for(lambda s: notes_from(s, alice))
    [reply] = notes_from(state, alice)
    assert reply["inReplyTo"] == published["id"]
    assert [m["href"] for m in reply["mentions"]] == [peer.actor_id]
    assert (
        peer.actor_id in reply["cc"]
        and "https://www.w3.org/ns/activitystreams#Public" in (reply["to"])
    )
    assert "Bonjour Fedify !" in reply["content"]
    assert reply["content"].startswith('<p><span class="h-card"')


async def test_a_coops_announcement_reaches_the_peer_as_a_plain_note(
    setup: tuple[Rig, FedifyPeer],
) -> None:
    rig, peer = setup
    (instance,) = rig.instances
    velos = f"{instance.base_url}/c/velos"
    await instance.ok("member", "admin", "alice")
    await peer.follow(velos)
    await peer.wait_for(lambda s: s["following"].get(velos) == "accepted")
    async with logged_in(instance, "alice") as web:
        form = await web.get("/posts/new")
        r = await web.post(
            "/posts/new",
            data={
                "csrf_token": csrf_of(form.text),
                "as": "velos",
                "text": "Nous recrutons des livreur·ses à vélo. #Lyon",
                "language": "fr",
            },
        )
        assert r.status_code == 303, r.text
    await rig.drain()
    state = await peer.wait_for(lambda s: notes_from(s, velos))
    [note] = notes_from(state, velos)
    assert "Nous recrutons" in note["content"]
    raws = {
        str(r["body"]["id"]): r["body"]["object"]
        for r in state.get("inboxRequests", [])
        if isinstance(r.get("body"), dict)
        and r["body"].get("type") == "Create"
        and r["body"].get("actor") == velos
    }
    [raw] = raws.values()  # as sent (one activity, whichever inbox it reached)
    assert "name" not in raw and "summary" not in raw  # nothing to become a content warning
    assert raw["contentMap"] == {"fr": raw["content"]}
    assert {"type": "Hashtag", "href": f"{instance.base_url}/tags/lyon", "name": "#Lyon"} in raw[
        "tag"
    ]
