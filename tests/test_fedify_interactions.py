"""Replies, favourites and boosts from an independent implementation: the Fedify peer
(Node.js) follows Alice, sees her ride, replies to it in public (as Mastodon does: to Public,
cc its followers and Alice, mentioning her), favourites it and boosts it. coopub shows the
reply under the offer (sanitised, with the peer's name and instance), counts the favourite and
the boost, lists the reply in the offer's ``replies`` collection (read by the peer, signed),
and tells Alice; an ``Undo`` takes the favourite back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests import offer_samples as samples
from tests.rig.peer_setup import PeerSetup, needs_node, peer_following
from tests.skips import PEER_ONCE, once_on_postgres

pytestmark = [needs_node, once_on_postgres(PEER_ONCE)]  # tests/skips.py


@pytest.fixture(scope="module")
async def setup(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PeerSetup]:
    async with peer_following("interact", tmp_path_factory.mktemp("interactions")) as s:
        yield s


async def _notified(s: PeerSetup, kinds: set[str]) -> list[dict[str, Any]] | None:
    items: list[dict[str, Any]] = (await s.api("GET", "/api/v1/notifications"))["items"]
    return items if kinds <= {i["kind"] for i in items} else None


async def test_the_peer_replies_favourites_and_boosts_an_offer(setup: PeerSetup) -> None:
    s = setup
    ride = await s.api("POST", "/api/v1/offers", samples.ride())
    await s.rig.drain()
    await s.peer.wait_for(
        lambda st: any(
            r["type"] == "Create" and r["json"]["object"]["id"] == ride["ap_id"]
            for r in st["received"]
        )
    )
    path = f"/offers/{ride['id']}"
    hostile = 'Je viens ! <script>alert(1)</script><a href="javascript:alert(2)">clic</a>'
    answer = await s.peer.reply(
        s.alice,
        ride["ap_id"],
        "",
        content=f'<p><a href="{s.alice}" class="u-url mention">@alice</a> {hostile}</p>',
    )
    liked = await s.peer.like(s.alice, ride["ap_id"])
    await s.peer.announce(s.alice, ride["ap_id"])

    async def shown() -> str | None:
        page = await s.page(path)
        done = 'id="likes-count">1<' in page and 'id="boosts-count">1<' in page
        return page if done and "Je viens !" in page else None

    page = await s.eventually(shown, "the reply, the favourite and the boost on the page")
    assert "Fedify Peer" in page and s.peer.domain in page
    assert 'id="replies-count">1<' in page
    assert "<script>alert" not in page and "javascript:" not in page
    assert f'href="{answer["id"]}"' in page  # the date links to the reply itself

    # Alice is told: the reply (linking to it on the offer's page), the favourite, the boost
    found = await s.eventually(
        lambda: _notified(s, {"reply", "like", "boost", "follow"}), "the notifications"
    )
    by_kind = {i["kind"]: i for i in found}
    reply = by_kind["reply"]
    assert reply["actor"]["id"] == s.peer.actor_id and reply["actor"]["name"] == "Fedify Peer"
    assert reply["actor"]["handle"] == s.peer.handle
    assert reply["link"].startswith(f"{s.instance.base_url}{path}#reply-")
    assert reply["text"] == "Je viens ! clic"
    assert by_kind["like"]["event"] == by_kind["boost"]["event"] == "offer"
    assert (await s.api("GET", "/api/v1/notifications"))["unread"] == len(found)

    # the offer's replies collection, as the peer reads it (signed: authorized fetch), its
    # first page embedded (Fedify 1.5 signs a URL's path without its query: a ``?page=``
    # URL would not verify)
    collection = (await s.peer.lookup(ride["ap_id"] + "/replies"))["document"]
    assert collection["type"] == "OrderedCollection" and collection["totalItems"] == 1
    assert collection["first"]["orderedItems"] == [answer["id"]]

    # the favourite taken back
    await s.peer.undo(liked["id"])

    async def unliked() -> bool | None:
        page = await s.page(path)
        return True if 'id="likes-count">0<' in page else None

    await s.eventually(unliked, "the favourite undone")
    kinds = [i["kind"] for i in (await s.api("GET", "/api/v1/notifications"))["items"]]
    assert "like" not in kinds and "reply" in kinds
