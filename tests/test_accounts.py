"""Disabling and deleting accounts: what the web, the API and other servers see afterwards."""

from __future__ import annotations

import re

import httpx
import pytest

from activitypub.urls import PUBLIC
from federation.actors import save_actor_document
from federation.context import Federation
from federation.delivery import deliver_due
from federation.services.accounts import create_actor, set_disabled, set_password
from federation.services.local import list_actors
from federation.services.offers import create_offer
from federation.services.removal import delete_account
from instance.auth import create_token
from instance.passwords import hash_password
from models.actors import ActorKind, LocalActor, RemoteActor
from models.errors import Conflict
from models.follows import Follow, FollowState
from models.offers import ApiToken, Offer
from tests import offer_samples as samples
from tests.conftest import TEST_DOMAIN
from tests.rig.canned import document_at, keypair
from tests.rig.remote import RemoteServer
from tests.test_web import PASSWORD, csrf_of, log_in

AS2 = {"Accept": "application/activity+json"}
HTML = {"Accept": "text/html"}


async def _login_page(client: httpx.AsyncClient, password: str) -> httpx.Response:
    page = await client.get("/login", headers=HTML)
    data = {"csrf_token": csrf_of(page.text), "username": "alice", "password": password}
    return await client.post("/login", data=data, headers=HTML)


def _without_token(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


async def _deliver_all(fed: Federation) -> None:
    while await deliver_due(fed):
        pass


async def test_disabled_member_cannot_log_in_nor_use_tokens(
    client: httpx.AsyncClient, member: LocalActor
) -> None:
    member.password_hash = hash_password(PASSWORD)
    await member.save()
    token = await create_token(member)
    bearer = {"Authorization": f"Bearer {token}"}
    client.headers.update(HTML)
    await log_in(client)
    assert (await client.get("/my/offers")).status_code == 200

    await set_disabled(member, True)
    # the open session stops at its next request
    r = await client.get("/my/offers")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # logging in again is refused exactly as a wrong password is
    refused = await _login_page(client, PASSWORD)
    wrong = await _login_page(client, "not the password at all")
    assert refused.status_code == wrong.status_code == 401
    assert _without_token(refused.text) == _without_token(wrong.text)
    # API tokens are refused, the actor is still federated
    r = await client.post("/api/v1/offers", json=samples.ride(), headers=bearer)
    assert r.status_code == 401
    assert (await client.get("/u/alice", headers=AS2)).status_code == 200

    await set_disabled(member, False)
    r = await client.post("/api/v1/offers", json=samples.ride(), headers=bearer)
    assert r.status_code == 201, r.text
    await log_in(client)


async def test_a_new_password_ends_the_sessions_opened_with_the_old_one(
    client: httpx.AsyncClient, member: LocalActor
) -> None:
    member.password_hash = hash_password(PASSWORD)
    await member.save()
    client.headers.update(HTML)
    await log_in(client)
    assert (await client.get("/my/offers")).status_code == 200
    await set_password(member, hash_password("a brand new long password"))
    r = await client.get("/my/offers")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert (await _login_page(client, PASSWORD)).status_code == 401
    assert (await _login_page(client, "a brand new long password")).status_code == 303


async def _remote(server: RemoteServer, name: str) -> RemoteActor:
    doc = document_at(server.url(f"/users/{name}"), public_pem=keypair("a").public_pem)
    server.serve_json(f"/users/{name}", doc)
    return await save_actor_document(doc)


async def test_delete_member_tells_every_server_and_leaves_a_tombstone(
    fed: Federation,
    client: httpx.AsyncClient,
    coop: LocalActor,
    member: LocalActor,
    remote: RemoteServer,
) -> None:
    uri = fed.urls.actor(member)
    async with RemoteServer() as other:
        # two followers on one server (one shared inbox), and someone followed on another
        for name in ("zoe", "zed"):
            follower = await _remote(remote, name)
            await Follow.create(
                ap_id=f"{follower.ap_id}#follow",
                follower_uri=follower.ap_id,
                target_uri=uri,
                remote_follower=follower,
                local_target=member,
                state=FollowState.ACCEPTED,
            )
        followed = await _remote(other, "max")
        await Follow.create(
            ap_id=fed.urls.new_activity_id(),
            follower_uri=uri,
            target_uri=followed.ap_id,
            local_follower=member,
            remote_target=followed,
            state=FollowState.ACCEPTED,
        )
        offer = await create_offer(fed, member, samples.ride())
        await create_token(member, "ci")
        await _deliver_all(fed)
        remote.requests.clear()

        await delete_account(fed, member)
        await _deliver_all(fed)

        # the offer's Delete goes to its audience, the actor's Delete to every server knowing it
        sent = [(p.path, p.json()["type"], p.json()["object"]) for p in remote.posts]
        assert sorted(sent, key=str) == sorted(
            [
                ("/inbox", "Delete", {"id": offer.ap_id, "type": "Tombstone"}),
                ("/inbox", "Delete", uri),
            ],
            key=str,
        )
        [to_other] = other.posts
        assert to_other.path == "/inbox"
        delete = to_other.json()
        assert {k: v for k, v in delete.items() if k != "id"} == {
            "@context": "https://www.w3.org/ns/activitystreams",
            "type": "Delete",
            "actor": uri,
            "object": uri,
            "to": [PUBLIC],
        }
        other.verify(to_other, member.public_key_pem)  # signed with the kept key

    await member.refresh_from_db()
    assert member.deleted_at is not None
    assert (member.email, member.password_hash, member.name, member.summary) == (None, None, "", "")
    assert member.private_key_pem and member.public_key_pem
    assert await ApiToken.filter(member_id=member.id).count() == 0
    assert await Offer.filter(author_id=member.id).count() == 0
    assert await Follow.filter(follower_uri=uri).count() == 0
    assert await Follow.filter(target_uri=uri).count() == 0

    # 410 Gone with a Tombstone for servers, a page for people
    r = await client.get("/u/alice", headers=AS2)
    assert r.status_code == 410
    assert r.json()["type"] == "Tombstone" and r.json()["id"] == uri
    assert r.json()["formerType"] == "Person"
    r = await client.get("/u/alice", headers=HTML)
    assert r.status_code == 410 and r.headers["content-type"].startswith("text/html")
    assert (await client.get("/u/alice/outbox", headers=AS2)).status_code == 410
    r = await client.get(f"/.well-known/webfinger?resource=acct:alice@{TEST_DOMAIN}")
    assert r.status_code == 410
    assert (await client.get("/c/velos", headers=AS2)).status_code == 200

    # the name stays reserved; lists leave it out unless asked
    with pytest.raises(Conflict, match="deleted"):
        await create_actor(ActorKind.MEMBER, "alice", coop=coop)
    assert [a.username for a in await list_actors(ActorKind.MEMBER)] == []
    listed = await list_actors(ActorKind.MEMBER, include_deleted=True)
    assert [a.username for a in listed] == ["alice"]


async def test_a_coop_with_members_cannot_be_deleted(
    fed: Federation, coop: LocalActor, member: LocalActor
) -> None:
    with pytest.raises(Conflict) as refused:
        await delete_account(fed, coop)
    assert "still has 1 member(s)" in refused.value.public_message
    await delete_account(fed, member)
    await delete_account(fed, coop)
    await coop.refresh_from_db()
    assert coop.deleted_at is not None
    assert [c.username for c in await list_actors(ActorKind.COOP)] == []
