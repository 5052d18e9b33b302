"""Booking from Mastodon, proven with an independent implementation: the Fedify peer (Node.js)
follows Alice, sees her ride, and books it by replying with a direct message, as a Mastodon
user would. Alice sees a request like any other and accepts it; the answer and her messages
reach the peer as direct messages (to it alone, mentioning it, in reply to its own notes); its
replies land in the booking's conversation. A direct message that answers no offer is no
booking; one to a closed or full offer is answered with the reason, in the offer's language.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests import offer_samples as samples
from tests.rig.fedify_peer import PUBLIC, direct_messages
from tests.rig.peer_setup import PeerSetup, needs_node, peer_following
from tests.skips import PEER_ONCE, once_on_postgres

pytestmark = [needs_node, once_on_postgres(PEER_ONCE)]  # tests/skips.py

CONTACT = "06 12 34 56 78"
MEETING = "Devant la gare Part-Dieu"


@pytest.fixture(scope="module")
async def setup(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PeerSetup]:
    async with peer_following("dm", tmp_path_factory.mktemp("dm")) as s:
        yield s


async def _offer(s: PeerSetup, body: dict[str, Any]) -> dict[str, Any]:
    """Alice posts an offer; the peer, her follower, receives it."""
    offer: dict[str, Any] = await s.api("POST", "/api/v1/offers", body)
    await s.rig.drain()
    await s.peer.wait_for(
        lambda st: any(
            r["type"] == "Create" and r["json"]["object"]["id"] == offer["ap_id"]
            for r in st["received"]
        )
    )
    return offer


async def _dms(s: PeerSetup, count: int) -> list[dict[str, Any]]:
    """Alice's first ``count`` direct messages to the peer, as sent (once Fedify accepted each:
    signature checked, parsed)."""
    state = await s.peer.wait_for(lambda st: len(direct_messages(st, s.alice)) >= count)
    sent = direct_messages(state, s.alice)
    parsed = {r["id"]: r["note"] for r in state["received"] if r["type"] == "Create"}
    for dm in sent:  # Fedify reads the thread, the addressee and the mention as we mean them
        note = parsed[dm["id"]]
        assert (note["id"], note["inReplyTo"]) == (dm["object"]["id"], dm["object"]["inReplyTo"])
        assert (note["to"], note["cc"]) == ([s.peer.actor_id], [])
        assert note["mentions"] == [{"href": s.peer.actor_id, "name": f"@{s.peer.handle}"}]
        assert note["content"] == dm["object"]["content"]
    return sent


def _check_direct(s: PeerSetup, dm: dict[str, Any], in_reply_to: str) -> str:
    """What Mastodon needs to show a direct message in the person's conversation; its text."""
    note = dm["object"]
    assert dm["to"] == [s.peer.actor_id] and "cc" not in dm, dm
    assert note["to"] == [s.peer.actor_id] and "cc" not in note, note
    assert not PUBLIC & {*dm["to"], *note["to"]}
    assert note["attributedTo"] == s.alice and note["inReplyTo"] == in_reply_to
    assert note["tag"] == [
        {"type": "Mention", "href": s.peer.actor_id, "name": f"@{s.peer.handle}"}
    ]
    mention = (
        f'<p><span class="h-card" translate="no"><a href="{s.peer.actor_id}" '
        'class="u-url mention">@<span>peer</span></a></span> '
    )
    assert note["content"].startswith(mention), note["content"]
    return str(note["content"])


async def _request_for(s: PeerSetup, asked: str) -> dict[str, Any] | None:
    listing = await s.api("GET", "/api/v1/bookings/requests")
    found = [b for b in listing["items"] if b["ap_id"] == asked]
    return found[0] if found else None


async def test_a_ride_booked_by_direct_message(setup: PeerSetup) -> None:
    s = setup
    ride = await _offer(s, samples.ride())
    asked = await s.peer.dm(s.alice, "2 places stp", in_reply_to=ride["ap_id"])
    # Alice sees a request like any other, for 2 seats, with the message
    request = await s.eventually(lambda: _request_for(s, asked["id"]), "the request")
    assert (request["via"], request["state"], request["quantity"]) == (
        "direct_message",
        "requested",
        2,
    )
    assert request["message"] == "2 places stp"
    assert request["booker"]["id"] == s.peer.actor_id
    assert request["offer"]["ap_id"] == ride["ap_id"]
    # the peer is told its request reached her
    [received] = await _dms(s, 1)
    text = _check_direct(s, received, asked["id"])
    assert "Votre demande pour « Lyon → Grenoble en covoiturage » (2 place(s))" in text

    details = {"meeting_point": MEETING, "contact": CONTACT}
    path = f"/api/v1/bookings/{request['id']}"
    accepted = await s.api("POST", f"{path}/accept", {"details": details})
    assert accepted["state"] == "accepted"
    await s.rig.drain()
    answer = (await _dms(s, 2))[1]
    text = _check_direct(s, answer, asked["id"])
    assert "est acceptée (2 place(s)).</p>" in text
    assert f"Point de rendez-vous : {MEETING}" in text and f"Contact : {CONTACT}" in text
    assert "Répondez à ce message pour écrire à alice." in text
    ride_now = await s.api("GET", f"/api/v1/offers/{ride['id']}")
    assert ride_now["quantity_available"] == 1

    # Alice writes on the booking: the peer gets it as a direct message
    await s.api("POST", f"{path}/messages", {"content": "Rendez-vous à 7 h 50"})
    await s.rig.drain()
    chat = (await _dms(s, 3))[2]
    assert "Rendez-vous à 7 h 50" in _check_direct(s, chat, asked["id"])

    # the peer answers in the thread, to her message and to the acceptance: both join the
    # booking's conversation (without the mention its app put first)
    reply = await s.peer.dm(s.alice, "Parfait, merci", in_reply_to=chat["object"]["id"])
    later = await s.peer.dm(s.alice, "J’aurai un vélo plié", in_reply_to=answer["object"]["id"])

    async def conversation() -> list[tuple[str, bool]] | None:
        messages = (await s.api("GET", path))["messages"]
        return [(m["content"], m["mine"]) for m in messages] if len(messages) == 3 else None

    assert await s.eventually(conversation, "the replies") == [
        ("Rendez-vous à 7 h 50", True),
        ("Parfait, merci", False),
        ("J’aurai un vélo plié", False),
    ]
    stored = (await s.api("GET", path))["messages"]
    assert [m["id"] for m in stored[1:]] == [reply["id"], later["id"]]
    # and Alice's next message answers the peer's latest one
    await s.api("POST", f"{path}/messages", {"content": "Très bien"})
    await s.rig.drain()
    _check_direct(s, (await _dms(s, 4))[3], later["id"])

    # the contact left coopub once: in the acceptance, addressed to the peer alone
    payloads = [
        p if isinstance(p, dict) else json.loads(p)
        for (p,) in await s.instance.query("SELECT payload FROM activity")
    ]
    carrying = [p for p in payloads if CONTACT in json.dumps(p, ensure_ascii=False)]
    assert [p["object"]["id"] for p in carrying] == [answer["object"]["id"]]
    assert carrying[0]["to"] == [s.peer.actor_id] and "cc" not in carrying[0]


async def test_a_direct_message_that_answers_no_offer_is_no_booking(setup: PeerSetup) -> None:
    s = setup
    hello = await s.peer.dm(s.alice, "Bonjour, 2 places pour Grenoble ?")

    async def outcome() -> str | None:
        rows = await s.instance.query(
            f"SELECT state FROM inbox_item WHERE activity_id = '{hello['activityId']}'"
        )
        return str(rows[0][0]) if rows and rows[0][0] != "pending" else None

    # no booking: a message to Alice, which she is told of as a mention
    assert await s.eventually(outcome, "the message processed") == "done"
    assert await s.instance.query(f"SELECT id FROM booking WHERE ap_id = '{hello['id']}'") == []
    told = await s.instance.query("SELECT kind FROM notification WHERE text LIKE 'Bonjour, 2%'")
    assert [str(kind) for (kind,) in told] == ["mention"]


async def test_a_closed_or_full_offer_is_refused_by_direct_message(setup: PeerSetup) -> None:
    """The reason comes back in the offer's language (the post the person answered), and
    nothing is stored."""
    s = setup
    closed = await _offer(s, samples.ride(title="Lyon → Annecy"))
    await s.api("POST", f"/api/v1/offers/{closed['id']}/close")
    await s.rig.drain()
    one_seat = samples.ride(title="Lyon → Geneva", language="en")
    one_seat["ride"].update(seats_total=1, seats_available=1)
    small = await _offer(s, one_seat)
    too_late = await s.peer.dm(s.alice, "1 place", in_reply_to=closed["ap_id"])
    too_many = await s.peer.dm(s.alice, "3 seats please", in_reply_to=small["ap_id"])

    def answers(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {
            dm["object"]["inReplyTo"]: dm
            for dm in direct_messages(state, s.alice)
            if dm["object"].get("inReplyTo") in (too_late["id"], too_many["id"])
        }

    await s.rig.drain()
    state = await s.peer.wait_for(lambda st: len(answers(st)) == 2)
    refusals = answers(state)
    french = _check_direct(s, refusals[too_late["id"]], too_late["id"])
    assert "Votre demande pour « Lyon → Annecy » ne peut pas être prise : l’offre est fermée." in (
        french
    )
    english = _check_direct(s, refusals[too_many["id"]], too_many["id"])
    assert "Your request for “Lyon → Geneva” cannot be taken: only 1 seat(s) left." in english
    for asked in (too_late, too_many):
        rows = await s.instance.query(f"SELECT id FROM booking WHERE ap_id = '{asked['id']}'")
        assert rows == []
