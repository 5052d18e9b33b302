"""An offer as a Mastodon-like server reads it, proven with an independent implementation: the
Fedify peer (Node.js) follows a coop, receives a member's offer, and reads its text as plain
text: what, where, when, price, seats, the link and the hashtags, in the offer's language; no
``name`` or ``summary`` that would hide it behind a content warning. A cancellation reaches it as
an ``Update`` whose text says so.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests import offer_samples as samples
from tests.rig.peer_setup import PeerSetup, needs_node, peer_following
from tests.skips import PEER_ONCE, once_on_postgres

pytestmark = [needs_node, once_on_postgres(PEER_ONCE)]  # tests/skips.py

STARTS = "2030-06-04T08:00:00+02:00"
"""A fixed day, so the text is known to the letter (a Tuesday, far enough ahead to stay open)."""
EXPECTED = """\
Covoiturage proposé · Lyon → Grenoble en covoiturage
Trajet : Lyon → Voiron → Grenoble
Départ : mar. 4 juin 2030, 08:00 (Europe/Paris), à 15\u00a0min près
Chaque lundi et jeudi à 08:00
3 place(s) disponible(s)
Prix : 7,00\u00a0€ par place
Départ place Bellecour
Voir l’offre
#covoiturage #Lyon #Grenoble"""
CANCELLED = "Annulée · Cette offre n’est plus disponible."


@pytest.fixture(scope="module")
async def setup(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PeerSetup]:
    async with peer_following("posts", tmp_path_factory.mktemp("posts"), follows="coop") as s:
        yield s


def plain_text(content: str) -> str:
    """HTML as a reader sees it: a line per paragraph and line break, the tags gone."""
    text = re.sub(r"<br\s*/?>|</p>", "\n", content)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


async def _received(s: PeerSetup, kind: str, offer_id: str) -> dict[str, Any]:
    """The peer's record of our ``kind`` activity about the offer, once Fedify accepted it
    (signature checked, parsed): its JSON-LD as Fedify reads it, its Note, the body as sent."""
    await s.rig.drain()

    def found(state: dict[str, Any]) -> dict[str, Any] | None:
        for r in state["received"]:
            obj = (r.get("json") or {}).get("object")
            if r["type"] == kind and isinstance(obj, dict) and obj.get("id") == offer_id:
                return dict(r)
        return None

    state = await s.peer.wait_for(lambda st: found(st) is not None, timeout=30)
    record = found(state)
    assert record is not None
    bodies = [
        r["body"]
        for r in state["inboxRequests"]
        if isinstance(r.get("body"), dict) and r["body"].get("id") == record["id"]
    ]
    assert bodies, state["inboxRequests"]
    return {**record, "body": bodies[0]}


async def test_the_peer_reads_an_offer_as_an_ordinary_post(setup: PeerSetup) -> None:
    s = setup
    offer = await s.api("POST", "/api/v1/offers", samples.ride(starts_at=STARTS))
    create = await _received(s, "Create", offer["ap_id"])

    # as Fedify parsed it: the text, nothing to hide it behind
    note = create["note"]
    assert note["id"] == offer["ap_id"]
    assert plain_text(note["content"]) == EXPECTED, note["content"]
    parsed = create["json"]["object"]
    assert not {"name", "nameMap", "summary", "summaryMap", "sensitive"} & parsed.keys(), parsed
    tags = parsed["tag"] if isinstance(parsed["tag"], list) else [parsed["tag"]]
    assert {(t["type"], t["name"]) for t in tags} == {
        ("Hashtag", "#covoiturage"),
        ("Hashtag", "#carpool"),
        ("Hashtag", "#Lyon"),
        ("Hashtag", "#Grenoble"),
    }

    # as sent: the offer's language first in the map (Mastodon's language for the post), also
    # after the payload waited in the database (PostgreSQL sorts its keys)
    sent = create["body"]["object"]
    assert list(sent["contentMap"]) == ["fr", "en"]
    assert sent["content"] == sent["contentMap"]["fr"] == note["content"]
    assert plain_text(sent["contentMap"]["en"]).startswith("Ride offered · Lyon → Grenoble")
    assert "Prix : 7,00\u00a0€ par place" in plain_text(sent["content"])
    assert sent["title"] == samples.ride()["title"] and "name" not in sent


async def test_a_cancelled_offer_reads_as_cancelled(setup: PeerSetup) -> None:
    s = setup
    offer = await s.api("POST", "/api/v1/offers", samples.ride(starts_at=STARTS, title="Retour"))
    await _received(s, "Create", offer["ap_id"])
    uuid = offer["ap_id"].rsplit("/", 1)[-1]
    await s.api("POST", f"/api/v1/offers/{uuid}/cancel")
    update = await _received(s, "Update", offer["ap_id"])
    text = plain_text(update["json"]["object"]["content"])
    assert text.splitlines()[:2] == ["Covoiturage proposé · Retour", CANCELLED], text
    assert "disponible(s)" not in text
    assert not {"name", "summary"} & update["json"]["object"].keys()
