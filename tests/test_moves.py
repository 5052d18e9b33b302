"""Moving an account, in process: aliases on the new account, the ``Move`` from the old one, the
followers here moved at once, and an incoming ``Move`` (Mastodon's shape) honoured only when the
new account, fetched over real HTTP from a local server, lists the old one."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pyld import jsonld

from activitypub.jsonld import _loader
from federation.context import Federation
from federation.inbox import process_due
from federation.services.accounts import create_actor
from federation.services.follows import follow
from federation.services.moves import (
    AccountMoved,
    AliasMissing,
    add_alias,
    cancel_move,
    move_account,
    remove_alias,
)
from federation.services.offers import create_offer
from federation.services.profiles import actor_document
from models.activities import Activity, InboxItem, InboxState
from models.actors import ActorKind, LocalActor, RemoteActor
from models.delivery import Delivery
from models.errors import NotFound
from models.follows import Follow, FollowState
from models.login_failures import LoginFailure
from models.notifications import Notification, NotificationKind
from tests import offer_samples as samples
from tests.conftest import FIXTURES, TEST_DOMAIN
from tests.rig.canned import document_at, keypair, post_signed, remote_actor
from tests.rig.pages import csrf_of
from tests.rig.remote import RemoteServer
from tests.test_web import PASSWORD

AS = "https://www.w3.org/ns/activitystreams#"
MASTODON_MOVE = json.loads((FIXTURES / "mastodon-move.json").read_text())


def serve_actor(remote: RemoteServer, name: str, also_known_as: list[str] | None = None) -> str:
    """A Mastodon-shaped actor on the local server; returns its id."""
    actor_id = remote.url(f"/users/{name}")
    doc = document_at(actor_id, public_pem=keypair("b").public_pem)
    if also_known_as is not None:
        doc["@context"][-1]["alsoKnownAs"] = {"@id": "as:alsoKnownAs", "@type": "@id"}
        doc["alsoKnownAs"] = also_known_as
    remote.serve_json(f"/users/{name}", doc)
    return actor_id


async def remote_follower(fed: Federation, target: LocalActor, name: str) -> RemoteActor:
    """A remote actor on ``{name}.example`` following ``target`` (accepted)."""
    actor, _ = await remote_actor(name, f"{name}.example")
    await Follow.create(
        ap_id=f"{actor.ap_id}#follows/1",
        follower_uri=actor.ap_id,
        target_uri=fed.urls.actor(target),
        remote_follower=actor,
        local_target=target,
        state=FollowState.ACCEPTED,
    )
    return actor


async def sent(kind: str) -> list[tuple[dict[str, Any], list[str]]]:
    """Activities of ``kind`` queued, with the inboxes each goes to."""
    out = []
    for activity in await Activity.filter(type=kind).order_by("id"):
        inboxes = await Delivery.filter(activity_id=activity.id).values_list("inbox", flat=True)
        out.append((activity.payload, sorted(str(i) for i in inboxes)))
    return out


async def test_an_alias_is_added_then_removed_and_followers_are_told(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    bob = await remote_follower(fed, member, "bob")
    old = serve_actor(remote, "zoe")
    remote.serve_json(
        "/.well-known/webfinger",
        {
            "subject": f"acct:zoe@{remote.host}",
            "links": [{"rel": "self", "type": "application/activity+json", "href": old}],
        },
        "application/jrd+json",
    )

    assert await add_alias(fed, member, f"@zoe@{remote.host}") == old  # by its handle
    await member.refresh_from_db()
    assert member.also_known_as == [old]
    doc = await actor_document(fed, member)
    assert doc["alsoKnownAs"] == [old] and "movedTo" not in doc
    [expanded] = jsonld.expand(doc, {"documentLoader": _loader})
    assert expanded[AS + "alsoKnownAs"] == [{"@id": old}]
    [(update, inboxes)] = await sent("Update")
    assert update["object"]["alsoKnownAs"] == [old]
    assert inboxes == [bob.delivery_inbox]

    assert await add_alias(fed, member, old) == old  # already listed: nothing more sent
    assert len(await sent("Update")) == 1

    assert await remove_alias(fed, member, old) == old
    await member.refresh_from_db()
    assert member.also_known_as is None
    assert "alsoKnownAs" not in await actor_document(fed, member)
    updates = await sent("Update")
    assert len(updates) == 2 and "alsoKnownAs" not in updates[1][0]["object"]
    with pytest.raises(NotFound):
        await remove_alias(fed, member, old)


async def test_a_move_is_refused_until_the_new_account_lists_the_old_one(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    new = serve_actor(remote, "alice", also_known_as=[])
    with pytest.raises(AliasMissing) as refused:
        await move_account(fed, member, new)
    assert "add this account's address as an alias" in refused.value.public_message
    await member.refresh_from_db()
    assert member.moved_to is None
    assert await sent("Move") == [] and await sent("Update") == []


async def test_a_move_tells_remote_followers_and_moves_the_local_ones(
    fed: Federation, member: LocalActor, coop: LocalActor, remote: RemoteServer
) -> None:
    old = fed.urls.actor(member)
    bob = await remote_follower(fed, member, "bob")
    carla = await create_actor(ActorKind.MEMBER, "carla", name="Carla", coop=coop)
    await follow(fed, carla, old)  # a follower here
    new = serve_actor(remote, "alice", also_known_as=[old])

    moved = await move_account(fed, member, f" {new} ")
    assert moved.target == new and moved.inboxes == 1 and moved.local_followers == 1

    [(move, inboxes)] = await sent("Move")
    assert {k: move[k] for k in ("type", "actor", "object", "target")} == {
        "type": "Move",
        "actor": old,
        "object": old,
        "target": new,
    }
    assert move["id"].startswith(f"https://{TEST_DOMAIN}/")
    assert inboxes == [bob.delivery_inbox]
    [(update, _)] = await sent("Update")
    assert update["object"]["movedTo"] == new
    doc = await actor_document(fed, member)
    assert doc["movedTo"] == new
    [expanded] = jsonld.expand(doc, {"documentLoader": _loader})
    assert expanded[AS + "movedTo"] == [{"@id": new}]

    # carla now asks to follow the new account, and no longer follows the old one
    assert not await Follow.exists(follower_uri=fed.urls.actor(carla), target_uri=old)
    record = await Follow.get(follower_uri=fed.urls.actor(carla), target_uri=new)
    assert record.state == FollowState.PENDING
    [(asked, to)] = await sent("Follow")
    assert asked["object"] == new and to == [new + "/inbox"]
    [told] = await Notification.filter(recipient_id=carla.id)
    assert told.kind == NotificationKind.MOVE and told.object_uri == new

    with pytest.raises(AccountMoved):  # publishes nothing new
        await create_offer(fed, member, samples.ride())

    await cancel_move(fed, member)  # moving back: an Update, the followers stay where they are
    await member.refresh_from_db()
    assert member.moved_to is None and "movedTo" not in await actor_document(fed, member)
    assert len(await sent("Update")) == 2
    assert await Follow.exists(follower_uri=fed.urls.actor(carla), target_uri=new)


async def test_a_move_to_an_account_here_moves_the_followers_at_once(
    fed: Federation, member: LocalActor, coop: LocalActor
) -> None:
    old = fed.urls.actor(member)
    carla = await create_actor(ActorKind.MEMBER, "carla", name="Carla", coop=coop)
    dora = await create_actor(ActorKind.MEMBER, "dora", name="Dora", coop=coop)
    await follow(fed, carla, old)
    with pytest.raises(AliasMissing):
        await move_account(fed, member, f"@dora@{TEST_DOMAIN}")
    await add_alias(fed, dora, f"@alice@{TEST_DOMAIN}")
    await LocalActor.filter(id=dora.id).update(suspended_at=datetime.now(UTC))
    with pytest.raises(NotFound):  # as Mastodon: nobody is sent to a suspended account
        await move_account(fed, member, f"@dora@{TEST_DOMAIN}")
    assert (await LocalActor.get(id=member.id)).moved_to is None
    await LocalActor.filter(id=dora.id).update(suspended_at=None)
    moved = await move_account(fed, member, f"@dora@{TEST_DOMAIN}")
    assert moved.target == fed.urls.actor(dora) and moved.local_followers == 1
    record = await Follow.get(follower_uri=fed.urls.actor(carla), target_uri=moved.target)
    assert record.state == FollowState.ACCEPTED and record.local_target_id == dora.id
    assert await sent("Follow") == []  # nothing goes over the network


# --- an incoming Move ---------------------------------------------------------------------


@pytest.fixture
async def olga(fed: Federation) -> tuple[RemoteActor, str]:
    """The old account, on old.example, signing with key ``a``."""
    return await remote_actor("olga", "old.example", key=keypair("a"))


def mastodon_move(old: str, new: str, n: int = 1) -> dict[str, Any]:
    """Mastodon's ``Move`` (tests/fixtures/mastodon-move.json) between our test accounts."""
    move: dict[str, Any] = copy.deepcopy(MASTODON_MOVE)
    move.update(id=f"{old}#moves/{n}", actor=old, object=old, target=new)
    return move


async def deliver(
    client: httpx.AsyncClient, fed: Federation, signer: tuple[RemoteActor, str], act: dict[str, Any]
) -> InboxState:
    actor, pem = signer
    assert actor.key_id
    r = await post_signed(client, f"https://{TEST_DOMAIN}/inbox", act, actor.key_id, pem)
    assert r.status_code == 202, r.text
    while await process_due(fed):
        pass
    return (await InboxItem.get(activity_id=act["id"])).state


async def followed(fed: Federation, member: LocalActor, old: RemoteActor) -> RemoteActor:
    """``member`` follows ``old`` (accepted); nothing queued so far."""
    await follow(fed, member, old.ap_id)
    await Follow.filter(target_uri=old.ap_id).update(state=FollowState.ACCEPTED)
    await Activity.all().delete()
    return old


async def test_an_incoming_move_is_honoured_when_the_target_lists_the_old_account(
    fed: Federation,
    client: httpx.AsyncClient,
    member: LocalActor,
    olga: tuple[RemoteActor, str],
    remote: RemoteServer,
) -> None:
    old = await followed(fed, member, olga[0])
    new = serve_actor(remote, "olga", also_known_as=[old.ap_id])

    move = mastodon_move(old.ap_id, new)
    assert await deliver(client, fed, olga, move) == InboxState.DONE
    assert [r.path for r in remote.gets] == ["/users/olga"]  # fetched fresh

    alice = fed.urls.actor(member)
    assert not await Follow.exists(follower_uri=alice, target_uri=old.ap_id)
    record = await Follow.get(follower_uri=alice, target_uri=new)
    assert record.state == FollowState.PENDING
    [(asked, to)] = await sent("Follow")
    assert asked["object"] == new and to == [new + "/inbox"]
    [(undo, undo_to)] = await sent("Undo")
    assert undo["object"]["object"] == old.ap_id and undo_to == [old.inbox]
    [told] = await Notification.filter(recipient_id=member.id, kind=NotificationKind.MOVE)
    assert told.actor_uri == old.ap_id and told.object_uri == new
    await old.refresh_from_db()
    assert old.document["movedTo"] == new

    # redelivered (a new id, as a retrying server may send): nobody left to move
    assert await deliver(client, fed, olga, mastodon_move(old.ap_id, new, 2)) == (
        InboxState.IGNORED
    )
    assert len(await sent("Follow")) == 1


async def test_an_incoming_move_without_the_alias_changes_nothing(
    fed: Federation,
    client: httpx.AsyncClient,
    member: LocalActor,
    olga: tuple[RemoteActor, str],
    remote: RemoteServer,
) -> None:
    old = await followed(fed, member, olga[0])
    new = serve_actor(remote, "mallory", also_known_as=["https://old.example/users/someone"])

    assert await deliver(client, fed, olga, mastodon_move(old.ap_id, new)) == InboxState.IGNORED
    alice = fed.urls.actor(member)
    assert await Follow.exists(follower_uri=alice, target_uri=old.ap_id)
    assert not await Follow.exists(follower_uri=alice, target_uri=new)
    assert await sent("Follow") == [] and await sent("Undo") == []
    assert not await Notification.exists(recipient_id=member.id, kind=NotificationKind.MOVE)
    await old.refresh_from_db()
    assert "movedTo" not in old.document

    # a Move of someone else (object ≠ actor) is ignored too, without fetching anything
    other = mastodon_move(old.ap_id, new, 3)
    other["object"] = "https://old.example/users/someone"
    gets = len(remote.gets)
    assert await deliver(client, fed, olga, other) == InboxState.IGNORED
    assert len(remote.gets) == gets
    assert await Follow.exists(follower_uri=alice, target_uri=old.ap_id)


# --- the pages ------------------------------------------------------------------------------


async def test_the_move_page_adds_an_alias_and_refuses_a_move_without_one(
    fed: Federation, as_alice: httpx.AsyncClient, alice: LocalActor, remote: RemoteServer
) -> None:
    page = await as_alice.get("/settings")
    assert 'href="/settings/move"' in page.text
    page = await as_alice.get("/settings/move")
    assert page.status_code == 200 and f"@alice@{TEST_DOMAIN}" in page.text
    old = serve_actor(remote, "zoe")
    r = await as_alice.post(
        "/settings/move/aliases", data={"csrf_token": csrf_of(page.text), "account": old}
    )
    assert r.status_code == 303
    page = await as_alice.get(r.headers["location"])
    assert f'value="{old}"' in page.text and "is now listed as an alias" in page.text

    new = serve_actor(remote, "alice2", also_known_as=[])
    move = {"csrf_token": csrf_of(page.text), "target": new}
    gets = len(remote.gets)
    r = await as_alice.post("/settings/move/account", data={**move, "password": "a guess"})
    assert r.status_code == 400 and "The password is wrong" in r.text  # as Mastodon asks it
    assert f'value="{new}"' in r.text and len(remote.gets) == gets  # nothing fetched
    assert (await LoginFailure.get(key="account:alice")).failures == 1
    r = await as_alice.post("/settings/move/account", data={**move, "password": PASSWORD})
    assert r.status_code == 409
    assert 'id="move-error"' in r.text and "alias" in r.text
    assert f'value="{new}"' in r.text  # what was typed is kept
    await alice.refresh_from_db()
    assert alice.moved_to is None

    r = await as_alice.post(
        "/settings/move/aliases/remove", data={"csrf_token": csrf_of(page.text), "account": old}
    )
    assert r.status_code == 303
    await alice.refresh_from_db()
    assert alice.also_known_as is None

    french = await as_alice.get("/settings/move", headers={"Accept-Language": "fr"})
    assert "Déménager votre compte" in french.text
    forged = await as_alice.post("/settings/move/aliases", data={"account": old})
    assert forged.status_code == 403


async def test_a_moved_account_says_so_on_its_page(
    fed: Federation, anonymous: httpx.AsyncClient, member: LocalActor
) -> None:
    member.moved_to = "https://new.example/users/alice"
    await member.save()
    page = await anonymous.get("/u/alice")
    assert 'id="moved-to"' in page.text and 'href="https://new.example/users/alice"' in page.text


async def test_the_followers_notification_says_the_account_moved(
    fed: Federation,
    as_alice: httpx.AsyncClient,
    alice: LocalActor,
    bob: LocalActor,
    coop: LocalActor,
) -> None:
    dora = await create_actor(ActorKind.MEMBER, "dora", name="Dora", coop=coop)
    await follow(fed, alice, fed.urls.actor(bob))
    await add_alias(fed, dora, fed.urls.actor(bob))
    await move_account(fed, bob, fed.urls.actor(dora))
    page = await as_alice.get("/notifications")
    assert page.status_code == 200
    assert "moved to a new account, which you now follow" in page.text
    assert f'href="{fed.urls.actor(dora)}"' in page.text
