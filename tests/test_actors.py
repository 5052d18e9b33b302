"""Actors and their collections: content negotiation, the DESIGN.md fields, paging, and
authorized fetch (signed GETs), as Mastodon, GoToSocial and Fedify fetch them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.context import Federation
from federation.services.accounts import create_actor
from federation.settings import FederationSettings
from federation.signatures import sign_request
from models.activities import Activity
from models.actors import ActorKind, LocalActor, RemoteActor
from models.follows import Follow, FollowState
from tests.conftest import TEST_DOMAIN
from tests.rig.canned import keypair, offline, remote_actor

AS2 = "application/activity+json"
LD_AS2 = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
MASTODON_ACCEPT = f"{AS2}, {LD_AS2}"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
BASE = f"https://{TEST_DOMAIN}"


async def _as2(client: httpx.AsyncClient, url: str, accept: str = AS2) -> dict[str, Any]:
    r = await client.get(url, headers={"Accept": accept})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == AS2
    doc: dict[str, Any] = r.json()
    return doc


# --- content negotiation --------------------------------------------------------------------


@pytest.mark.parametrize("accept", [AS2, LD_AS2, MASTODON_ACCEPT, "application/json"])
async def test_as2_accept_headers(client: httpx.AsyncClient, coop: LocalActor, accept: str) -> None:
    r = await client.get("/c/velos", headers={"Accept": accept})
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == AS2
    assert "accept" in [v.strip().lower() for v in r.headers["vary"].split(",")]
    assert r.json()["id"] == f"{BASE}/c/velos"


@pytest.mark.parametrize("accept", [BROWSER, "text/html", "*/*"])
async def test_browsers_get_html(
    client: httpx.AsyncClient, member: LocalActor, accept: str
) -> None:
    r = await client.get("/u/alice", headers={"Accept": accept})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "accept" in [v.strip().lower() for v in r.headers["vary"].split(",")]
    assert "Alice" in r.text
    assert f"@alice@{TEST_DOMAIN}" in r.text
    # the page advertises its AS2 twin, at the same URL
    assert f'type="{AS2}" href="{BASE}/u/alice"' in r.text


async def test_instance_actor_is_as2_even_for_browsers(
    client: httpx.AsyncClient, fed: Federation
) -> None:
    for accept in (BROWSER, "text/html", AS2):
        doc = await _as2(client, "/actor", accept)
        assert doc["type"] == "Application"
        assert doc["id"] == f"{BASE}/actor"


# --- the actor documents ----------------------------------------------------------------------


def _check_actor_fields(doc: dict[str, Any], actor_id: str, kind: str, username: str) -> None:
    assert doc["id"] == actor_id
    assert doc["type"] == kind
    assert "https://www.w3.org/ns/activitystreams" in doc["@context"]
    assert "https://w3id.org/security/v1" in doc["@context"]
    assert doc["preferredUsername"] == username
    assert isinstance(doc["name"], str) and doc["name"]
    assert isinstance(doc["summary"], str)
    assert doc["url"] == actor_id  # the HTML page lives at the same URL
    for prop in ("inbox", "outbox", "followers", "following"):
        assert doc[prop] == f"{actor_id}/{prop}"
    assert doc["endpoints"] == {"sharedInbox": f"{BASE}/inbox"}
    key = doc["publicKey"]
    assert key["id"] == f"{actor_id}#main-key"
    assert key["owner"] == actor_id
    loaded = serialization.load_pem_public_key(key["publicKeyPem"].encode())
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.key_size == 2048
    assert isinstance(doc["manuallyApprovesFollowers"], bool)
    datetime.strptime(doc["published"], "%Y-%m-%dT%H:%M:%SZ")


async def test_coop_is_a_group(client: httpx.AsyncClient, coop: LocalActor) -> None:
    doc = await _as2(client, "/c/velos")
    _check_actor_fields(doc, f"{BASE}/c/velos", "Group", "velos")
    assert doc["name"] == "Vélos"
    assert doc["manuallyApprovesFollowers"] is False
    assert doc["publicKey"]["publicKeyPem"] == coop.public_key_pem


async def test_member_is_a_person(client: httpx.AsyncClient, member: LocalActor) -> None:
    doc = await _as2(client, "/u/alice")
    _check_actor_fields(doc, f"{BASE}/u/alice", "Person", "alice")
    assert doc["name"] == "Alice"
    assert doc["publicKey"]["publicKeyPem"] == member.public_key_pem


async def test_locked_coop_approves_followers(client: httpx.AsyncClient, fed: Federation) -> None:
    await create_actor(ActorKind.COOP, "ferme", locked=True)
    doc = await _as2(client, "/c/ferme")
    assert doc["manuallyApprovesFollowers"] is True
    assert doc["name"] == "ferme"  # falls back to the username


async def test_instance_actor_is_an_application(client: httpx.AsyncClient, fed: Federation) -> None:
    doc = await _as2(client, "/actor")
    _check_actor_fields(doc, f"{BASE}/actor", "Application", TEST_DOMAIN)
    assert doc["manuallyApprovesFollowers"] is True
    instance = await fed.instance_actor()
    assert doc["publicKey"]["publicKeyPem"] == instance.public_key_pem


async def test_keys_differ_between_actors(client: httpx.AsyncClient, member: LocalActor) -> None:
    pems = {
        (await _as2(client, path))["publicKey"]["publicKeyPem"]
        for path in ("/actor", "/c/velos", "/u/alice")
    }
    assert len(pems) == 3


@pytest.mark.parametrize("path", ["/c/nobody", "/u/nobody", "/c/alice", "/u/velos", "/x/velos"])
async def test_unknown_actor_is_404(
    client: httpx.AsyncClient, member: LocalActor, path: str
) -> None:
    r = await client.get(path, headers={"Accept": BROWSER})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    r = await client.get(path, headers={"Accept": AS2})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]


# --- collections --------------------------------------------------------------------------


async def _followers(coop: LocalActor, count: int, state: FollowState) -> list[str]:
    uris = [f"https://remote.example/users/u{i:02d}" for i in range(count)]
    for uri in uris:
        await Follow.create(
            ap_id=f"{uri}#follow-{state.value}",
            follower_uri=uri,
            target_uri=f"{BASE}/c/{coop.username}",
            local_target=coop,
            state=state,
        )
    return uris


@pytest.mark.parametrize("name", ["followers", "following", "outbox"])
async def test_collections_are_ordered_with_first(
    client: httpx.AsyncClient, coop: LocalActor, name: str
) -> None:
    doc = await _as2(client, f"/c/velos/{name}")
    assert doc["type"] == "OrderedCollection"
    assert doc["id"] == f"{BASE}/c/velos/{name}"
    assert doc["totalItems"] == 0
    assert doc["first"] == f"{BASE}/c/velos/{name}?page=1"
    page = await _as2(client, doc["first"])
    assert page["type"] == "OrderedCollectionPage"
    assert page["partOf"] == doc["id"]
    assert page["orderedItems"] == []
    assert "next" not in page


async def test_followers_pages(client: httpx.AsyncClient, coop: LocalActor) -> None:
    uris = await _followers(coop, 25, FollowState.ACCEPTED)
    await Follow.create(
        ap_id="https://remote.example/users/pending#f",
        follower_uri="https://remote.example/users/pending",
        target_uri=f"{BASE}/c/velos",
        local_target=coop,
        state=FollowState.PENDING,
    )
    doc = await _as2(client, "/c/velos/followers")
    assert doc["totalItems"] == 25  # the pending follow is not a follower yet
    first = await _as2(client, doc["first"])
    assert first["id"] == f"{BASE}/c/velos/followers?page=1"
    assert len(first["orderedItems"]) == 20
    assert first["next"] == f"{BASE}/c/velos/followers?page=2"
    second = await _as2(client, first["next"])
    assert len(second["orderedItems"]) == 5
    assert "next" not in second
    seen = first["orderedItems"] + second["orderedItems"]
    assert sorted(seen) == sorted(uris)
    assert seen[0] == uris[-1]  # newest first
    beyond = await _as2(client, "/c/velos/followers?page=3")
    assert beyond["orderedItems"] == []


async def test_following_lists_accepted_targets(
    client: httpx.AsyncClient, coop: LocalActor, member: LocalActor
) -> None:
    for target, state in (("a", FollowState.ACCEPTED), ("b", FollowState.PENDING)):
        await Follow.create(
            ap_id=f"{BASE}/activities/{target}",
            follower_uri=f"{BASE}/u/alice",
            target_uri=f"https://remote.example/users/{target}",
            local_follower=member,
            state=state,
        )
    doc = await _as2(client, "/u/alice/following")
    assert doc["totalItems"] == 1
    page = await _as2(client, doc["first"])
    assert page["orderedItems"] == ["https://remote.example/users/a"]
    # the coop's own collections are unaffected
    assert (await _as2(client, "/c/velos/following"))["totalItems"] == 0


async def test_outbox_lists_public_activities_only(
    client: httpx.AsyncClient, member: LocalActor
) -> None:
    public = {"id": f"{BASE}/activities/{uuid4()}", "type": "Create", "to": ["as:Public"]}
    private = {"id": f"{BASE}/activities/{uuid4()}", "type": "Follow"}
    await Activity.create(
        ap_id=public["id"], actor=member, type="Create", payload=public, public=True
    )
    await Activity.create(ap_id=private["id"], actor=member, type="Follow", payload=private)
    doc = await _as2(client, "/u/alice/outbox")
    assert doc["totalItems"] == 1
    page = await _as2(client, doc["first"])
    assert page["orderedItems"] == [public]
    assert (await _as2(client, public["id"]))["id"] == public["id"]
    r = await client.get(private["id"], headers={"Accept": AS2})
    assert r.status_code == 404


@pytest.mark.parametrize(
    "ident",
    [
        "x" * 600,  # longer than the column the id is looked up in
        "1",
        "00000000-0000-4000-8000-00000000000g",
        "00000000-0000-4000-8000-000000000000" + "0" * 500,
        "{00000000-0000-4000-8000-000000000000}",
        "00000000000040008000000000000000",
        "00000000-0000-4000-8000-00000000000A",  # a canonical id is lowercase
    ],
)
async def test_a_malformed_activity_id_is_404(
    client: httpx.AsyncClient, member: LocalActor, ident: str
) -> None:
    known = {"id": f"{BASE}/activities/00000000-0000-4000-8000-00000000000a", "type": "Create"}
    known["to"] = ["as:Public"]
    await Activity.create(
        ap_id=known["id"], actor=member, type="Create", payload=known, public=True
    )
    assert (await _as2(client, known["id"]))["id"] == known["id"]
    r = await client.get(f"/activities/{ident}", headers={"Accept": AS2})
    assert r.status_code == 404 and r.json()["error"] == "Not found"


async def test_instance_actor_collections(client: httpx.AsyncClient, fed: Federation) -> None:
    doc = await _as2(client, "/actor/followers")
    assert doc["id"] == f"{BASE}/actor/followers"
    assert doc["type"] == "OrderedCollection"


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "", "²", "1e3", "99999999999999999999"])
async def test_bad_page_is_400(client: httpx.AsyncClient, coop: LocalActor, page: str) -> None:
    r = await client.get(f"/c/velos/followers?page={page}", headers={"Accept": AS2})
    assert r.status_code == 400, (page, r.status_code)
    assert r.json()["error"]


@pytest.mark.parametrize("path", ["/c/velos/likes", "/c/velos/inbox", "/actor/inbox", "/actor/x"])
async def test_unknown_collection_is_404(
    client: httpx.AsyncClient, coop: LocalActor, path: str
) -> None:
    r = await client.get(path, headers={"Accept": AS2})
    assert r.status_code == 404
    assert r.json()["error"]


# --- authorized fetch -------------------------------------------------------------------------


class TestAuthorizedFetch:
    @pytest.fixture
    def settings(self) -> FederationSettings:
        return FederationSettings(
            authorized_fetch=True, allow_private_addresses=True, worker_poll_seconds=0.05
        )

    @pytest.fixture(autouse=True)
    async def sent(self, fed: Federation) -> AsyncIterator[list[httpx.Request]]:
        yield await offline(fed)

    @staticmethod
    def _signed(
        url: str, key_id: str, private_pem: str, now: datetime | None = None
    ) -> dict[str, str]:
        return sign_request("GET", url, {"Accept": AS2}, None, key_id, private_pem, now=now)

    async def test_unsigned_as2_fetch_is_401(
        self, client: httpx.AsyncClient, coop: LocalActor, sent: list[httpx.Request]
    ) -> None:
        for path in ("/c/velos", "/c/velos/followers", "/c/velos/outbox?page=1"):
            r = await client.get(path, headers={"Accept": AS2})
            assert r.status_code == 401, path
            assert r.headers["content-type"].startswith("application/json")
            assert r.json()["error"]
        assert sent == []

    async def test_browsers_still_get_html(
        self, client: httpx.AsyncClient, coop: LocalActor
    ) -> None:
        r = await client.get("/c/velos", headers={"Accept": BROWSER})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")

    async def test_signed_fetch_by_cached_actor(
        self, client: httpx.AsyncClient, coop: LocalActor, sent: list[httpx.Request]
    ) -> None:
        zoe, pem = await remote_actor("zoe", key=keypair("a"))
        assert zoe.key_id
        for path in ("/c/velos", "/c/velos/followers"):
            url = BASE + path
            r = await client.get(url, headers=self._signed(url, zoe.key_id, pem))
            assert r.status_code == 200, r.text
            assert r.json()["id"] == url
        assert sent == []  # the key came from the cache

    async def test_bad_signatures_are_401(
        self, client: httpx.AsyncClient, coop: LocalActor, sent: list[httpx.Request]
    ) -> None:
        zoe, pem = await remote_actor("zoe", key=keypair("a"))
        other_pem = keypair("b").private_pem
        url = f"{BASE}/c/velos"
        assert zoe.key_id
        wrong_key = self._signed(url, zoe.key_id, other_pem)
        stale = self._signed(url, zoe.key_id, pem, now=datetime.now(UTC) - timedelta(hours=2))
        other_path = self._signed(f"{BASE}/c/velos/followers", zoe.key_id, pem)
        unknown_key = self._signed(url, "https://remote.example/users/nobody#main-key", pem)
        for headers in (wrong_key, stale, other_path, unknown_key):
            r = await client.get(url, headers=headers)
            assert r.status_code == 401
            assert r.json()["error"]
        # a failed check refetches the key from its owner's host, never anywhere else
        assert {request.url.host for request in sent} == {"remote.example"}
        assert await RemoteActor.all().count() == 1

    async def test_instance_actor_needs_no_signature(
        self, client: httpx.AsyncClient, fed: Federation
    ) -> None:
        for accept in (AS2, BROWSER):
            r = await client.get("/actor", headers={"Accept": accept})
            assert r.status_code == 200
            assert r.json()["type"] == "Application"
