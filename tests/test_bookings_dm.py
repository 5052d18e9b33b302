"""Booking by direct message, in process (signed POST → worker, no network): which notes are
requests and which are not, the quantity read from the words, the refusals answered by direct
message, and the later notes joining the booking's conversation. The request is Mastodon's own
direct message (``tests/fixtures/mobilizon-captures/mastodon-post-activity-private.json``),
readdressed in memory. The Fedify peer does the same over real HTTP
(``tests/test_bookings_fedify.py``)."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from activitypub.bookings_dm import quantity_in, without_mentions
from federation.context import Federation
from federation.services.bookings_decide import accept_booking
from federation.services.bookings_texts import refusal_text
from federation.services.offers import create_offer
from models.actors import LocalActor, RemoteActor
from models.bookings import Booking, BookingMessage, BookingState, BookingVia
from models.notifications import Notification, NotificationKind
from models.offers import Offer
from tests import offer_samples as samples
from tests.conftest import FIXTURES, TEST_DOMAIN
from tests.rig import peers
from tests.rig.peers import Signer
from tests.test_bookings_inbox import deliver, sent_to

BASE = f"https://{TEST_DOMAIN}"
ALICE = f"{BASE}/u/alice"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
CAPTURE = json.loads(
    (FIXTURES / "mobilizon-captures/mastodon-post-activity-private.json").read_bytes()
)

sent, bob, yann = peers.sent, peers.bob, peers.yann
"""Fixtures (tests/rig/peers.py): every request recorded offline, Bob and Yann signing."""


def dm(by: RemoteActor, n: int, text: str, in_reply_to: str | None, **changes: Any) -> Any:
    """Mastodon's captured direct message, from ``by`` to Alice, saying ``text``."""
    activity = copy.deepcopy(CAPTURE)
    activity.pop("signature")  # an LD signature by framapiaf.org: not ours to forge
    note = activity["object"]
    status = f"{by.ap_id}/statuses/{n}"
    mention = (
        f'<span class="h-card"><a href="{ALICE}" class="u-url mention">@<span>alice</span></a>'
        "</span>"
    )
    note.update(
        id=status,
        atomUri=status,
        url=status,
        attributedTo=by.ap_id,
        to=[ALICE],
        inReplyTo=in_reply_to,
        content=f"<p>{mention} {text}</p>",
        tag=[{"href": ALICE, "name": f"@alice@{TEST_DOMAIN}", "type": "Mention"}],
    )
    note.update(changes)
    activity.update(id=f"{status}/activity", actor=by.ap_id, to=note["to"])
    return activity


async def notes_to(actor: RemoteActor) -> list[dict[str, Any]]:
    """The direct messages sent to ``actor`` (not the offers' updates), each checked to be one."""
    found = [a for a in await sent_to(actor) if a["type"] == "Create"]
    for activity in found:
        note = activity["object"]
        assert activity["to"] == note["to"] == [actor.ap_id] and "cc" not in activity
        assert note["tag"] == [{"type": "Mention", "href": actor.ap_id, "name": f"@{actor.handle}"}]
    return found


async def _offer(fed: Federation, author: LocalActor, body: dict[str, Any]) -> Offer:
    return await create_offer(fed, author, body)


@pytest.mark.parametrize(
    "text, quantity",
    [
        ("2", 2),
        ("2 places", 2),
        ("2 places stp", 2),
        ("Bonjour, deux places pour Grenoble ?", 2),
        ("3 seats please", 3),
        ("We are 4 people", 4),
        ("2 ?", 2),
        ("Une place, merci", 1),
        ("Bonjour, c’est possible ?", None),
        ("Départ à 8 h ?", None),
        ("J’ai 2 valises", None),
        ("0 place", None),
        ("1000 places", None),
    ],
)
def test_the_quantity_is_read_only_when_plainly_there(text: str, quantity: int | None) -> None:
    assert quantity_in(text) == quantity


def test_the_mentions_an_app_puts_first_are_not_the_message() -> None:
    assert without_mentions("@alice 2 places") == "2 places"
    assert without_mentions("@alice@velos.example @bob Bonjour @carla") == "Bonjour @carla"
    assert without_mentions("@alice") == ""
    assert without_mentions("Bonjour @alice") == "Bonjour @alice"


def test_a_refusal_says_why_in_the_offer_language() -> None:
    full = refusal_text("Lyon → Grenoble", "not_enough", {"available": 0}, "Only 0", "fr")
    assert full == "Votre demande pour « Lyon → Grenoble » ne peut pas être prise : c’est complet."
    closed = refusal_text("Lyon", "offer_not_open", {"status": "cancelled"}, "x", "en")
    assert closed == "Your request for “Lyon” cannot be taken: the offer is cancelled."
    other = refusal_text("Lyon", "overlap", {}, "These nights are already booked", "fr")
    assert other.endswith(" : These nights are already booked")


async def test_a_mastodon_direct_message_in_reply_to_an_offer_is_a_request(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer
) -> None:
    ride = await _offer(fed, member, samples.ride())
    asked = dm(bob[0], 1, "2 places stp", ride.ap_id)
    assert await deliver(client, fed, asked, bob) == "done"
    booking = await Booking.get(ap_id=asked["object"]["id"])
    assert (booking.via, booking.state, booking.quantity) == (
        BookingVia.DIRECT_MESSAGE,
        BookingState.REQUESTED,
        2,
    )
    assert (booking.booker_uri, booking.booker_id, booking.message) == (
        bob[0].ap_id,
        None,
        "2 places stp",
    )
    # delivered twice: one request
    assert await deliver(client, fed, {**asked, "id": asked["id"] + "2"}, bob) == "done"
    assert await Booking.filter(offer_id=ride.id).count() == 1
    [received] = await notes_to(bob[0])
    note = received["object"]
    assert note["inReplyTo"] == asked["object"]["id"]
    assert note["id"].startswith(f"{BASE}/bookings/{booking.local_uuid}#dm-")
    assert "(2 place(s)) est transmise à Alice, qui vous répondra ici." in note["content"]

    # accepted: the answer replies to their latest note; their reply to it is a message
    more = dm(bob[0], 2, "On a un vélo", ride.ap_id)  # a second reply to the offer
    assert await deliver(client, fed, more, bob) == "done"
    await accept_booking(fed, member, booking)
    answer = (await notes_to(bob[0]))[1]["object"]
    assert answer["inReplyTo"] == more["object"]["id"]
    assert "est acceptée (2 place(s))" in answer["content"]
    thanks = dm(bob[0], 3, "Merci !", answer["id"])
    assert await deliver(client, fed, thanks, bob) == "done"
    texts = [m.content for m in await BookingMessage.filter(booking_id=booking.id).order_by("id")]
    assert texts == ["On a un vélo", "Merci !"]


async def test_an_offer_that_accepts_at_once_answers_with_the_acceptance(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer
) -> None:
    body = samples.ride(language="en", title="Lyon to Geneva")
    body["ride"]["auto_accept"] = True
    ride = await _offer(fed, member, body)
    assert await deliver(client, fed, dm(bob[0], 1, "2", ride.ap_id), bob) == "done"
    [answer] = await notes_to(bob[0])
    content = answer["object"]["content"]
    assert "Your request for “Lyon to Geneva” is accepted (2 seat(s)).</p>" in content
    assert f"<p>Meeting point: Lyon, {samples.RIDE_MEETING_ADDRESS}</p>" in content
    assert "<p>Reply to this message to write to Alice.</p>" in content


@pytest.mark.parametrize(
    "changes, state, told",
    [
        # a private message to Alice, about nothing of hers: a mention of her
        ({"inReplyTo": None}, "done", NotificationKind.MENTION),
        ({"to": [ALICE, PUBLIC]}, "done", NotificationKind.REPLY),  # a public reply
        # to their followers too: a reply for their followers, addressed to her
        ({"cc": ["https://peer.example/users/bob/followers"]}, "done", NotificationKind.REPLY),
        ({"to": ["https://other.example/users/yann"]}, "ignored", None),  # to someone else
    ],
)
async def test_other_notes_are_not_requests(
    client: httpx.AsyncClient,
    fed: Federation,
    member: LocalActor,
    bob: Signer,
    changes: dict[str, Any],
    state: str,
    told: NotificationKind | None,
) -> None:
    """Not requests: no booking, no answer; what is addressed to Alice is a reply to her
    offer or a mention of her (``tests/test_replies.py``)."""
    ride = await _offer(fed, member, samples.ride())
    note = dm(bob[0], 1, "2 places", ride.ap_id, **changes)
    assert await deliver(client, fed, note, bob) == state
    assert await Booking.all().count() == 0
    assert await notes_to(bob[0]) == []
    kinds = await Notification.filter(recipient_id=member.id).values_list("kind", flat=True)
    assert list(kinds) == ([told] if told else [])


async def test_what_cannot_be_taken_is_refused_by_direct_message(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer
) -> None:
    """A stay needs dates, which a message does not carry; a delivery job is taken whole,
    whatever the message says; nothing is stored for a refusal."""
    stay = await _offer(fed, member, samples.stay())
    asked = dm(bob[0], 1, "2 personnes", stay.ap_id)
    assert await deliver(client, fed, asked, bob) == "done"
    [refusal] = await notes_to(bob[0])
    assert refusal["object"]["inReplyTo"] == asked["object"]["id"]
    assert (
        "ne peut pas être prise : un séjour se réserve avec ses dates"
        in (refusal["object"]["content"])
    )
    assert await Booking.all().count() == 0
    job = await _offer(fed, member, samples.delivery_job())
    assert await deliver(client, fed, dm(bob[0], 2, "3 places", job.ap_id), bob) == "done"
    [claim] = await Booking.filter(offer_id=job.id)
    assert claim.quantity == 1


async def test_a_third_party_cannot_join_the_conversation(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer, yann: Signer
) -> None:
    ride = await _offer(fed, member, samples.ride())
    assert await deliver(client, fed, dm(bob[0], 1, "1 place", ride.ap_id), bob) == "done"
    [received] = await notes_to(bob[0])
    intruder = dm(yann[0], 1, "Moi aussi", received["object"]["id"])
    assert await deliver(client, fed, intruder, yann) == "failed"
    assert await BookingMessage.all().count() == 0
