"""The inbox end to end, without network: signed POST → 202 + InboxItem → ``process_due``.

Remote actors are canned and cached (``tests/rig/canned.py``); signatures are real. Outgoing
HTTP goes to an in-process transport that serves the cache and records requests.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from federation.context import Federation
from federation.inbox import process_due
from federation.services.accounts import create_actor
from federation.services.follows import decide
from models.activities import Activity, InboxItem, InboxState
from models.actors import ActorKind, LocalActor, RemoteActor
from models.delivery import Delivery
from models.follows import Follow, FollowState
from models.offers import Offer, OfferKind
from tests.conftest import TEST_DOMAIN
from tests.rig.canned import (
    actor_document,
    key_fetches,
    keypair,
    offline,
    post_signed,
    posts,
    remote_actor,
    signed_post,
)

BASE = f"https://{TEST_DOMAIN}"
COOP = f"{BASE}/c/velos"
MEMBER = f"{BASE}/u/alice"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture(autouse=True)
async def sent(fed: Federation) -> AsyncIterator[list[httpx.Request]]:
    """No network: what the server would have fetched or sent is recorded here."""
    yield await offline(fed)


@pytest.fixture
async def zoe(fed: Federation) -> tuple[RemoteActor, str]:
    return await remote_actor("zoe", key=keypair("a"))


@pytest.fixture
async def yann(fed: Federation) -> tuple[RemoteActor, str]:
    return await remote_actor("yann", key=keypair("b"))


async def post(
    client: httpx.AsyncClient,
    path: str,
    activity: dict[str, Any],
    signer: tuple[RemoteActor, str],
    **overrides: Any,
) -> httpx.Response:
    actor, pem = signer
    assert actor.key_id
    return await post_signed(client, BASE + path, activity, actor.key_id, pem, **overrides)


def follow_of(actor: RemoteActor, target: str = COOP, n: int = 1) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.ap_id}#follows/{n}",
        "type": "Follow",
        "actor": actor.ap_id,
        "object": target,
    }


async def process(fed: Federation) -> None:
    while await process_due(fed):
        pass


async def state_of(activity_id: str) -> InboxState:
    return (await InboxItem.get(activity_id=activity_id)).state


async def deliveries() -> list[tuple[str, dict[str, Any]]]:
    rows = await Delivery.all().order_by("id").prefetch_related("activity")
    return [(row.inbox, row.activity.payload) for row in rows]


# --- Follow ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/c/velos/inbox", "/inbox"])
async def test_follow_is_accepted(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    sent: list[httpx.Request],
    path: str,
) -> None:
    actor = zoe[0]
    follow = follow_of(actor)
    r = await post(client, path, follow, zoe)
    assert r.status_code == 202, r.text
    item = await InboxItem.get(activity_id=follow["id"])
    assert item.state == InboxState.PENDING
    assert item.actor_uri == actor.ap_id
    assert item.type == "Follow"
    assert item.recipient_id == (coop.id if path != "/inbox" else None)
    assert await Follow.all().count() == 0  # processing happens later, in the worker

    await process(fed)

    assert await state_of(follow["id"]) == InboxState.DONE
    record = await Follow.get(ap_id=follow["id"])
    assert record.state == FollowState.ACCEPTED
    assert record.follower_uri == actor.ap_id
    assert record.target_uri == COOP
    assert record.remote_follower_id == actor.id
    assert record.local_target_id == coop.id
    [(inbox, accept)] = await deliveries()
    assert inbox in (actor.inbox, actor.shared_inbox)
    assert accept["type"] == "Accept"
    assert accept["actor"] == COOP
    assert accept["id"].startswith(f"{BASE}/")
    embedded = accept["object"]
    assert embedded["id"] == follow["id"]
    assert embedded["type"] == "Follow"
    assert embedded["actor"] == actor.ap_id
    assert embedded["object"] == COOP
    assert actor.ap_id in accept["to"]
    assert posts(sent) == []  # the Accept is queued; nothing is sent from inbox processing
    assert key_fetches(sent, actor) == []  # the key came from the cache
    followers = await client.get(
        "/c/velos/followers?page=1", headers={"Accept": "application/activity+json"}
    )
    assert followers.json()["orderedItems"] == [actor.ap_id]


async def test_same_follow_twice_is_stored_once(
    client: httpx.AsyncClient, fed: Federation, coop: LocalActor, zoe: tuple[RemoteActor, str]
) -> None:
    follow = follow_of(zoe[0])
    assert (await post(client, "/c/velos/inbox", follow, zoe)).status_code == 202
    assert (await post(client, "/inbox", follow, zoe)).status_code == 202
    assert await InboxItem.all().count() == 1
    await process(fed)
    assert (await post(client, "/c/velos/inbox", follow, zoe)).status_code == 202
    await process(fed)
    assert await InboxItem.all().count() == 1
    assert len(await deliveries()) == 1  # one Accept only


async def test_follow_of_someone_else_is_ignored(
    client: httpx.AsyncClient, fed: Federation, coop: LocalActor, zoe: tuple[RemoteActor, str]
) -> None:
    follows = [
        follow_of(zoe[0], "https://elsewhere.example/users/bob", 1),
        follow_of(zoe[0], f"{BASE}/c/nobody", 2),
        follow_of(zoe[0], f"{BASE}/c/velos/followers", 3),
    ]
    for follow in follows:
        assert (await post(client, "/inbox", follow, zoe)).status_code == 202
    await process(fed)
    for follow in follows:
        assert await state_of(follow["id"]) == InboxState.IGNORED
    assert await Follow.all().count() == 0
    assert await deliveries() == []


@pytest.mark.parametrize("accept", [True, False])
async def test_locked_coop_waits_for_a_decision(
    client: httpx.AsyncClient, fed: Federation, zoe: tuple[RemoteActor, str], accept: bool
) -> None:
    ferme = await create_actor(ActorKind.COOP, "ferme", locked=True)
    follow = follow_of(zoe[0], f"{BASE}/c/ferme")
    assert (await post(client, "/c/ferme/inbox", follow, zoe)).status_code == 202
    await process(fed)
    record = await Follow.get(ap_id=follow["id"])
    assert record.state == FollowState.PENDING
    assert await deliveries() == []
    followers = await client.get(
        "/c/ferme/followers", headers={"Accept": "application/activity+json"}
    )
    assert followers.json()["totalItems"] == 0

    await decide(fed, ferme, zoe[0].ap_id, accept=accept)

    record = await Follow.get(ap_id=follow["id"])
    assert record.state == (FollowState.ACCEPTED if accept else FollowState.REJECTED)
    [(inbox, answer)] = await deliveries()
    assert inbox in (zoe[0].inbox, zoe[0].shared_inbox)
    assert answer["type"] == ("Accept" if accept else "Reject")
    assert answer["actor"] == f"{BASE}/c/ferme"
    assert answer["object"]["id"] == follow["id"]


@pytest.mark.parametrize("embedded", [True, False])
async def test_undo_follow_removes_it(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    embedded: bool,
) -> None:
    follow = follow_of(zoe[0])
    await post(client, "/inbox", follow, zoe)
    await process(fed)
    assert await Follow.filter(state=FollowState.ACCEPTED).count() == 1
    undo = {
        "id": f"{zoe[0].ap_id}#follows/1/undo",
        "type": "Undo",
        "actor": zoe[0].ap_id,
        "object": {k: v for k, v in follow.items() if k != "@context"}
        if embedded
        else follow["id"],
    }
    assert (await post(client, "/c/velos/inbox", undo, zoe)).status_code == 202
    await process(fed)
    assert await state_of(undo["id"]) == InboxState.DONE
    assert await Follow.all().count() == 0


async def test_undo_of_another_actors_follow_is_ignored(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    yann: tuple[RemoteActor, str],
) -> None:
    follow = follow_of(zoe[0])
    await post(client, "/inbox", follow, zoe)
    await process(fed)
    undo = {
        "id": f"{yann[0].ap_id}#undo/1",
        "type": "Undo",
        "actor": yann[0].ap_id,
        "object": follow["id"],
    }
    assert (await post(client, "/inbox", undo, yann)).status_code == 202
    await process(fed)
    assert await state_of(undo["id"]) == InboxState.IGNORED
    assert (await Follow.get(ap_id=follow["id"])).state == FollowState.ACCEPTED


# --- answers to our follows ------------------------------------------------------------------


@pytest.fixture
async def our_follow(member: LocalActor, zoe: tuple[RemoteActor, str]) -> Follow:
    """alice asked to follow zoe; waiting for the answer."""
    return await Follow.create(
        ap_id=f"{BASE}/activities/our-follow",
        follower_uri=MEMBER,
        target_uri=zoe[0].ap_id,
        local_follower=member,
        remote_target=zoe[0],
    )


def answer(kind: str, by: RemoteActor, follow: Follow, form: str, n: int = 1) -> dict[str, Any]:
    objects: dict[str, Any] = {
        "reference": follow.ap_id,
        "embedded": {
            "id": follow.ap_id,
            "type": "Follow",
            "actor": follow.follower_uri,
            "object": follow.target_uri,
        },
        # some servers do not keep our Follow id: found by (follower, target) instead
        "embedded-without-our-id": {
            "type": "Follow",
            "actor": follow.follower_uri,
            "object": follow.target_uri,
        },
    }
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{by.ap_id}#{kind.lower()}s/{n}",
        "type": kind,
        "actor": by.ap_id,
        "object": objects[form],
    }


@pytest.mark.parametrize("form", ["reference", "embedded", "embedded-without-our-id"])
@pytest.mark.parametrize("kind", ["Accept", "Reject"])
async def test_answer_to_our_follow(
    client: httpx.AsyncClient,
    fed: Federation,
    our_follow: Follow,
    zoe: tuple[RemoteActor, str],
    kind: str,
    form: str,
) -> None:
    activity = answer(kind, zoe[0], our_follow, form)
    assert (await post(client, "/u/alice/inbox", activity, zoe)).status_code == 202
    await process(fed)
    assert await state_of(activity["id"]) == InboxState.DONE
    await our_follow.refresh_from_db()
    assert our_follow.state == (FollowState.ACCEPTED if kind == "Accept" else FollowState.REJECTED)


@pytest.mark.parametrize("form", ["reference", "embedded"])
async def test_answer_by_someone_else_changes_nothing(
    client: httpx.AsyncClient,
    fed: Federation,
    our_follow: Follow,
    yann: tuple[RemoteActor, str],
    form: str,
) -> None:
    for n, kind in enumerate(("Accept", "Reject")):
        activity = answer(kind, yann[0], our_follow, form, n)
        assert (await post(client, "/u/alice/inbox", activity, yann)).status_code == 202
        await process(fed)
        assert await state_of(activity["id"]) != InboxState.DONE
        await our_follow.refresh_from_db()
        assert our_follow.state == FollowState.PENDING


async def test_accept_of_an_unknown_follow_is_ignored(
    client: httpx.AsyncClient, fed: Federation, our_follow: Follow, zoe: tuple[RemoteActor, str]
) -> None:
    activity = answer("Accept", zoe[0], our_follow, "reference")
    activity["object"] = f"{BASE}/activities/never-sent"
    assert (await post(client, "/inbox", activity, zoe)).status_code == 202
    await process(fed)
    assert await state_of(activity["id"]) == InboxState.IGNORED
    await our_follow.refresh_from_db()
    assert our_follow.state == FollowState.PENDING


# --- Update and Delete of actors ------------------------------------------------------------


def update_of(doc: dict[str, Any], n: int = 1) -> dict[str, Any]:
    return {
        "@context": doc["@context"],
        "id": f"{doc['id']}#updates/{n}",
        "type": "Update",
        "actor": doc["id"],
        "to": [PUBLIC],
        "object": doc,
    }


async def test_update_person_refreshes_cache(
    client: httpx.AsyncClient, fed: Federation, zoe: tuple[RemoteActor, str]
) -> None:
    doc = actor_document("zoe", public_pem=keypair("a").public_pem, display_name="Zoé Nouvelle")
    doc["summary"] = "<p>now <script>alert(1)</script>delivers</p>"
    activity = update_of(doc)
    assert (await post(client, "/inbox", activity, zoe)).status_code == 202
    await process(fed)
    assert await state_of(activity["id"]) == InboxState.DONE
    cached = await RemoteActor.get(ap_id=zoe[0].ap_id)
    assert cached.name == "Zoé Nouvelle"
    assert "script" not in cached.summary
    assert "delivers" in cached.summary
    assert cached.public_key_pem == keypair("a").public_pem


async def test_update_of_another_actor_is_ignored(
    client: httpx.AsyncClient,
    fed: Federation,
    zoe: tuple[RemoteActor, str],
    yann: tuple[RemoteActor, str],
) -> None:
    # same host, but zoe may not rewrite yann's profile (nor swap his key for hers)
    doc = actor_document("yann", public_pem=keypair("a").public_pem, display_name="Pwned")
    activity = update_of(doc)
    activity["actor"] = zoe[0].ap_id
    activity["id"] = f"{zoe[0].ap_id}#updates/9"
    assert (await post(client, "/inbox", activity, zoe)).status_code == 202
    await process(fed)
    assert await state_of(activity["id"]) == InboxState.IGNORED
    cached = await RemoteActor.get(ap_id=yann[0].ap_id)
    assert cached.name == "Yann"
    assert cached.public_key_pem == keypair("b").public_pem


@pytest.mark.parametrize(
    "pem",
    [
        "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n",
        "not a key at all",
    ],
)
async def test_update_with_a_broken_key_keeps_the_good_one(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    pem: str,
) -> None:
    doc = actor_document("zoe", public_pem=pem, display_name="Broken")
    activity = update_of(doc)
    assert (await post(client, "/inbox", activity, zoe)).status_code == 202
    await process(fed)
    assert await state_of(activity["id"]) == InboxState.FAILED
    cached = await RemoteActor.get(ap_id=zoe[0].ap_id)
    assert cached.public_key_pem == keypair("a").public_pem
    assert cached.name == "Zoe"
    # and zoe can still talk to us
    assert (await post(client, "/inbox", follow_of(zoe[0]), zoe)).status_code == 202


@pytest.mark.parametrize("form", ["uri", "object"])
async def test_delete_actor_removes_it_and_its_follows(
    client: httpx.AsyncClient,
    fed: Federation,
    member: LocalActor,
    zoe: tuple[RemoteActor, str],
    yann: tuple[RemoteActor, str],
    form: str,
) -> None:
    for signer in (zoe, yann):
        await post(client, "/inbox", follow_of(signer[0]), signer)
    await process(fed)
    await Follow.create(
        ap_id=f"{BASE}/activities/f",
        follower_uri=MEMBER,
        target_uri=zoe[0].ap_id,
        local_follower=member,
        remote_target=zoe[0],
        state=FollowState.ACCEPTED,
    )
    assert await Follow.all().count() == 3
    actor_id = zoe[0].ap_id
    delete = {
        "id": f"{actor_id}#delete",
        "type": "Delete",
        "actor": actor_id,
        "to": [PUBLIC],
        "object": actor_id if form == "uri" else {"id": actor_id, "type": "Person"},
    }
    now = datetime.now(UTC)
    await Offer.create(  # received earlier; its own Delete may come after the actor's
        ap_id=f"{zoe[0].ap_id}/offers/1",
        author_uri=actor_id,
        instance_domain="remote.example",
        kind=OfferKind.RIDE,
        purpose="offer",
        title="Lyon → Grenoble",
        starts_at=now + timedelta(days=1),
        published_at=now,
        updated_at=now,
        expires_at=now + timedelta(days=2),
    )
    assert (await post(client, "/inbox", delete, zoe)).status_code == 202
    await process(fed)
    assert await state_of(delete["id"]) == InboxState.DONE
    assert not await RemoteActor.exists(ap_id=actor_id)
    assert not await Offer.exists(author_uri=actor_id)
    assert await Follow.filter(follower_uri=actor_id).count() == 0
    assert await Follow.filter(target_uri=actor_id).count() == 0
    assert [f.follower_uri for f in await Follow.all()] == [yann[0].ap_id]
    assert await RemoteActor.exists(ap_id=yann[0].ap_id)

    # Mastodon sends the Delete again to every inbox; the key is gone and so is the actor
    again = {**delete, "id": f"{actor_id}#delete-again"}
    r = await post(client, "/inbox", again, zoe)
    assert r.status_code == 202
    assert not await InboxItem.exists(activity_id=again["id"])
    assert not await RemoteActor.exists(ap_id=actor_id)


async def test_delete_of_another_actor_is_ignored(
    client: httpx.AsyncClient,
    fed: Federation,
    zoe: tuple[RemoteActor, str],
    yann: tuple[RemoteActor, str],
) -> None:
    delete = {
        "id": f"{zoe[0].ap_id}#delete-yann",
        "type": "Delete",
        "actor": zoe[0].ap_id,
        "object": yann[0].ap_id,
    }
    assert (await post(client, "/inbox", delete, zoe)).status_code == 202
    await process(fed)
    assert await state_of(delete["id"]) == InboxState.IGNORED
    assert await RemoteActor.exists(ap_id=yann[0].ap_id)


# --- whatever else arrives ----------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, obj",
    [
        ("Like", "https://remote.example/notes/1"),
        ("Move", "https://remote.example/users/zoe"),
        ("FooBar", COOP),
        (["FooBar", "Baz"], COOP),
        ("Announce", "https://remote.example/notes/1"),
        ("Create", {"id": "https://remote.example/notes/1", "type": "Note", "content": "hi"}),
        ("Create", {"id": "https://elsewhere.example/notes/1", "type": "Note"}),
        ("Undo", {"id": "https://remote.example/likes/1", "type": "Like"}),
        ("Update", {"id": "https://remote.example/notes/1", "type": "Note"}),
        ("Delete", {"id": "https://remote.example/notes/1", "type": "Tombstone"}),
        ("Accept", "https://remote.example/whatever"),
        ("Follow", "https://[broken/users/x"),
        ("Follow", None),
        ("Follow", {"no": "id"}),
        ("Follow", [COOP, f"{BASE}/u/alice"]),
        ("Undo", None),
        ("Update", {"type": "Person"}),
        ("Delete", 42),
    ],
)
async def test_anything_else_is_ignored(
    client: httpx.AsyncClient,
    fed: Federation,
    member: LocalActor,
    zoe: tuple[RemoteActor, str],
    kind: Any,
    obj: Any,
) -> None:
    activity = {"id": f"{zoe[0].ap_id}#x", "type": kind, "actor": zoe[0].ap_id, "object": obj}
    for path in ("/inbox", "/c/velos/inbox"):
        r = await post(client, path, activity, zoe)
        assert r.status_code == 202, r.text
    await process(fed)
    if kind == "Follow" and obj == [COOP, f"{BASE}/u/alice"]:
        # a Follow of a list is read as a Follow of its first item
        assert await state_of(activity["id"]) == InboxState.DONE
        assert [f.target_uri for f in await Follow.all()] == [COOP]
        return
    assert await state_of(activity["id"]) == InboxState.IGNORED
    assert await Follow.all().count() == 0
    assert await Activity.all().count() == 0


# --- refused requests store nothing ----------------------------------------------------------


async def assert_nothing_stored(remotes: dict[str, str | None]) -> None:
    assert await InboxItem.all().count() == 0
    assert await Follow.all().count() == 0
    assert await Activity.all().count() == 0
    assert await Delivery.all().count() == 0
    cached = {a.ap_id: a.public_key_pem for a in await RemoteActor.all()}
    assert cached == remotes


@pytest.fixture
async def cached(
    zoe: tuple[RemoteActor, str], yann: tuple[RemoteActor, str]
) -> dict[str, str | None]:
    return {a.ap_id: a.public_key_pem for a in (zoe[0], yann[0])}


def assert_json_error(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert isinstance(r.json()["error"], str) and r.json()["error"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"\xff\xfe", b"[]", b'"Follow"', b"{}", b'{"type": "Follow"}'],
)
async def test_malformed_body_is_400(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    cached: dict[str, str | None],
    body: bytes,
) -> None:
    r = await post(client, "/c/velos/inbox", {}, zoe, body=body)
    assert_json_error(r, 400)
    await assert_nothing_stored(cached)


async def test_oversized_body_is_413(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    cached: dict[str, str | None],
) -> None:
    limit = fed.settings.max_body_bytes
    activity = follow_of(zoe[0])
    activity["content"] = "x" * limit
    r = await post(client, "/c/velos/inbox", activity, zoe)
    assert_json_error(r, 413)

    body = json.dumps(activity).encode()

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while reading
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    r = await client.post("/inbox", content=chunks(), headers={"Content-Type": "application/json"})
    assert_json_error(r, 413)
    await assert_nothing_stored(cached)


async def test_unsigned_is_401(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    cached: dict[str, str | None],
) -> None:
    body = json.dumps(follow_of(zoe[0])).encode()
    r = await client.post(
        "/c/velos/inbox", content=body, headers={"Content-Type": "application/activity+json"}
    )
    assert_json_error(r, 401)
    await assert_nothing_stored(cached)


async def test_key_of_another_actor_is_401(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    yann: tuple[RemoteActor, str],
    cached: dict[str, str | None],
) -> None:
    # yann signs (validly, with his own key) a Follow claiming to be from zoe
    r = await post(client, "/c/velos/inbox", follow_of(zoe[0]), yann)
    assert_json_error(r, 401)
    # and zoe's key id with yann's private key does not verify
    assert zoe[0].key_id
    r = await post_signed(
        client, f"{COOP}/inbox", follow_of(zoe[0]), zoe[0].key_id, keypair("b").private_pem
    )
    assert_json_error(r, 401)
    await assert_nothing_stored(cached)


async def test_activity_id_on_another_host_is_401(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    cached: dict[str, str | None],
) -> None:
    follow = follow_of(zoe[0])
    follow["id"] = "https://elsewhere.example/follows/1"
    assert_json_error(await post(client, "/c/velos/inbox", follow, zoe), 401)
    await assert_nothing_stored(cached)


async def test_old_date_is_401(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    cached: dict[str, str | None],
) -> None:
    for delta in (timedelta(hours=-2), timedelta(hours=2)):
        r = await post(
            client, "/c/velos/inbox", follow_of(zoe[0]), zoe, now=datetime.now(UTC) + delta
        )
        assert_json_error(r, 401)
    await assert_nothing_stored(cached)


async def test_body_changed_after_signing_is_401(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    cached: dict[str, str | None],
) -> None:
    follow = follow_of(zoe[0])
    assert zoe[0].key_id
    body, headers = signed_post(f"{COOP}/inbox", follow, zoe[0].key_id, zoe[1])
    tampered = body.replace(b"follows/1", b"follows/2")
    assert tampered != body
    r = await client.post(f"{COOP}/inbox", content=tampered, headers=headers)
    assert_json_error(r, 401)
    # signed for the shared inbox, replayed to a personal one
    body, headers = signed_post(f"{BASE}/inbox", follow, zoe[0].key_id, zoe[1])
    r = await client.post(f"{COOP}/inbox", content=body, headers=headers)
    assert_json_error(r, 401)
    await assert_nothing_stored(cached)


@pytest.mark.parametrize("path", ["/u/nobody/inbox", "/c/alice/inbox", "/x/velos/inbox"])
async def test_unknown_local_inbox_is_404(
    client: httpx.AsyncClient,
    fed: Federation,
    member: LocalActor,
    zoe: tuple[RemoteActor, str],
    cached: dict[str, str | None],
    path: str,
) -> None:
    r = await post(client, path, follow_of(zoe[0], f"{BASE}{path[:-6]}"), zoe)
    assert_json_error(r, 404)
    await assert_nothing_stored(cached)
    assert await process_due(fed) == 0


# --- the worker never wedges ------------------------------------------------------------------


async def test_a_crashing_handler_is_retried_with_backoff_then_failed(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unforeseen error is retried like a transient one (federation/outcome.py), its
    traceback logged once, and given up at the same age as a delivery."""

    async def boom(fed: Federation, act: Any, signer: RemoteActor) -> None:
        raise RuntimeError("handler bug")

    monkeypatch.setitem(fed.handlers, "Like", boom)
    like = {"id": f"{zoe[0].ap_id}#likes/1", "type": "Like", "actor": zoe[0].ap_id, "object": COOP}
    follow = follow_of(zoe[0])
    for activity in (like, follow):
        assert (await post(client, "/inbox", activity, zoe)).status_code == 202
    assert await process_due(fed) == 2  # the crash did not stop the batch
    assert await state_of(follow["id"]) == InboxState.DONE
    item = await InboxItem.get(activity_id=like["id"])
    assert item.state == InboxState.PENDING
    assert item.attempts == 1
    assert "handler bug" in (item.error or "")
    first_wait = item.next_attempt_at - datetime.now(UTC)
    assert first_wait > timedelta(0)  # backed off, not hot-looping
    assert await process_due(fed) == 0
    await InboxItem.filter(id=item.id).update(next_attempt_at=datetime.now(UTC))
    await process_due(fed)
    await item.refresh_from_db()
    assert item.state == InboxState.PENDING and item.attempts == 2
    assert item.next_attempt_at - datetime.now(UTC) > first_wait / 2  # growing (with jitter)
    tracebacks = [r for r in caplog.records if r.exc_info and "handler bug" in str(r.exc_info[1])]
    assert len(tracebacks) == 1  # logged the first time only
    # past the give-up age, the next failure is final
    old = datetime.now(UTC) - timedelta(hours=fed.settings.give_up_after_hours)
    await InboxItem.filter(id=item.id).update(next_attempt_at=datetime.now(UTC), received_at=old)
    await process_due(fed)
    await item.refresh_from_db()
    assert item.state == InboxState.FAILED
    assert item.attempts == 3


async def test_unparseable_ids(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
    cached: dict[str, str | None],
) -> None:
    follow = follow_of(zoe[0])
    follow["id"] = "https://[remote.example/follows/1"
    assert_json_error(await post(client, "/inbox", follow, zoe), 400)
    await assert_nothing_stored(cached)
    create = {
        "id": f"{zoe[0].ap_id}#create/1",
        "type": "Create",
        "actor": zoe[0].ap_id,
        "object": {"id": "https://[remote.example/notes/1", "type": "Note"},
    }
    assert (await post(client, "/inbox", create, zoe)).status_code == 202
    await process(fed)
    assert await state_of(create["id"]) in (InboxState.IGNORED, InboxState.FAILED)


async def test_an_actor_cannot_squat_another_ones_key_id(
    client: httpx.AsyncClient,
    fed: Federation,
    coop: LocalActor,
    zoe: tuple[RemoteActor, str],
) -> None:
    """Keys are found by id in the cache: an actor whose document names zoe's key id (on
    another host) must not shadow zoe, or break her requests with a duplicate."""
    evil = await remote_actor("mallory", host="evil.example", key=keypair("b"))
    doc = actor_document("mallory", "evil.example", public_pem=keypair("b").public_pem)
    doc["publicKey"]["id"] = zoe[0].key_id
    update = update_of(doc)
    assert (await post(client, "/inbox", update, evil)).status_code == 202
    await process(fed)
    assert await RemoteActor.filter(key_id=zoe[0].key_id).count() == 1
    r = await post(client, "/c/velos/inbox", follow_of(zoe[0]), zoe)
    assert r.status_code == 202
    assert (await InboxItem.get(activity_id=follow_of(zoe[0])["id"])).actor_uri == zoe[0].ap_id
