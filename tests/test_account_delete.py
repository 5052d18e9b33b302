"""A member deletes their own account from the web: the confirmation page, the password (a
wrong one counts toward the login lockout), the last admin refused, the session ended. The
bookings in progress end with notice to the other side, both ways, before the ``Delete`` of
the actor; the personal data go, a booking shared with another member stays. A remote actor's
``Delete`` ends its bookings here the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from activitypub.bookings_input import BookingAsk
from federation.context import Federation
from federation.inbox import process_due
from federation.services.accounts import create_actor
from federation.services.bookings import receive_request, request_booking
from federation.services.bookings_account_end import ACCOUNT_DELETED
from federation.services.bookings_messages import post_message
from federation.services.bookings_rules import Party
from federation.services.offers import create_offer
from federation.services.password_resets import issue_reset
from federation.services.posting import Draft, announce
from federation.services.removal import check_self_deletion, delete_account
from instance.auth import create_token
from instance.routes.account_delete import DELETING
from models.activities import Activity
from models.actors import ActorKind, LocalActor
from models.alerts import AlertMatch, SavedSearch
from models.bookings import Booking, BookingMessage, BookingState, Progress
from models.delivery import Delivery
from models.errors import Malformed
from models.feed_tokens import FeedPurpose, FeedToken
from models.login_failures import LoginFailure
from models.notifications import Notification, NotificationKind
from models.offers import ApiToken, Offer
from models.posts import Post
from models.signups import Invitation, MembershipRequest, PasswordReset
from tests import offer_samples as samples
from tests.conftest import TEST_DOMAIN
from tests.rig import peers
from tests.rig.canned import post_signed
from tests.rig.pages import csrf_of
from tests.rig.peers import Signer, remote_offer
from tests.test_web import PASSWORD, set_password

BASE = f"https://{TEST_DOMAIN}"
AS2 = "https://www.w3.org/ns/activitystreams"
AS2_TYPE = "application/activity+json"

sent, bob = peers.sent, peers.bob
"""Every request answered offline; Bob on peer.example (remote), signing with key ``a``."""


async def _ride(fed: Federation, author: LocalActor, **ride: Any) -> Offer:
    body = samples.ride()
    body["ride"].update(ride)
    return await create_offer(fed, author, body)


async def _dora(coop: LocalActor) -> LocalActor:
    return await create_actor(ActorKind.MEMBER, "dora", name="Dora", coop=coop)


async def _confirm(client: httpx.AsyncClient, **form: str) -> httpx.Response:
    page = await client.get("/settings/delete")
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD, **form}
    return await client.post("/settings/delete", data=data)


# --- the web journey --------------------------------------------------------------------------


async def test_a_member_deletes_their_account_with_their_password(
    fed: Federation, as_alice: httpx.AsyncClient, alice: LocalActor, coop: LocalActor
) -> None:
    ride = await _ride(fed, alice)
    settings = await as_alice.get("/settings")
    assert 'href="/settings/delete"' in settings.text
    page = await as_alice.get("/settings/delete")
    assert page.status_code == 200
    assert "cannot be undone" in page.text and "stays reserved" in page.text
    assert "Your offer is deleted" in page.text and 'name="password"' in page.text
    french = await as_alice.get("/settings/delete?lang=fr")
    assert "Supprimer votre compte" in french.text and "C’est définitif." in french.text
    assert (await as_alice.get("/settings/delete?lang=en")).status_code == 200  # back

    # no CSRF token: refused, nothing changes
    r = await as_alice.post("/settings/delete", data={"username": "alice", "password": PASSWORD})
    assert r.status_code == 403
    # the wrong password: the page again, with the reason, and a failed login counted
    r = await _confirm(as_alice, password="not the password at all")
    assert r.status_code == 400 and 'id="account-delete-error"' in r.text
    assert "The password is wrong" in r.text
    assert (await LoginFailure.get(key="account:alice")).failures == 1
    # the username not typed again: refused, no password tried
    r = await _confirm(as_alice, username="alicia")
    assert r.status_code == 400 and "Type your username, alice, to confirm." in r.text
    assert (await LoginFailure.get(key="account:alice")).failures == 1
    await alice.refresh_from_db()
    assert alice.deleted_at is None and await Offer.filter(author_id=alice.id).count() == 1

    DELETING.add(alice.id)  # a first submit still deleting it: the second one waits for it
    try:
        r = await _confirm(as_alice)
    finally:
        DELETING.discard(alice.id)
    assert r.status_code == 409 and "already being deleted" in r.text
    assert (await LocalActor.get(id=alice.id)).deleted_at is None

    r = await _confirm(as_alice, username=" Alice ")
    assert r.status_code == 200, r.text
    assert 'id="account-deleted"' in r.text and "you are logged out" in r.text
    await alice.refresh_from_db()
    assert alice.deleted_at is not None and alice.password_hash is None
    assert await Offer.filter(author_id=alice.id).count() == 0
    assert await Activity.filter(actor_id=alice.id, type="Delete", object_uri=f"{BASE}/u/alice")
    # the session is over, and nobody logs in as alice again
    r = await as_alice.get("/settings")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    login = await as_alice.get("/login")
    r = await as_alice.post(
        "/login",
        data={"csrf_token": csrf_of(login.text), "username": "alice", "password": PASSWORD},
    )
    assert r.status_code == 401
    assert (await as_alice.get("/u/alice", headers={"Accept": "text/html"})).status_code == 410
    # her offer's URL: a Tombstone for servers, a page saying so for people
    r = await as_alice.get(f"/offers/{ride.local_uuid}", headers={"Accept": AS2_TYPE})
    assert r.status_code == 410
    assert r.json()["type"] == "Tombstone" and r.json()["id"] == ride.ap_id
    r = await as_alice.get(f"/offers/{ride.local_uuid}")
    assert r.status_code == 410 and "This offer has been deleted." in r.text
    # two deletions racing each publish a Delete: the URL still answers 410, not 500
    first = await Activity.get(type="Delete", object_uri=ride.ap_id)
    await Activity.create(
        ap_id=f"{first.ap_id}-again",
        actor_id=alice.id,
        type="Delete",
        object_uri=ride.ap_id,
        payload=first.payload,
    )
    r = await as_alice.get(f"/offers/{ride.local_uuid}", headers={"Accept": AS2_TYPE})
    assert r.status_code == 410 and r.json()["type"] == "Tombstone"


async def test_wrong_passwords_lock_the_form_like_the_login(
    as_alice: httpx.AsyncClient, alice: LocalActor
) -> None:
    """Five wrong passwords (``login_account_failures``) lock the account: the right one is
    then refused too, without being checked, and the account stays."""
    for _ in range(5):
        r = await _confirm(as_alice, password="guess")
        assert r.status_code == 400
    r = await _confirm(as_alice)
    assert r.status_code == 429 and "Retry-After" in r.headers
    await alice.refresh_from_db()
    assert alice.deleted_at is None and alice.password_hash


async def test_the_last_admin_cannot_delete_their_account(
    fed: Federation, as_alice: httpx.AsyncClient, alice: LocalActor, coop: LocalActor
) -> None:
    alice.is_admin = True
    await alice.save()
    page = await as_alice.get("/settings/delete")
    assert page.status_code == 409
    assert "You are the last administrator of this instance" in page.text
    assert 'name="password"' not in page.text  # no form to fill in for nothing
    r = await as_alice.post(
        "/settings/delete",
        data={"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD},
    )
    assert r.status_code == 409 and "last administrator" in r.text
    await alice.refresh_from_db()
    assert alice.deleted_at is None and alice.is_admin
    french = await as_alice.get("/settings/delete?lang=fr")
    assert "Vous êtes la dernière personne à administrer cette instance" in french.text
    await as_alice.get("/settings/delete?lang=en")

    # another admin (disabled ones do not count), and she may go
    dora = await _dora(coop)
    dora.is_admin, dora.disabled = True, True
    await dora.save()
    assert (await as_alice.get("/settings/delete")).status_code == 409
    dora.disabled = False
    await dora.save()
    assert (await _confirm(as_alice)).status_code == 200
    await alice.refresh_from_db()
    assert alice.deleted_at is not None and not alice.is_admin


async def test_a_delivery_under_way_must_be_reported_first(
    fed: Federation, as_alice: httpx.AsyncClient, alice: LocalActor, coop: LocalActor
) -> None:
    dora = await _dora(coop)
    job = await create_offer(fed, dora, samples.delivery_job())
    taken = await request_booking(fed, alice, job, BookingAsk(quantity=1))
    await Booking.filter(id=taken.id).update(
        state=BookingState.ACCEPTED, progress=Progress.PICKED_UP
    )
    page = await as_alice.get("/settings/delete")
    assert page.status_code == 409 and "picked up and is not finished" in page.text
    await Booking.filter(id=taken.id).update(state=BookingState.DONE, progress=Progress.DELIVERED)
    assert (await _confirm(as_alice)).status_code == 200
    # a finished booking is left as it is, for dora
    done = await Booking.get(id=taken.id)
    assert (done.state, done.reason) == (BookingState.DONE, "")


# --- bookings in progress ---------------------------------------------------------------------


async def _payloads(actor: LocalActor, after: int) -> list[dict[str, Any]]:
    """What ``actor`` published since activity ``after``, in order."""
    found = Activity.filter(actor_id=actor.id, id__gt=after).order_by("id")
    return [a.payload for a in await found]


async def test_bookings_in_progress_end_with_notice_to_the_other_side(
    fed: Federation, member: LocalActor, coop: LocalActor, bob: Signer
) -> None:
    alice, remote = member, bob[0]
    dora = await _dora(coop)
    # asked by alice: of Bob (waiting, then accepted) and of Dora (accepted)
    asked = await request_booking(
        fed, alice, await remote_offer(remote, samples.ride(), 1), BookingAsk()
    )
    agreed = await request_booking(
        fed, alice, await remote_offer(remote, samples.ride(), 2), BookingAsk()
    )
    agreement = f"{remote.ap_id}/agreements/2"
    await Booking.filter(id=agreed.id).update(state=BookingState.ACCEPTED, agreement_id=agreement)
    doras_ride = await _ride(fed, dora, auto_accept=True)
    with_dora = await request_booking(fed, alice, doras_ride, BookingAsk())
    assert with_dora.state == BookingState.ACCEPTED
    # asked of alice: by Bob (waiting; accepted at once) and by Dora (waiting)
    ride, auto = await _ride(fed, alice), await _ride(fed, alice, auto_accept=True)
    party = Party(remote.ap_id, "Bob")
    waiting = await receive_request(fed, ride, BookingAsk(), party, ap_id=f"{remote.ap_id}/o/1")
    taken = await receive_request(fed, auto, BookingAsk(), party, ap_id=f"{remote.ap_id}/o/2")
    assert taken.state == BookingState.ACCEPTED and taken.agreement_id
    by_dora = await request_booking(fed, dora, ride, BookingAsk())
    await post_message(fed, dora, by_dora, "Je peux porter un sac ?")
    # over already: left alone
    old = await request_booking(fed, alice, await _ride(fed, dora), BookingAsk())
    await Booking.filter(id=old.id).update(state=BookingState.DONE)
    last = await Activity.all().order_by("-id").first()
    before = last.id if last else 0

    deleted = await delete_account(fed, alice)

    told = await _payloads(alice, after=before)
    notices = [(a["type"], a["object"]) for a in told if a["type"] in ("Undo", "Reject")]
    assert notices == [
        ("Undo", asked.ap_id),  # withdrawn, as the booker does
        ("Undo", agreed.ap_id),
        ("Reject", waiting.ap_id),  # declined, as the author does
        ("Reject", taken.agreement_id),  # the agreement cancelled
    ]
    for notice in (a for a in told if a["type"] in ("Undo", "Reject")):
        assert notice["to"] == [remote.ap_id] and notice["content"] == ACCOUNT_DELETED
    # every notice is signed and queued before the actor's Delete (the last activity)
    assert told[-1]["id"] == deleted.ap_id and told[-1]["object"] == f"{BASE}/u/alice"
    notices_ids = [a["id"] for a in told if a["type"] in ("Undo", "Reject")]
    inboxes = await Delivery.filter(activity__ap_id__in=notices_ids).values_list("inbox", flat=True)
    assert inboxes == [remote.delivery_inbox] * 4
    # Bob's server knows alice through their bookings alone: it is told of her deletion too
    assert await Delivery.filter(activity__ap_id=deleted.ap_id, inbox=remote.delivery_inbox)

    # Dora, here, is told in her notifications; her rows keep the booking and its messages
    seen = await Notification.filter(recipient_id=dora.id, kind=NotificationKind.BOOKING)
    assert sorted(
        (n.event, n.text.rsplit(" — ", 1)[-1]) for n in seen if n.event != "requested"
    ) == [
        ("cancelled", ACCOUNT_DELETED),
        ("declined", ACCOUNT_DELETED),
    ]
    left = {b.id: (b.state, b.reason) for b in await Booking.filter(author_id=dora.id)}
    assert left[with_dora.id] == (BookingState.CANCELLED, ACCOUNT_DELETED)
    assert left[old.id] == (BookingState.DONE, "")
    mine = await Booking.get(id=by_dora.id)
    assert (mine.state, mine.reason) == (BookingState.DECLINED, ACCOUNT_DELETED)
    assert await BookingMessage.filter(booking_id=by_dora.id).count() == 1
    # the seats came back on Dora's ride
    assert (await Offer.get(id=doras_ride.id)).quantity_available == 3
    # the rows only alice had (the other party is remote and keeps its own) are gone
    gone = [asked.id, agreed.id, waiting.id, taken.id]
    assert await Booking.filter(id__in=gone).count() == 0


async def test_a_remote_actors_delete_ends_its_bookings_here(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor, bob: Signer
) -> None:
    """Whichever of Bob's notices and Bob's ``Delete`` arrives first, his bookings with Alice
    end, and Alice is told."""
    alice, remote = member, bob[0]
    asked = await request_booking(
        fed, alice, await remote_offer(remote, samples.ride(), 1), BookingAsk()
    )
    agreed = await request_booking(
        fed, alice, await remote_offer(remote, samples.ride(), 2), BookingAsk()
    )
    await Booking.filter(id=agreed.id).update(
        state=BookingState.ACCEPTED, agreement_id=f"{remote.ap_id}/agreements/2"
    )
    ride = await _ride(fed, alice, auto_accept=True)
    party = Party(remote.ap_id, "Bob")
    taken = await receive_request(fed, ride, BookingAsk(), party, ap_id=f"{remote.ap_id}/o/1")
    assert (await Offer.get(id=ride.id)).quantity_available == 2

    delete = {
        "@context": AS2,
        "id": f"{remote.ap_id}#delete",
        "type": "Delete",
        "actor": remote.ap_id,
        "object": remote.ap_id,
        "to": [f"{AS2}#Public"],
    }
    assert remote.key_id
    r = await post_signed(client, f"{BASE}/inbox", delete, remote.key_id, bob[1])
    assert r.status_code == 202, r.text
    while await process_due(fed):
        pass

    states = {b.id: (b.state, b.reason) for b in await Booking.all()}
    assert states == {
        asked.id: (BookingState.DECLINED, ACCOUNT_DELETED),
        agreed.id: (BookingState.CANCELLED, ACCOUNT_DELETED),
        taken.id: (BookingState.CANCELLED, ACCOUNT_DELETED),
    }
    events = await Notification.filter(recipient_id=alice.id, kind=NotificationKind.BOOKING)
    assert sorted(n.event for n in events) == ["cancelled", "cancelled", "declined", "requested"]
    assert (await Offer.get(id=ride.id)).quantity_available == 3
    # nothing is sent to a server about an actor it deleted
    assert not [a for a in await Activity.filter(type__in=("Undo", "Reject"))]


# --- personal data ----------------------------------------------------------------------------


async def test_personal_data_go_and_the_rest_is_stated(
    fed: Federation, member: LocalActor, coop: LocalActor, bob: Signer
) -> None:
    alice = await set_password(member)
    alice.email = "alice@example.org"
    await alice.save()
    now = datetime.now(UTC)
    await create_token(alice, "ci")
    search = await SavedSearch.create(member_id=alice.id, name="Grenoble", created_at=now)
    seen = await remote_offer(bob[0], samples.ride(), 7)
    if not await AlertMatch.exists(search_id=search.id, offer_id=seen.id):  # matched on arrival
        await AlertMatch.create(search=search, offer=seen, member_id=alice.id, matched_at=now)
    await FeedToken.create(
        member_id=alice.id, purpose=FeedPurpose.CALENDAR, token_hash="a" * 64, created_at=now
    )
    await Notification.create(
        recipient_id=alice.id,
        kind=NotificationKind.FOLLOW,
        actor_uri=bob[0].ap_id,
        actor_name="Bob",
        dedupe_key="follow:test",
        created_at=now,
    )
    await issue_reset(alice, 24)
    other = await create_actor(ActorKind.COOP, "roues", name="Roues")
    await MembershipRequest.create(member_id=alice.id, coop_id=other.id, created_at=now)
    unused = await Invitation.create(
        code_hash="b" * 64,
        created_by_id=alice.id,
        expires_at=now + timedelta(days=7),
        created_at=now,
    )
    post = await announce(fed, alice, Draft(text="Bonjour la coop", language="fr"))
    # a conversation with a remote party: only alice's copy is here
    asked = await request_booking(fed, alice, seen, BookingAsk())
    await post_message(fed, alice, asked, "Bonjour Bob")

    await delete_account(fed, alice)

    await alice.refresh_from_db()
    assert (alice.email, alice.password_hash, alice.name, alice.coop_admin) == (
        None,
        None,
        "",
        False,
    )
    assert alice.private_key_pem and alice.public_key_pem  # to sign the Delete, retried
    assert alice.username == "alice"  # reserved
    for model, owner in (
        (ApiToken, "member_id"),
        (SavedSearch, "member_id"),
        (AlertMatch, "member_id"),
        (FeedToken, "member_id"),
        (Notification, "recipient_id"),
        (PasswordReset, "member_id"),
        (MembershipRequest, "member_id"),
    ):
        assert await model.filter(**{owner: alice.id}).count() == 0, model.__name__
    assert (await Invitation.get(id=unused.id)).revoked_at is not None
    assert await Post.filter(id=post.id).count() == 0
    deleted_post = await Activity.get(type="Delete", object_uri=post.ap_id)
    assert deleted_post.actor_id == alice.id
    assert await Booking.filter(id=asked.id).count() == 0
    assert await BookingMessage.filter(booking_id=asked.id).count() == 0


async def test_only_a_members_session_reaches_the_page(
    fed: Federation, anonymous: httpx.AsyncClient, coop: LocalActor
) -> None:
    """Coops do not log in (their admins delete them with ``coopub coop delete``)."""
    r = await anonymous.get("/settings/delete")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with pytest.raises(Malformed) as refused:
        await check_self_deletion(coop)
    assert refused.value.public_message == "Only members can delete their account"
