"""Account moderation in process: silence (out of search unless followed), suspension of a
remote account (403 at the inbox with real signatures, nothing delivered, purged, the row kept
across a refetch) and of a member (no login nor token, actor served with ``suspended``, offers
hidden, ``Update`` queued), removal of an offer or a post with the reason sent to its author
(notification here, direct ``Note`` from the instance actor there), an incoming ``Block``, the
admin pages (admins only, CSRF, French) and the moderation log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from activitypub.urls import path_for
from federation.actors import fetch_actor
from federation.blocks import ActorSuspended
from federation.context import Federation
from federation.delivery import publish
from federation.inbox import dispatch
from federation.services import account_moderation as moderation
from federation.services.accounts import create_actor
from federation.services.feed import home_feed, tagged
from federation.services.offers import create_offer
from federation.services.posting import Draft, announce
from federation.services.search import SearchParams, search_offers
from instance.auth import create_token
from instance.cli import parser
from models.activities import Activity, InboxItem, InboxState
from models.actors import ActorKind, LocalActor, RemoteActor
from models.delivery import Delivery
from models.follows import Follow, FollowState
from models.moderation import ActionKind, ModerationAction
from models.notifications import Notification, NotificationKind
from models.offers import Offer, OfferKind, Purpose
from models.posts import Post, PostKind, Visibility
from tests.conftest import TEST_DOMAIN
from tests.offer_samples import ride
from tests.rig.canned import actor_document, keypair, post_signed, remote_actor
from tests.rig.pages import csrf_of
from tests.rig.remote import RemoteServer
from tests.rig.web_clients import browser
from tests.test_web import PASSWORD, set_password

BASE = f"https://{TEST_DOMAIN}"
NOW = datetime.now(UTC)
AS2 = {"Accept": "application/activity+json"}


async def remote_offer(author: str, title: str = "Lyon → Die") -> Offer:
    host = author.split("/")[2]
    return await Offer.create(
        ap_id=f"https://{host}/offers/{uuid.uuid4()}",
        author_uri=author,
        instance_domain=host,
        kind=OfferKind.RIDE,
        purpose=Purpose.OFFER,
        title=title,
        language="fr",
        starts_at=NOW + timedelta(days=2),
        published_at=NOW,
        updated_at=NOW,
        expires_at=NOW + timedelta(days=3),
    )


async def follows(fed: Federation, member: LocalActor, target: RemoteActor | LocalActor) -> None:
    """``member`` follows ``target`` (accepted)."""
    local = isinstance(target, LocalActor)
    uri = fed.urls.actor(target) if isinstance(target, LocalActor) else target.ap_id
    await Follow.create(
        ap_id=f"{BASE}/activities/{uuid.uuid4()}", follower_uri=fed.urls.actor(member),
        target_uri=uri, local_follower=member, state=FollowState.ACCEPTED,
        **({"local_target": target} if local else {"remote_target": target}),
    )  # fmt: skip


async def followed_by_remote(fed: Federation, who: RemoteActor, target: LocalActor) -> None:
    await Follow.create(
        ap_id=f"{who.ap_id}#follows/{uuid.uuid4()}", follower_uri=who.ap_id,
        target_uri=fed.urls.actor(target), remote_follower=who, local_target=target,
        state=FollowState.ACCEPTED,
    )  # fmt: skip


def titles(found: list[Offer]) -> set[str]:
    return {o.title for o in found}


async def admin_of(coop: LocalActor) -> LocalActor:
    admin = await create_actor(ActorKind.MEMBER, "camille", coop=coop)
    admin.is_admin = True
    return await set_password(admin)


# --- silence -----------------------------------------------------------------------------------


async def test_a_silenced_account_stays_out_of_search_unless_followed(
    fed: Federation, coop: LocalActor, member: LocalActor
) -> None:
    zoe, _ = await remote_actor("zoe", "social.example")
    bob = await create_actor(ActorKind.MEMBER, "bob", name="Bob", coop=coop)
    dora = await create_actor(ActorKind.MEMBER, "dora", name="Dora", coop=coop)
    await remote_offer(zoe.ap_id, "Zoé's ride")
    await remote_offer("https://fine.example/users/yann", "Yann's ride")
    await create_offer(fed, bob, ride(title="Bob's ride"))
    await follows(fed, member, zoe)
    await follows(fed, member, bob)
    everything = {"Zoé's ride", "Yann's ride", "Bob's ride"}
    assert titles(await search_offers(SearchParams())) == everything
    tag = fed.urls.url("tag", name="lyon")
    await Post.create(
        ap_id=f"{zoe.ap_id}/statuses/1", author_uri=zoe.ap_id, kind=PostKind.NOTE,
        visibility=Visibility.PUBLIC, content=f'<p><a href="{tag}">#Lyon</a></p>',
        published_at=NOW, updated_at=NOW,
    )  # fmt: skip
    bobs = await announce(fed, bob, Draft("Départ de #Lyon demain", "fr"))
    assert len(await tagged(fed, "lyon")) == 2

    first = await moderation.silence(fed, zoe.ap_id, reason="spam")
    await moderation.silence(fed, fed.urls.actor(bob), reason="too many rides")

    assert titles(await search_offers(SearchParams())) == {"Yann's ride"}
    assert titles(await search_offers(SearchParams(), dora)) == {"Yann's ride"}
    assert titles(await search_offers(SearchParams(), member)) == everything  # a follower
    assert await tagged(fed, "lyon") == [] and await tagged(fed, "lyon", viewer=dora) == []
    assert {p.id for p in await tagged(fed, "lyon", viewer=member)} == {
        bobs.id, (await Post.get(author_uri=zoe.ap_id)).id,
    }  # fmt: skip
    assert (await RemoteActor.get(id=zoe.id)).silenced_at is not None
    told = await Notification.get(recipient_id=bob.id, kind=NotificationKind.MODERATION)
    assert (told.event, told.text) == ("silence", "too many rides")
    assert (first.kind, first.target_uri, first.reason, first.moderator_id) == (
        ActionKind.SILENCE, zoe.ap_id, "spam", None,
    )  # fmt: skip

    with pytest.raises(moderation.AlreadyDone):
        await moderation.silence(fed, zoe.ap_id)
    await moderation.unsilence(fed, zoe.ap_id)
    await moderation.unsilence(fed, fed.urls.actor(bob))
    assert titles(await search_offers(SearchParams(), dora)) == everything
    assert await ModerationAction.all().count() == 4
    lifted = await Notification.filter(recipient_id=bob.id, event="unsilence").count()
    assert lifted == 1


# --- suspension of a remote account ------------------------------------------------------------


def follow_of(actor_id: str, target: str) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor_id}#follows/{uuid.uuid4()}",
        "type": "Follow",
        "actor": actor_id,
        "object": target,
    }


async def test_a_suspended_remote_account_is_refused_purged_and_remembered(
    fed: Federation,
    client: httpx.AsyncClient,
    coop: LocalActor,
    member: LocalActor,
    remote: RemoteServer,
) -> None:
    key = keypair("a")
    doc = actor_document("zoe", remote.host, public_pem=key.public_pem, scheme="http")
    remote.serve_json("/users/zoe", doc)
    key_id = doc["publicKey"]["id"]
    first = follow_of(doc["id"], fed.urls.actor(coop))
    r = await post_signed(client, f"{BASE}/inbox", first, key_id, key.private_pem)
    assert r.status_code == 202, r.text
    # a second one: her key's owner is now held by this process (federation/actors.py)
    second = follow_of(doc["id"], fed.urls.actor(coop))
    r = await post_signed(client, f"{BASE}/inbox", second, key_id, key.private_pem)
    assert r.status_code == 202, r.text
    zoe = await RemoteActor.get(ap_id=doc["id"])
    await followed_by_remote(fed, zoe, member)
    await follows(fed, member, zoe)
    await remote_offer(zoe.ap_id, "Zoé's ride")
    await Post.create(
        ap_id=f"{zoe.ap_id}/statuses/1", author_uri=zoe.ap_id, kind=PostKind.NOTE,
        visibility=Visibility.PUBLIC, content="<p>hi</p>", published_at=NOW, updated_at=NOW,
    )  # fmt: skip
    queued = await publish(fed, member, _create(fed, member, "before"), [zoe.inbox])

    action = await moderation.suspend(fed, zoe.ap_id, reason="harassment")

    assert action.kind == ActionKind.SUSPEND
    kept = await RemoteActor.get(id=zoe.id)  # the row stays, flagged
    assert kept.suspended_at is not None
    assert not await Offer.filter(author_uri=zoe.ap_id).exists()
    assert not await Post.filter(author_uri=zoe.ap_id).exists()
    assert not await Follow.filter(follower_uri=zoe.ap_id).exists()
    assert not await Follow.filter(target_uri=zoe.ap_id).exists()
    assert (await Delivery.get(activity_id=queued.id)).state == "failed"

    # its signed activities: 403 before anything is stored
    again = follow_of(doc["id"], fed.urls.actor(coop))
    r = await post_signed(client, f"{BASE}/inbox", again, key_id, key.private_pem)
    assert r.status_code == 403 and r.json()["error"] == ActorSuspended.public_message
    assert await InboxItem.all().count() == 2  # the Follows before the suspension only
    # nothing queued for it any more
    after = await publish(fed, member, _create(fed, member, "after"), [zoe.inbox])
    assert not await Delivery.filter(activity_id=after.id).exists()
    # a refetch keeps the flag
    await fetch_actor(fed, zoe.ap_id, refresh=True)
    assert (await RemoteActor.get(id=zoe.id)).suspended_at is not None

    await moderation.unsuspend(fed, zoe.ap_id)
    r = await post_signed(client, f"{BASE}/inbox", again, key_id, key.private_pem)
    assert r.status_code == 202, r.text
    assert not await Follow.filter(target_uri=zoe.ap_id).exists()  # not restored


def _create(fed: Federation, author: LocalActor, text: str) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": fed.urls.new_activity_id(),
        "type": "Create",
        "actor": fed.urls.actor(author),
        "object": {"id": f"{BASE}/posts/{uuid.uuid4()}", "type": "Note", "content": text},
    }


async def test_what_cannot_be_moderated(
    fed: Federation, coop: LocalActor, member: LocalActor, remote: RemoteServer
) -> None:
    admin = await admin_of(coop)
    instance = await fed.instance_actor()
    with pytest.raises(moderation.NotModerated):
        await moderation.suspend(fed, fed.urls.actor(instance))
    with pytest.raises(moderation.NotModerated):
        await moderation.silence(fed, fed.urls.actor(admin))
    with pytest.raises(moderation.NotModerated) as own:
        await moderation.suspend(fed, fed.urls.actor(admin), moderator=admin)
    assert own.value.public_message == "You cannot moderate your own account"
    with pytest.raises(moderation.UnknownAccount):
        await moderation.suspend(fed, f"{BASE}/u/nobody")
    with pytest.raises(moderation.UnknownAccount):
        await moderation.suspend(fed, remote.url("/users/ghost"))  # 404 there
    with pytest.raises(moderation.AlreadyDone):
        await moderation.unsuspend(fed, fed.urls.actor(member))
    for text in ("alice", "@alice", f"@alice@{TEST_DOMAIN}", fed.urls.actor(member)):
        assert (await moderation.find_account(fed, text)) == member
    with pytest.raises(moderation.UnknownAccount):
        await moderation.find_account(fed, "nobody")
    assert await ModerationAction.all().count() == 0


# --- suspension of a member ----------------------------------------------------------------------


async def test_a_suspended_member_is_locked_out_and_hidden(
    fed: Federation, app: Starlette, coop: LocalActor, alice: LocalActor
) -> None:
    zoe, _ = await remote_actor("zoe", "social.example")
    await followed_by_remote(fed, zoe, alice)
    offer = await create_offer(fed, alice, ride(title="Alice's ride"))
    dora = await create_actor(ActorKind.MEMBER, "dora", coop=coop)
    await follows(fed, dora, alice)
    post = await announce(fed, alice, Draft("Atelier samedi", "fr"))
    assert [p.id for p in (await home_feed(fed, dora)).posts] == [post.id]
    token = await create_token(alice)
    bearer = {"Authorization": f"Bearer {token}"}
    async with browser(app, "alice") as session:
        assert (await session.get("/api/v1/bookings", headers=bearer)).status_code == 200

        await moderation.suspend(fed, fed.urls.actor(alice), reason="fraud")

        page = await session.get("/my/offers")  # the open session ends
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert (await session.get("/api/v1/bookings", headers=bearer)).status_code == 401
        form = {"csrf_token": csrf_of((await session.get("/login")).text)}
        r = await session.post("/login", data={**form, "username": "alice", "password": PASSWORD})
        assert r.status_code != 303

        doc = (await session.get("/u/alice", headers=AS2)).json()
        assert doc["suspended"] is True and doc["name"] == "alice" and doc["summary"] == ""
        assert {"suspended": "toot:suspended"} in doc["@context"] and "icon" not in doc
        assert doc["publicKey"]["publicKeyPem"] == alice.public_key_pem
        assert (await session.get("/u/alice")).status_code == 403
        assert (await session.get("/u/alice/outbox", headers=AS2)).status_code == 403
        assert (await session.get(f"/offers/{offer.local_uuid}")).status_code == 404
        assert (await session.get(f"/offers/{offer.local_uuid}", headers=AS2)).status_code == 404
        assert (await session.get(f"/api/v1/offers/{offer.local_uuid}")).status_code == 404
        assert "Alice's ride" not in (await session.get("/c/velos")).text
    assert titles(await search_offers(SearchParams(), dora)) == set()  # even for a follower
    assert (await home_feed(fed, dora)).posts == []
    update = await Activity.filter(type="Update", actor_id=alice.id).order_by("-id").first()
    assert update is not None and update.payload["object"]["suspended"] is True
    assert await Delivery.filter(activity_id=update.id, inbox=zoe.delivery_inbox).exists()
    assert await Offer.exists(id=offer.id)  # nothing deleted

    await moderation.unsuspend(fed, fed.urls.actor(alice), reason="cleared")
    async with browser(app, "alice") as session:  # logs in again
        assert (await session.get("/u/alice")).status_code == 200
    last = await Activity.filter(type="Update", actor_id=alice.id).order_by("-id").first()
    assert last is not None and "suspended" not in last.payload["object"]
    told = await Notification.get(recipient_id=alice.id, kind=NotificationKind.MODERATION)
    assert (told.event, told.text) == ("unsuspend", "cleared")
    assert titles(await search_offers(SearchParams(), dora)) == {"Alice's ride"}


# --- removing an offer or a post ---------------------------------------------------------------


async def test_removing_a_local_offer_deletes_it_and_tells_its_author(
    fed: Federation, coop: LocalActor, member: LocalActor
) -> None:
    zoe, _ = await remote_actor("zoe", "social.example")
    await followed_by_remote(fed, zoe, member)
    offer = await create_offer(fed, member, ride(title="Lyon → Die"))
    admin = await admin_of(coop)
    with pytest.raises(moderation.NoReason):
        await moderation.remove_offer(fed, offer, reason="  ")

    action = await moderation.remove_offer(fed, offer, reason="Not a ride", moderator=admin)

    assert not await Offer.exists(id=offer.id)
    delete = await Activity.get(type="Delete", object_uri=offer.ap_id)
    assert await Delivery.filter(activity_id=delete.id, inbox=zoe.delivery_inbox).exists()
    told = await Notification.get(recipient_id=member.id, kind=NotificationKind.MODERATION)
    assert told.event == "remove_offer" and told.text == "Lyon → Die: Not a ride"
    assert (action.kind, action.object_uri, action.target_uri, action.moderator_id) == (
        ActionKind.REMOVE_OFFER, offer.ap_id, fed.urls.actor(member), admin.id,
    )  # fmt: skip


async def test_removing_a_remote_offer_sends_its_author_a_direct_message(
    fed: Federation, member: LocalActor
) -> None:
    zoe, _ = await remote_actor("zoe", "social.example")
    offer = await remote_offer(zoe.ap_id, "Trajet <douteux>")

    await moderation.remove_offer(fed, offer, reason="Arnaque <b>évidente</b>")

    assert not await Offer.exists(id=offer.id)
    instance = await fed.instance_actor()
    [sent] = await Activity.filter(actor_id=instance.id, type="Create")
    note = sent.payload["object"]
    assert sent.payload["to"] == [zoe.ap_id] and note["to"] == [zoe.ap_id]
    assert "cc" not in note or not note["cc"]
    assert not sent.public
    assert "Arnaque &lt;b&gt;évidente&lt;/b&gt;" in note["content"]
    assert "Trajet &lt;douteux&gt;" in note["content"] and "modérateurs" in note["content"]
    assert note["tag"][0]["href"] == zoe.ap_id
    [row] = await Delivery.filter(activity_id=sent.id)
    assert row.inbox == zoe.inbox
    logged = await ModerationAction.get(kind=ActionKind.REMOVE_OFFER)
    assert (logged.target_uri, logged.object_uri) == (zoe.ap_id, offer.ap_id)


def test_the_commands_parse() -> None:
    args = parser().parse_args(["account", "suspend", "@zoe@bad.example", "--reason", "spam"])
    assert (args.command_target, args.action, args.account, args.reason) == (
        ("instance.cli_accounts", "cmd_account_action"), "suspend", "@zoe@bad.example", "spam",
    )  # fmt: skip
    args = parser().parse_args(["offer", "remove", "https://x.example/o/1", "--reason", "r"])
    assert args.command_target == ("instance.cli_accounts", "cmd_remove_offer")
    with pytest.raises(SystemExit):
        parser().parse_args(["offer", "remove", "https://x.example/o/1"])  # a reason is required


async def test_removing_posts(fed: Federation, member: LocalActor) -> None:
    zoe, _ = await remote_actor("zoe", "social.example")
    ours = await announce(fed, member, Draft("Vide-grenier dimanche", "fr"))
    theirs = await Post.create(
        ap_id=f"{zoe.ap_id}/statuses/1", author_uri=zoe.ap_id, kind=PostKind.NOTE,
        visibility=Visibility.PUBLIC, content="<p>spam</p>", language="en",
        published_at=NOW, updated_at=NOW,
    )  # fmt: skip

    await moderation.remove_post(fed, ours, reason="Off topic")
    await moderation.remove_post(fed, theirs, reason="Spam")

    assert await Post.all().count() == 0
    assert await Activity.filter(type="Delete", object_uri=ours.ap_id).exists()
    told = await Notification.get(recipient_id=member.id, kind=NotificationKind.MODERATION)
    assert (told.event, told.text) == ("remove_post", "Off topic")
    instance = await fed.instance_actor()
    dm = await Activity.get(actor_id=instance.id, type="Create")
    assert "Reason: Spam" in dm.payload["object"]["content"]


# --- an incoming Block --------------------------------------------------------------------------


async def test_an_incoming_block_removes_the_follows_both_ways(
    fed: Federation, member: LocalActor, coop: LocalActor
) -> None:
    zoe, _ = await remote_actor("zoe", "social.example")
    await followed_by_remote(fed, zoe, member)
    await follows(fed, member, zoe)
    await followed_by_remote(fed, zoe, coop)  # not blocked: stays
    block = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{zoe.ap_id}#blocks/1",
        "type": "Block",
        "actor": zoe.ap_id,
        "object": fed.urls.actor(member),
    }

    async def receive(activity: dict[str, Any]) -> InboxState:
        item = await InboxItem.create(
            activity_id=activity["id"], actor_uri=zoe.ap_id, type=activity["type"],
            payload=activity, next_attempt_at=NOW,
        )  # fmt: skip
        return await dispatch(fed, item)

    assert await receive(block) == InboxState.DONE
    assert await Follow.all().values_list("target_uri", flat=True) == [fed.urls.actor(coop)]
    undo = {**block, "id": f"{zoe.ap_id}#blocks/1/undo", "type": "Undo", "object": block}
    assert await receive(undo) == InboxState.DONE  # acknowledged, nothing to restore
    assert await Follow.all().count() == 1


# --- the pages -----------------------------------------------------------------------------------


async def test_the_admin_pages(
    fed: Federation, app: Starlette, coop: LocalActor, alice: LocalActor, bob: LocalActor
) -> None:
    await admin_of(coop)
    theirs = await create_offer(fed, bob, ride(title="Trajet louche"))
    offer_path = path_for("offer", uuid=theirs.local_uuid)
    async with browser(app, None) as anonymous:
        r = await anonymous.get("/admin/accounts")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    async with browser(app, "bob") as member:
        assert (await member.get("/admin/accounts")).status_code == 403
        offer_page = await member.get(offer_path)
        assert offer_page.status_code == 200 and "remove-offer-form" not in offer_page.text
    async with browser(app, "camille") as web:
        page = await web.get("/admin/accounts")
        assert page.status_code == 200 and 'id="no-moderated"' in page.text
        r = await web.get("/admin/accounts", params={"q": f"@alice@{TEST_DOMAIN}"})
        alice_uri = fed.urls.actor(alice)
        assert r.status_code == 303
        assert r.headers["location"] == path_for("admin_account", query={"uri": alice_uri})
        account = await web.get(r.headers["location"])
        assert 'id="silence-form"' in account.text and 'id="suspend-form"' in account.text
        token = csrf_of(account.text)
        form = {"uri": alice_uri, "action": "silence", "reason": "Spam"}
        assert (await web.post("/admin/accounts/action", data=form)).status_code == 403
        r = await web.post("/admin/accounts/action", data={**form, "csrf_token": token})
        assert r.status_code == 303
        account = await web.get(r.headers["location"])
        assert f"alice@{TEST_DOMAIN} is silenced." in account.text
        assert 'data-state="silenced"' in account.text and 'id="unsilence-form"' in account.text
        r = await web.post(
            "/admin/accounts/action",
            data={**form, "csrf_token": token, "uri": fed.urls.actor(await fed.instance_actor())},
        )
        assert "cannot be silenced or suspended" in (await web.get(r.headers["location"])).text

        offer_page = await web.get(offer_path)
        assert 'id="remove-offer-form"' in offer_page.text
        removal = {"csrf_token": token, "offer": theirs.ap_id, "reason": "Arnaque"}
        r = await web.post("/admin/offers/remove", data=removal)
        assert r.status_code == 303 and not await Offer.exists(id=theirs.id)

        listing = await web.get("/admin/accounts")
        assert f'data-uri="{alice_uri}"' in listing.text
        assert 'data-kind="remove_offer"' in listing.text and "Arnaque" in listing.text
        assert 'data-kind="silence"' in listing.text
        french = await web.get("/admin/accounts?lang=fr")
        assert "Journal de modération" in french.text
        alice_fr = await web.get(path_for("admin_account", query={"uri": alice_uri, "lang": "fr"}))
        assert "Lever la limitation" in alice_fr.text
    action = await ModerationAction.get(kind=ActionKind.SILENCE)
    assert action.moderator_id is not None and action.reason == "Spam"
    async with browser(app, "alice") as member:
        notes = await member.get("/notifications")
        assert "limited your account" in notes.text and "Spam" in notes.text
    async with browser(app, "bob") as member:
        notes = await member.get("/notifications")
        assert "removed your offer" in notes.text and "Trajet louche: Arnaque" in notes.text
