"""Forgeries over real HTTP: a real coopub (``coopub serve``, its own database) and remote actors
on loopback servers (``tests.rig.remote``) that sign what they send with their own keys.

Every forged case asserts that the database is unchanged: the tables that hold what a peer can
change (offers, follows, actors and their keys, directory entries, bookings, activities,
deliveries) are read before and after, once the worker has processed everything. A forged
signature is refused with 401 and stores nothing; a well-signed activity acting on what is not
its signer's is received (202), then refused or ignored by the worker, with its reason.

One instance and two remote servers for the whole module (``world``). What is set up through
the CLI and signed activities, as a peer would: alice follows the remote actor ``a`` and the
remote coop; the instance joined the remote directory; it runs a directory itself (manual
admission) where the remote host's instance actor asked to be listed; ``a``'s offer is stored.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from activitypub.offer_input import parse_offer
from activitypub.offer_model import offer_fields
from activitypub.offers import offer_to_as
from activitypub.urls import PUBLIC, host_of
from activitypub.wire import AS2_CONTEXT
from models.offers import Offer
from tests import offer_samples as samples
from tests.rig.canned import Keypair, document_at, keypair, signed_post
from tests.rig.instances import Instance, Rig
from tests.rig.remote import RemoteServer

SNAPSHOT = {
    "offer": "SELECT * FROM offer ORDER BY ap_id",
    "follow": "SELECT * FROM follow ORDER BY ap_id",
    "remote_actor": "SELECT ap_id, type, key_id, public_key_pem, name, inbox, shared_inbox"
    " FROM remote_actor ORDER BY ap_id",
    "local_actor": "SELECT * FROM local_actor ORDER BY id",
    "directory_entry": "SELECT * FROM directory_entry ORDER BY id",
    "booking": "SELECT * FROM booking ORDER BY id",
    "booking_message": "SELECT * FROM booking_message ORDER BY id",
    "activity": "SELECT * FROM activity ORDER BY id",
    "delivery": "SELECT * FROM delivery ORDER BY id",
}
"""What a peer could change. Left out: ``inbox_item`` (each received activity is recorded there,
checked case by case), ``host`` (the last time a host answered) and ``remote_actor.fetched_at``
(a failed signature refetches the signer's document)."""


@dataclass
class Peer:
    """A remote actor served by a loopback server, signing with its own key."""

    server: RemoteServer
    path: str
    key: Keypair
    actor_type: str = "Person"

    @property
    def id(self) -> str:
        return self.server.url(self.path)

    @property
    def key_id(self) -> str:
        return f"{self.id}#main-key"

    def document(self) -> dict[str, Any]:
        return document_at(self.id, public_pem=self.key.public_pem, actor_type=self.actor_type)

    def serve(self, doc: dict[str, Any] | None = None) -> Peer:
        self.server.serve_json(self.path, doc or self.document())
        self.server.serve_json(
            f"{self.path}/outbox",
            {"@context": AS2_CONTEXT, "id": f"{self.id}/outbox", "type": "OrderedCollection"},
        )
        return self

    def activity(self, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
        return {
            "@context": AS2_CONTEXT,
            "id": f"{self.id}/activities/{uuid.uuid4().hex}",
            "type": kind,
            "actor": self.id,
            "object": obj,
            "to": [PUBLIC],
            **extra,
        }

    async def post(self, to: Instance, activity: dict[str, Any], **forged: Any) -> httpx.Response:
        """POST ``activity`` signed (by default) with this actor's key to ``to``'s shared inbox.
        ``forged``: ``key_id``, ``private_pem``, ``now``, ``sent`` (other bytes than signed)."""
        url = f"{to.base_url}/inbox"
        body, headers = signed_post(
            url,
            activity,
            forged.get("key_id", self.key_id),
            forged.get("private_pem", self.key.private_pem),
            now=forged.get("now"),
        )
        async with httpx.AsyncClient() as client:
            return await client.post(url, content=forged.get("sent", body), headers=headers)


def offer_document(
    author: str, offer_id: str, title: str, cc: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A ride as a coopub peer publishes it, dated now (so no older-copy rule hides a change)."""
    now = datetime.now(UTC)
    offer = Offer(
        ap_id=offer_id,
        author_uri=author,
        author_name="",
        instance_domain=host_of(offer_id),
        status="open",
        published_at=now,
        updated_at=now,
        **offer_fields(parse_offer(samples.ride(title=title)), local=False),
    )
    doc = offer_to_as(offer, followers=f"{author}/followers", url=offer_id)
    doc["cc"] = [*doc["cc"], *cc]
    return doc


@dataclass
class World:
    coopub: Instance
    remote: RemoteServer
    elsewhere: RemoteServer
    a: Peer
    """Followed by alice; its offer ``offer`` is stored."""
    b: Peer
    """On a's host, followed by nobody."""
    stranger: Peer
    coop: Peer
    """A remote coop, followed by alice."""
    directory: Peer
    """The remote directory this instance joined."""
    fake_directory: Peer
    """A directory actor on another host, which nobody here follows."""
    offer: str

    @property
    def rig(self) -> Rig:
        return Rig([self.coopub])

    @property
    def alice(self) -> str:
        return f"{self.coopub.base_url}/u/alice"

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return {table: await self.coopub.query(sql) for table, sql in SNAPSHOT.items()}

    async def item(self, activity_id: str) -> tuple[str, str | None] | None:
        rows = await self.coopub.query(
            f"SELECT state, error FROM inbox_item WHERE activity_id = '{activity_id}'"
        )
        return (rows[0][0], rows[0][1]) if rows else None

    @contextlib.asynccontextmanager
    async def unchanged(self) -> AsyncIterator[None]:
        """The database holds the same rows after the block, once the worker is idle."""
        before = await self.snapshot()
        yield
        await self.rig.drain()
        after = await self.snapshot()
        assert {t: rows for t, rows in after.items() if rows != before[t]} == {}

    async def accept_follow_of(self, peer: Peer) -> None:
        """``peer`` accepts the follow it received from the instance."""
        [follow] = [r.json() for r in self.remote.requests_to(f"{peer.path}/inbox", "POST")]
        assert follow["type"] == "Follow"
        accept = peer.activity("Accept", follow, to=[follow["actor"]])
        assert (await peer.post(self.coopub, accept)).status_code == 202


async def _follow(world: World, *args: str) -> None:
    result = await world.coopub.cli(*args, "--wait", "0")
    assert result.returncode == 3, result  # pending: the remote peer answers below
    await world.rig.drain()


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    root: Path = tmp_path_factory.mktemp("forgery")
    async with RemoteServer() as remote, RemoteServer() as elsewhere:
        coopub = await Instance.create(
            "forgery", root, listing={"enabled": True, "admission": "manual"}
        )
        try:
            peers = {
                "a": Peer(remote, "/users/a", keypair("a")),
                "b": Peer(remote, "/users/b", keypair("b")),
                "stranger": Peer(remote, "/users/stranger", keypair("c")),
                "coop": Peer(remote, "/users/coop", keypair("c"), "Group"),
                "directory": Peer(remote, "/directory", keypair("c"), "Service"),
                "fake_directory": Peer(elsewhere, "/directory", keypair("c"), "Service"),
            }
            for peer in peers.values():
                peer.serve()
            world = World(coopub, remote, elsewhere, offer=remote.url("/offers/a-1"), **peers)
            await _set_up(world)
            yield world
        finally:
            await coopub.stop()


async def _set_up(world: World) -> None:
    coopub, a = world.coopub, world.a
    await coopub.coop("velos")
    await coopub.member("alice", "velos")
    await _follow(world, "follow", "alice", a.id)
    await _follow(world, "follow", "alice", world.coop.id)
    await _follow(world, "directory", "join", world.remote.base_url)
    for peer in (a, world.coop, world.directory):
        await world.accept_follow_of(peer)
    # the remote host's instance actor asks to be listed in this instance's directory
    host_actor = Peer(world.remote, "/actor", keypair("c"), "Application").serve()
    join = host_actor.activity("Follow", f"{coopub.base_url}/directory")
    assert (await host_actor.post(coopub, join)).status_code == 202
    create = a.activity("Create", offer_document(a.id, world.offer, "Trajet de a"))
    assert (await a.post(coopub, create)).status_code == 202
    for peer in (world.b, world.stranger, world.fake_directory):  # known here from now on
        like = peer.activity("Like", world.offer)
        assert (await peer.post(coopub, like)).status_code == 202
    await world.rig.drain()
    states = await coopub.query("SELECT state FROM follow WHERE local_follower_id IS NOT NULL")
    assert sorted(s for (s,) in states) == ["accepted"] * 3
    assert await coopub.query("SELECT actor_uri FROM directory_entry") == [(host_actor.id,)]


async def _offers(world: World) -> dict[str, tuple[str, str]]:
    rows = await world.coopub.query("SELECT ap_id, author_uri, title FROM offer")
    return {ap_id: (author, title) for ap_id, author, title in rows}


def _one_line_for(world: World, activity_id: str) -> str:
    lines = [line for line in world.coopub.log().splitlines() if activity_id in line]
    assert len(lines) == 1, lines
    assert 'level="info"' in lines[0] and "Traceback" not in world.coopub.log()
    return lines[0]


# --- the setting itself ------------------------------------------------------------------------


async def test_a_followed_authors_offer_is_stored(world: World) -> None:
    """The control for what follows: the pipeline stores what it should."""
    assert (await _offers(world))[world.offer] == (world.a.id, "Trajet de a")


# --- acting on someone else's objects ----------------------------------------------------------


async def test_a_neighbour_cannot_take_an_offer_over(world: World) -> None:
    """b, on a's host, sends a Create of a's offer id as its own (addressed to alice, so that
    it has a reason to be read at all): refused, a's offer as it was."""
    b = world.b
    takeover = offer_document(b.id, world.offer, "Trajet de b", cc=(world.alice,))
    create = b.activity("Create", takeover, cc=[world.alice])
    async with world.unchanged():
        assert (await b.post(world.coopub, create)).status_code == 202
    state, error = await world.item(create["id"]) or ("missing", None)
    assert state == "failed" and error and "offer of " + world.a.id in error
    assert (await _offers(world))[world.offer] == (world.a.id, "Trajet de a")


@pytest.mark.parametrize("attributed_to", ["b", "a"])
async def test_a_neighbour_cannot_update_an_offer(world: World, attributed_to: str) -> None:
    b = world.b
    author = b.id if attributed_to == "b" else world.a.id
    changed = offer_document(author, world.offer, "Modifié par b")
    update = b.activity("Update", changed)
    async with world.unchanged():
        assert (await b.post(world.coopub, update)).status_code == 202
    assert (await world.item(update["id"]) or ("missing",))[0] == "failed"


@pytest.mark.parametrize("form", ["uri", "tombstone"])
async def test_a_neighbour_cannot_delete_an_offer(world: World, form: str) -> None:
    b = world.b
    target: Any = world.offer if form == "uri" else {"id": world.offer, "type": "Tombstone"}
    delete = b.activity("Delete", target)
    async with world.unchanged():
        assert (await b.post(world.coopub, delete)).status_code == 202
    assert (await world.item(delete["id"]) or ("missing",))[0] == "ignored"


async def test_an_offer_attributed_to_someone_else_is_refused(world: World) -> None:
    """a, followed, creates an offer on its host attributed to b: not a's to send."""
    a = world.a
    create = a.activity("Create", offer_document(world.b.id, world.remote.url("/offers/b-9"), "x"))
    async with world.unchanged():
        assert (await a.post(world.coopub, create)).status_code == 202
    assert (await world.item(create["id"]) or ("missing",))[0] == "failed"


async def test_a_neighbour_cannot_take_a_directory_entry_over(world: World) -> None:
    """The remote host's entry is its instance actor's; b asking to join is refused."""
    b = world.b
    join = b.activity("Follow", f"{world.coopub.base_url}/directory")
    async with world.unchanged():
        assert (await b.post(world.coopub, join)).status_code == 202
    state, error = await world.item(join["id"]) or ("missing", None)
    assert state == "failed" and error and "asked to join as" in error


# --- offers nobody here asked for --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Create", "Update"])
async def test_a_strangers_offer_is_dropped_with_one_line(world: World, kind: str) -> None:
    stranger = world.stranger
    offer_id = world.remote.url(f"/offers/stranger-{kind}")
    activity = stranger.activity(kind, offer_document(stranger.id, offer_id, "Spam"))
    async with world.unchanged():
        assert (await stranger.post(world.coopub, activity)).status_code == 202
    assert await world.item(activity["id"]) == ("ignored", None)
    line = _one_line_for(world, activity["id"])
    assert "activity not processed" in line and "nobody here asked for" in line


async def test_an_announce_from_a_directory_nobody_joined_is_ignored(world: World) -> None:
    """A directory actor on another host, not joined, announces a stranger's offer: not
    fetched, not stored (the offer is served at its origin: only the check keeps it away)."""
    fake = world.fake_directory
    offer_path = "/offers/announced-by-fake"
    offer_id = world.remote.serve_json(
        offer_path, offer_document(world.stranger.id, world.remote.url(offer_path), "Relayé ?")
    )
    announce = fake.activity("Announce", offer_id)
    async with world.unchanged():
        assert (await fake.post(world.coopub, announce)).status_code == 202
    assert await world.item(announce["id"]) == ("ignored", None)
    assert world.remote.requests_to(offer_path) == []


# --- keys that are not the actor's -------------------------------------------------------------


def _key_cases(remote: RemoteServer, owner_elsewhere: str) -> Iterator[tuple[str, Peer, str]]:
    """(case, signing actor as served, key id signed with), each on fresh paths."""
    key = keypair("c")
    listed = Peer(remote, "/users/k-other-owner", key)
    doc = listed.document()
    doc["publicKey"]["owner"] = owner_elsewhere
    listed.serve(doc)
    yield "owner is another actor", listed, listed.key_id

    bare = Peer(remote, "/users/k-no-owner", key)
    doc = bare.document()
    del doc["publicKey"]["owner"]
    bare.serve(doc)
    yield "key without an owner", bare, bare.key_id

    alias = Peer(remote, "/users/k-alias", key)
    key_id = remote.url("/keys/k-alias")
    doc = alias.document()
    doc["publicKey"]["id"] = key_id
    alias.serve(doc)
    remote.serve_json("/users/k-alias-owner", doc)  # the owner named, served as another id
    remote.serve_json(
        "/keys/k-alias",
        {
            "@context": "https://w3id.org/security/v1",
            "id": key_id,
            "type": "Key",
            "owner": remote.url("/users/k-alias-owner"),
            "publicKeyPem": key.public_pem,
        },
    )
    yield "key document whose owner is served under another id", alias, key_id

    disowned = Peer(remote, "/users/k-disowned", key)
    key_id = remote.url("/keys/k-disowned")
    doc = disowned.document()
    doc["publicKey"] = {"id": key_id, "owner": owner_elsewhere, "publicKeyPem": key.public_pem}
    disowned.serve(doc)
    remote.serve_json(
        "/keys/k-disowned",
        {"id": key_id, "type": "Key", "owner": disowned.id, "publicKeyPem": key.public_pem},
    )
    yield "key document whose owner lists it as another's", disowned, key_id


async def test_a_key_whose_owner_is_not_the_actor_is_refused(world: World) -> None:
    for case, peer, key_id in _key_cases(world.remote, world.a.id):
        follow = peer.activity("Follow", f"{world.coopub.base_url}/c/velos")
        async with world.unchanged():
            r = await peer.post(world.coopub, follow, key_id=key_id)
            assert r.status_code == 401, (case, r.text)
        assert await world.item(follow["id"]) is None, case
    known = await world.coopub.query("SELECT ap_id FROM remote_actor WHERE ap_id LIKE '%/k-%'")
    assert known == []


# --- forged signatures -------------------------------------------------------------------------


FORGED_SIGNATURES = [
    "unsigned",
    "signed by b as a",
    "another private key",
    "body changed after signing",
    "activity id on another host",
    "an hour old",
]


@pytest.mark.parametrize("case", FORGED_SIGNATURES)
async def test_a_forged_signature_is_refused(world: World, case: str) -> None:
    a, b = world.a, world.b
    changed = offer_document(a.id, world.offer, "Falsifié")
    update = a.activity("Update", changed)
    forged: dict[str, Any] = {}
    if case == "signed by b as a":
        forged = {"key_id": b.key_id, "private_pem": b.key.private_pem}
    elif case == "another private key":
        forged = {"private_pem": keypair("c").private_pem}
    elif case == "body changed after signing":
        forged = {"sent": json.dumps({**update, "id": update["id"] + "-2"}).encode()}
    elif case == "activity id on another host":
        update["id"] = world.elsewhere.url("/activities/1")
    elif case == "an hour old":
        forged = {"now": datetime.now(UTC) - timedelta(hours=1)}
    async with world.unchanged():
        if case == "unsigned":
            async with httpx.AsyncClient() as client:
                r = await client.post(f"{world.coopub.base_url}/inbox", json=update)
        else:
            r = await a.post(world.coopub, update, **forged)
        assert r.status_code == 401, r.text
    assert await world.item(update["id"]) is None


# --- and the reasons to keep an offer ----------------------------------------------------------


async def test_an_offer_with_a_reason_is_stored(world: World) -> None:
    """Not followed, yet kept: addressed to alice; its coop followed; relayed by the joined
    directory (fetched from its origin)."""
    remote = world.remote
    addressed = Peer(remote, "/users/addresser", keypair("c")).serve()
    member = Peer(remote, "/users/coop-member", keypair("c")).serve()
    to_alice = remote.url("/offers/to-alice")
    of_coop = remote.url("/offers/of-coop")
    relayed = remote.url("/offers/relayed")
    remote.serve_json("/offers/relayed", offer_document(world.stranger.id, relayed, "Relayé"))
    activities = [
        (
            addressed,
            addressed.activity(
                "Create", offer_document(addressed.id, to_alice, "Pour alice", cc=(world.alice,))
            ),
        ),
        (
            member,
            member.activity(
                "Create", offer_document(member.id, of_coop, "De la coop", cc=(world.coop.id,))
            ),
        ),
        (world.directory, world.directory.activity("Announce", relayed)),
    ]
    for peer, activity in activities:
        assert (await peer.post(world.coopub, activity)).status_code == 202
    await world.rig.drain()
    for _, activity in activities:
        assert await world.item(activity["id"]) == ("done", None)
    offers = await _offers(world)
    assert offers[to_alice] == (addressed.id, "Pour alice")
    assert offers[of_coop] == (member.id, "De la coop")
    assert offers[relayed] == (world.stranger.id, "Relayé")
