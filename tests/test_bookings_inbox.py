"""The remote side of bookings through the inbox (signed POST → worker), with no network: a
remote request decided here, answered or refused with a reason; answers, cancellations,
status and messages accepted only from the party entitled to send them, nothing changed
otherwise; private details only in what is addressed to the confirmed party."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from activitypub.bookings import booking_context
from activitypub.bookings_input import BookingAsk, Details
from federation.context import Federation
from federation.inbox import process_due
from federation.services.bookings import receive_request, request_booking
from federation.services.bookings_decide import accept_booking
from federation.services.bookings_expiry import expire_bookings
from federation.services.bookings_lifecycle import cancel
from federation.services.bookings_messages import post_message
from federation.services.bookings_rules import Party
from federation.services.offers import create_offer
from models.activities import Activity, InboxItem
from models.actors import LocalActor, RemoteActor
from models.bookings import Booking, BookingMessage, BookingState, BookingVia, Progress
from models.delivery import Delivery
from models.offers import Offer, OfferStatus
from models.posts import Post, Visibility
from tests import offer_samples as samples
from tests.conftest import TEST_DOMAIN
from tests.rig import peers
from tests.rig.canned import post_signed
from tests.rig.peers import Signer, remote_offer

BASE = f"https://{TEST_DOMAIN}"
AS2 = "https://www.w3.org/ns/activitystreams"
VF = {
    "vf": "https://w3id.org/valueflows/ont/vf#",
    "om2": "http://www.ontology-of-units-of-measure.org/resource/om-2/",
    "Agreement": "vf:Agreement",
    "stipulates": "vf:stipulates",
    "Commitment": "vf:Commitment",
    "satisfies": "vf:satisfies",
    "resourceQuantity": "vf:resourceQuantity",
    "hasUnit": "om2:hasUnit",
    "hasNumericalValue": "om2:hasNumericalValue",
}
"""Mitra's context: FEP-0837's terms, no coopub terms."""
CONTACT = "06 99 88 77 66"

sent, bob, yann = peers.sent, peers.bob, peers.yann
"""Fixtures (tests/rig/peers.py): every request recorded offline, Bob and Yann signing."""


async def deliver(client: httpx.AsyncClient, fed: Federation, activity: Any, by: Signer) -> str:
    """POST ``activity`` signed by ``by`` to the shared inbox, process it; its inbox state."""
    actor, pem = by
    assert actor.key_id
    r = await post_signed(client, f"{BASE}/inbox", activity, actor.key_id, pem)
    assert r.status_code == 202, r.text
    while await process_due(fed):
        pass
    return (await InboxItem.get(activity_id=activity["id"])).state.value


async def sent_to(actor: RemoteActor) -> list[dict[str, Any]]:
    rows = (
        await Delivery.filter(inbox=actor.delivery_inbox)
        .order_by("id")
        .prefetch_related("activity")
    )
    return [row.activity.payload for row in rows]


def request(by: RemoteActor, offer: str, n: int = 1, quantity: Any = "2", **extra: Any) -> Any:
    return {
        "@context": [AS2, VF],
        "id": f"{by.ap_id}/offers/{n}",
        "type": "Offer",
        "actor": by.ap_id,
        "to": f"{BASE}/u/alice",
        "object": {
            "type": "Agreement",
            "stipulates": {
                "type": "Commitment",
                "satisfies": f"{offer}#primary",
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": quantity},
            },
            **extra,
        },
    }


async def _ride(fed: Federation, author: LocalActor, **ride: Any) -> Offer:
    body = samples.ride()
    body["ride"].update(ride)
    return await create_offer(fed, author, body)


async def test_a_remote_request_is_decided_here(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer
) -> None:
    ride = await _ride(fed, member, auto_accept=True)
    offer = request(bob[0], ride.ap_id, content="<p>Bonjour <script>x()</script>Alice</p>")
    assert await deliver(client, fed, offer, bob) == "done"
    booking = await Booking.get(ap_id=offer["id"])
    assert (booking.booker_uri, booking.booker_id) == (bob[0].ap_id, None)
    assert (booking.state, booking.quantity) == (BookingState.ACCEPTED, 2)
    assert booking.message == "Bonjour Alice"
    assert booking.agreement_id == f"{BASE}/agreements/{booking.local_uuid}"
    assert (await Offer.get(id=ride.id)).quantity_available == 1
    accept, update = await sent_to(bob[0])
    assert (accept["type"], accept["object"], accept["to"]) == (
        "Accept",
        offer["id"],
        [bob[0].ap_id],
    )
    assert "cc" not in accept
    assert accept["result"]["id"] == booking.agreement_id
    assert accept["result"]["stipulates"]["resourceQuantity"]["hasNumericalValue"] == "2"
    assert accept["result"]["privateDetails"]["meetingPoint"] == (
        f"Lyon, {samples.RIDE_MEETING_ADDRESS}"
    )
    assert accept["result"]["stipulatesReciprocal"]["resourceQuantity"]["hasNumericalValue"] == "14"
    # the booker's instance gets the offer's new state, in words too
    assert update["type"] == "Update" and update["object"]["id"] == ride.ap_id
    assert update["object"]["publishes"]["availableQuantity"]["hasNumericalValue"] == "1"
    assert "plus que 1 place(s)" in update["object"]["content"]
    # delivered twice: nothing more
    await InboxItem.filter(activity_id=offer["id"]).delete()
    assert await deliver(client, fed, offer, bob) == "done"
    assert await Booking.all().count() == 1


async def test_an_offer_signed_by_someone_else_is_refused_at_the_door(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer, yann: Signer
) -> None:
    """Yann signs a request in Bob's name: 401, nothing queued, nothing booked."""
    ride = await _ride(fed, member)
    forged = request(bob[0], ride.ap_id)
    assert yann[0].key_id
    r = await post_signed(client, f"{BASE}/inbox", forged, yann[0].key_id, yann[1])
    assert r.status_code == 401
    assert await InboxItem.all().count() == 0 and await Booking.all().count() == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"quantity": "5"}, "Only 3 place(s) left"),
        ({"quantity": "two"}, "The request could not be read"),
        ({"offer": f"{BASE}/offers/00000000-0000-4000-8000-000000000000"}, "There is no such"),
        ({"closed": True}, "This offer is closed"),
        ({"stay": True}, "A stay needs an arrival and a departure"),
        ({"to_followers": True}, "The request could not be read"),
    ],
)
async def test_a_refused_request_is_answered_with_its_reason(
    client: httpx.AsyncClient,
    fed: Federation,
    member: LocalActor,
    bob: Signer,
    change: dict[str, Any],
    reason: str,
) -> None:
    ride = await _ride(fed, member)
    target = ride.ap_id
    if change.get("closed"):
        await Offer.filter(id=ride.id).update(status=OfferStatus.CLOSED)
    if change.get("stay"):
        target = (await create_offer(fed, member, samples.stay())).ap_id
    offer = request(bob[0], change.get("offer", target), quantity=change.get("quantity", "1"))
    if change.get("to_followers"):
        offer["cc"] = [f"{bob[0].ap_id}/followers"]
    assert await deliver(client, fed, offer, bob) == "done"
    assert await Booking.all().count() == 0
    [refusal] = [a for a in await sent_to(bob[0]) if a["type"] == "Reject"]
    assert refusal["object"] == offer["id"] and refusal["to"] == [bob[0].ap_id]
    assert refusal["content"].startswith(reason)
    assert (await Offer.get(id=ride.id)).quantity_available == 3


async def test_answers_come_only_from_the_author_of_the_offer(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer, yann: Signer
) -> None:
    """Alice (here) books Bob's ride (remote)."""
    ride = await remote_offer(bob[0], samples.ride())
    booking = await request_booking(fed, member, ride, BookingAsk(quantity=2, message="Salut"))
    [asked] = await sent_to(bob[0])
    assert (asked["type"], asked["id"], asked["to"]) == ("Offer", booking.ap_id, [bob[0].ap_id])
    assert asked["object"]["stipulates"]["satisfies"] == f"{ride.ap_id}#primary"
    assert asked["object"]["content"] == "Salut"

    agreement = f"{bob[0].ap_id}/agreements/1"

    def accept(n: int, quantity: str = "2", **details: Any) -> dict[str, Any]:
        actor = bob[0].ap_id
        return {
            "@context": asked["@context"],
            "id": f"https://peer.example/activities/{n}",
            "type": "Accept",
            "actor": actor,
            "to": [f"{BASE}/u/alice"],
            "object": booking.ap_id,
            "result": {
                "type": "Agreement",
                "id": agreement,
                "stipulates": {
                    **asked["object"]["stipulates"],
                    "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": quantity},
                },
                "privateDetails": details,
            },
        }

    stranger = {**accept(1), "id": "https://other.example/activities/1", "actor": yann[0].ap_id}
    stranger["result"] = {**stranger["result"], "id": "https://other.example/agreements/1"}
    assert await deliver(client, fed, stranger, yann) == "failed"
    assert await deliver(client, fed, accept(2, quantity="1"), bob) == "failed"
    never = {**accept(3), "object": "https://coop.test/bookings/never-sent"}
    assert await deliver(client, fed, never, bob) == "ignored"
    assert (await Booking.get(id=booking.id)).state == BookingState.REQUESTED

    assert await deliver(client, fed, accept(4, contact=CONTACT), bob) == "done"
    accepted = await Booking.get(id=booking.id)
    assert (accepted.state, accepted.agreement_id) == (BookingState.ACCEPTED, agreement)
    assert accepted.private == {"contact": CONTACT}
    # a second Accept cannot change what was shared
    assert await deliver(client, fed, accept(6, contact="06 00 00 00 00"), bob) == "failed"
    assert (await Booking.get(id=booking.id)).private == {"contact": CONTACT}

    cancel = {
        "@context": AS2,
        "id": "https://peer.example/activities/5",
        "type": "Reject",
        "actor": bob[0].ap_id,
        "to": [f"{BASE}/u/alice"],
        "object": agreement,
        "content": "<p>Voiture en panne</p>",
    }
    assert await deliver(client, fed, cancel, bob) == "done"
    cancelled = await Booking.get(id=booking.id)
    assert (cancelled.state, cancelled.reason) == (BookingState.CANCELLED, "Voiture en panne")
    assert cancelled.private == {}  # the booking will not happen: the contact is erased


async def test_a_reject_of_a_request_that_expired_here_only_confirms_it(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer
) -> None:
    """Both sides expire an unanswered request at its date; the author's ``Reject`` that
    follows is taken without changing anything (not left as a failed item)."""
    ride = await remote_offer(bob[0], samples.ride())
    booking = await request_booking(fed, member, ride, BookingAsk(quantity=1))
    await Booking.filter(id=booking.id).update(state=BookingState.EXPIRED, reason="expired")
    reject = {
        "@context": AS2,
        "id": "https://peer.example/activities/expired-1",
        "type": "Reject",
        "actor": bob[0].ap_id,
        "to": [f"{BASE}/u/alice"],
        "object": booking.ap_id,
        "content": "Nobody answered in time",
    }
    assert await deliver(client, fed, reject, bob) == "done"
    after = await Booking.get(id=booking.id)
    assert (after.state, after.reason) == (BookingState.EXPIRED, "expired")


async def test_an_accept_sent_before_the_date_is_taken_after_it_expired_here(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer
) -> None:
    """The author accepted in time, but its ``Accept`` arrives once this side has expired the
    request on its own clock: it is taken (the author holds the seats); an ``Accept`` after
    the author's own answer is not."""
    ride = await remote_offer(bob[0], samples.ride())
    booking = await request_booking(fed, member, ride, BookingAsk(quantity=1))
    await Booking.filter(id=booking.id).update(happens_at=datetime.now(UTC) - timedelta(minutes=1))
    assert await expire_bookings(fed) == 1
    [asked] = await sent_to(bob[0])
    agreement = f"{bob[0].ap_id}/agreements/late"
    accept = {
        "@context": asked["@context"],
        "id": "https://peer.example/activities/late-1",
        "type": "Accept",
        "actor": bob[0].ap_id,
        "to": [f"{BASE}/u/alice"],
        "object": booking.ap_id,
        "result": {
            "type": "Agreement",
            "id": agreement,
            "stipulates": asked["object"]["stipulates"],
            "privateDetails": {"contact": CONTACT},
        },
    }
    assert await deliver(client, fed, accept, bob) == "done"
    taken = await Booking.get(id=booking.id)
    assert (taken.state, taken.agreement_id) == (BookingState.ACCEPTED, agreement)
    assert taken.private == {"contact": CONTACT}

    declined = await request_booking(
        fed, member, await remote_offer(bob[0], samples.ride(), 2), BookingAsk()
    )
    await Booking.filter(id=declined.id).update(
        state=BookingState.EXPIRED,
        decided_at=datetime.now(UTC),  # the author's Reject came
    )
    late = {**accept, "id": "https://peer.example/activities/late-2", "object": declined.ap_id}
    late["result"] = {
        **accept["result"],
        "id": f"{bob[0].ap_id}/agreements/late-2",
        "stipulates": {
            **accept["result"]["stipulates"],
            "satisfies": f"{declined.offer_uri}#primary",
        },
    }
    assert await deliver(client, fed, late, bob) == "failed"  # refused: not_requested
    assert (await Booking.get(id=declined.id)).state == BookingState.EXPIRED


async def test_an_undo_that_crossed_the_acceptance_cancels_the_booking(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer
) -> None:
    """Bob withdraws his request while Alice accepts it: his ``Undo`` reads the booking as
    requested, the acceptance lands first; the ``Undo`` still cancels (seats given back), it
    is not lost, and the details shared are erased."""
    ride = await _ride(fed, member)
    asked = request(bob[0], ride.ap_id, quantity="2")
    assert await deliver(client, fed, asked, bob) == "done"
    read_by_the_undo = await Booking.get(ap_id=asked["id"])
    read_by_alice = await Booking.get(ap_id=asked["id"])
    await accept_booking(fed, member, read_by_alice, Details(contact=CONTACT))
    assert (await Offer.get(id=ride.id)).quantity_available == 1
    await cancel(fed, read_by_the_undo, "booker", "Plus besoin")
    after = await Booking.get(id=read_by_the_undo.id)
    assert (after.state, after.reason, after.private) == (
        BookingState.CANCELLED,
        "Plus besoin",
        {},
    )
    assert (await Offer.get(id=ride.id)).quantity_available == 3


async def _claimed_job(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer
) -> tuple[Offer, Booking, str]:
    """Bob's courier coop (remote) claims Alice's delivery job, and is assigned it."""
    job = await create_offer(fed, member, samples.delivery_job())
    claim = request(bob[0], job.ap_id, quantity="1")
    assert await deliver(client, fed, claim, bob) == "done"
    booking = await accept_booking(
        fed, member, await Booking.get(ap_id=claim["id"]), Details(contact=CONTACT)
    )
    return job, booking, claim["id"]


def status(by: RemoteActor, agreement: str, n: int, value: str) -> dict[str, Any]:
    return {
        "@context": booking_context(),
        "id": f"https://{by.domain}/activities/s{n}",
        "type": "Update",
        "actor": by.ap_id,
        "to": [f"{BASE}/u/alice"],
        "object": {"type": "Agreement", "id": agreement, "status": value, "content": "ok"},
    }


async def test_progress_comes_from_the_courier_in_order(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer, yann: Signer
) -> None:
    job, booking, claim = await _claimed_job(client, fed, member, bob)
    proposal = f"{claim}#agreement"
    assert await deliver(client, fed, status(yann[0], proposal, 1, "picked_up"), yann) == (
        "ignored"  # an Update of an object on another host: dropped by the inbox itself
    )
    foreign = status(bob[0], "https://peer.example/agreements/other", 2, "picked_up")
    assert await deliver(client, fed, foreign, bob) == "ignored"
    assert await deliver(client, fed, status(bob[0], proposal, 3, "delivered"), bob) == "failed"
    assert (await Booking.get(id=booking.id)).progress is None
    assert await deliver(client, fed, status(bob[0], proposal, 4, "picked_up"), bob) == "done"
    assert (await Booking.get(id=booking.id)).progress == Progress.PICKED_UP
    assert (await Offer.get(id=job.id)).status == OfferStatus.PICKED_UP
    assert await deliver(client, fed, status(bob[0], proposal, 5, "delivered"), bob) == "done"
    done = await Booking.get(id=booking.id)
    assert (done.state, done.progress) == (BookingState.DONE, Progress.DELIVERED)
    assert (await Offer.get(id=job.id)).status == OfferStatus.DELIVERED
    undo = {
        "@context": AS2,
        "id": "https://other.example/activities/u1",
        "type": "Undo",
        "actor": yann[0].ap_id,
        "to": [f"{BASE}/u/alice"],
        "object": claim,
    }
    assert await deliver(client, fed, undo, yann) == "failed"


async def test_messages_only_between_the_two_parties(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer, yann: Signer
) -> None:
    _, booking, _ = await _claimed_job(client, fed, member, bob)

    def note(by: RemoteActor, n: int, *, public: bool = False) -> dict[str, Any]:
        note_id = f"https://{by.domain}/notes/{n}"
        to = [f"{BASE}/u/alice"] + ([f"{AS2}#Public"] if public else [])
        return {
            "@context": AS2,
            "id": f"{note_id}/activity",
            "type": "Create",
            "actor": by.ap_id,
            "to": to,
            "object": {
                "id": note_id,
                "type": "Note",
                "attributedTo": by.ap_id,
                "to": to,
                "context": booking.agreement_id,
                "content": "<p>J’arrive <a href='javascript:x'>vite</a></p>",
            },
        }

    assert await deliver(client, fed, note(bob[0], 1), bob) == "done"
    [received] = await BookingMessage.filter(booking_id=booking.id)
    assert (received.author_uri, received.content) == (bob[0].ap_id, "J’arrive vite")
    assert await deliver(client, fed, note(yann[0], 2), yann) == "failed"
    # a public note is no message of the conversation; naming Alice, it is a mention of her
    assert await deliver(client, fed, note(bob[0], 3, public=True), bob) == "done"
    assert await BookingMessage.all().count() == 1
    assert await Post.filter(visibility=Visibility.PUBLIC).count() == 1


async def test_private_details_travel_only_to_the_confirmed_party(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer, yann: Signer
) -> None:
    job = await create_offer(fed, member, samples.delivery_job())
    rival = request(yann[0], job.ap_id, quantity="1")
    assert await deliver(client, fed, rival, yann) == "done"
    claim = request(bob[0], job.ap_id, quantity="1")
    assert await deliver(client, fed, claim, bob) == "done"
    await accept_booking(
        fed, member, await Booking.get(ap_id=claim["id"]), Details(contact=CONTACT)
    )
    [declined] = [a for a in await sent_to(yann[0]) if a["type"] == "Reject"]
    assert declined["content"] == "The job was assigned to someone else"
    payloads = [a.payload for a in await Activity.all()]
    assert {p["type"] for p in payloads} >= {"Create", "Update", "Accept", "Reject"}
    for payload in payloads:
        text = json.dumps(payload)
        private = CONTACT in text or "12 rue Sully" in text
        if private:
            assert payload["type"] == "Accept", payload["type"]
            assert payload["to"] == [bob[0].ap_id] and "cc" not in payload
    for payload in await sent_to(yann[0]):
        assert CONTACT not in json.dumps(payload)


async def test_a_booking_by_direct_message_is_answered_by_direct_message(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer
) -> None:
    """What the Mastodon path builds on: a request received as a direct message (here handed
    to the service as the DM reader will) is answered, and talked about, in direct messages."""
    ride = await _ride(fed, member, auto_accept=True)
    asked = f"{bob[0].ap_id}/statuses/1"
    booking = await receive_request(
        fed,
        ride,
        BookingAsk(quantity=1, message="2 places ?"),
        Party(bob[0].ap_id, "Bob"),
        ap_id=asked,
        via=BookingVia.DIRECT_MESSAGE,
    )
    assert booking.state == BookingState.ACCEPTED
    reply = await post_message(fed, member, booking, "Rendez-vous à 8 h")
    answer, _update, chat = await sent_to(bob[0])
    for dm in (answer, chat):
        assert dm["type"] == "Create" and dm["to"] == [bob[0].ap_id]
        note = dm["object"]
        assert note["inReplyTo"] == asked and note["to"] == [bob[0].ap_id]
        assert note["tag"] == [
            {"type": "Mention", "href": bob[0].ap_id, "name": "@bob@peer.example"}
        ]
    assert "est acceptée (1 place(s))" in answer["object"]["content"]
    assert "Point de rendez-vous : Lyon" in answer["object"]["content"]
    assert chat["object"]["id"] == reply.ap_id
    # Bob answers from Mastodon, in reply to that message: it joins the conversation
    response = {
        "@context": AS2,
        "id": f"{bob[0].ap_id}/statuses/2/activity",
        "type": "Create",
        "actor": bob[0].ap_id,
        "to": [f"{BASE}/u/alice"],
        "cc": [],
        "object": {
            "id": f"{bob[0].ap_id}/statuses/2",
            "type": "Note",
            "attributedTo": bob[0].ap_id,
            "to": [f"{BASE}/u/alice"],
            "inReplyTo": reply.ap_id,
            "content": '<p><span class="h-card"><a href="x">@alice</a></span> Parfait</p>',
            "tag": [{"type": "Mention", "href": f"{BASE}/u/alice"}, {"type": "Hashtag"}],
        },
    }
    assert await deliver(client, fed, response, bob) == "done"
    texts = [m.content for m in await BookingMessage.filter(booking_id=booking.id).order_by("id")]
    assert texts == ["Rendez-vous à 8 h", "Parfait"]  # without the mention Mastodon put first
