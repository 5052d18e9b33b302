"""Verifying incoming requests against keys fetched over real HTTP, and refetching on rotation.

GoToSocial caches a remote key and never refetches it when a signature fails, so a rotated key
silently breaks federation with it; ``verify_request`` refetches the signer's actor once. The
remote actor is served by ``tests.rig.remote.RemoteServer``; our fetches are signed by the
instance actor, and the remote checks that signature too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from activitypub.wire import ACTOR_CONTEXT, AS2_CONTEXT
from federation import actors
from federation.actors import fetch_actor, forget_key_owners
from federation.blocks import ActorSuspended
from federation.context import Federation
from federation.inbox import verify_request
from federation.signatures import generate_rsa_keypair, sign_request
from models.actors import LocalActor, RemoteActor
from models.errors import Malformed, SignatureInvalid
from tests.conftest import TEST_DOMAIN
from tests.rig.remote import RemoteServer

KEY_A = generate_rsa_keypair()
KEY_B = generate_rsa_keypair()
KEY_C = generate_rsa_keypair()


def _actor_doc(remote: RemoteServer, name: str, public_pem: str) -> dict[str, Any]:
    actor_id = remote.url(f"/users/{name}")
    return {
        "@context": ACTOR_CONTEXT,
        "id": actor_id,
        "type": "Person",
        "preferredUsername": name,
        "inbox": f"{actor_id}/inbox",
        "outbox": f"{actor_id}/outbox",
        "endpoints": {"sharedInbox": remote.url("/inbox")},
        "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": public_pem},
    }


class Zoe:
    """The remote actor ``zoe``: serves her document, signs POSTs to our coop's inbox."""

    def __init__(self, remote: RemoteServer, fed: Federation, coop: LocalActor) -> None:
        self.remote = remote
        self.id = remote.url("/users/zoe")
        self.key_id = f"{self.id}#main-key"
        self.inbox = fed.urls.inbox(coop)
        self.coop_id = fed.urls.actor(coop)

    def serve(self, public_pem: str) -> None:
        self.remote.serve_json("/users/zoe", _actor_doc(self.remote, "zoe", public_pem))

    def signed_follow(self, private_pem: str, key_id: str | None = None) -> tuple[dict, bytes]:
        body = json.dumps(
            {
                "@context": AS2_CONTEXT,
                "id": f"{self.id}/follows/1",
                "type": "Follow",
                "actor": self.id,
                "object": self.coop_id,
            }
        ).encode()
        headers = sign_request(
            "POST",
            self.inbox,
            {"Content-Type": "application/activity+json"},
            body,
            key_id or self.key_id,
            private_pem,
        )
        return {k.lower(): v for k, v in headers.items()}, body

    async def verify(
        self, fed: Federation, private_pem: str, key_id: str | None = None
    ) -> RemoteActor:
        headers, body = self.signed_follow(private_pem, key_id)
        return await verify_request(fed, "POST", self.inbox, headers, body)


@pytest.fixture
async def zoe(remote: RemoteServer, fed: Federation, coop: LocalActor) -> Zoe:
    return Zoe(remote, fed, coop)


async def test_first_request_fetches_the_actor_with_a_signed_get(
    fed: Federation, zoe: Zoe, remote: RemoteServer
) -> None:
    zoe.serve(KEY_A[1])
    signer = await zoe.verify(fed, KEY_A[0])
    assert signer.ap_id == zoe.id
    assert signer.key_id == zoe.key_id and signer.public_key_pem == KEY_A[1]
    assert signer.domain == remote.host and signer.inbox == zoe.id + "/inbox"

    [get] = remote.gets
    assert get.path == "/users/zoe"
    assert "application/activity+json" in get.headers["accept"]
    assert "signature" in get.headers
    instance = await fed.instance_actor()
    parsed = remote.verify(get, instance.public_key_pem)
    assert parsed.key_id == f"https://{TEST_DOMAIN}/actor#main-key"
    assert parsed.covered == ("(request-target)", "host", "date")

    # Cached: the next request from zoe needs no fetch.
    assert (await zoe.verify(fed, KEY_A[0])).id == signer.id
    assert len(remote.gets) == 1


async def test_a_key_owner_is_read_again_after_a_few_seconds(
    fed: Federation, zoe: Zoe, remote: RemoteServer
) -> None:
    """Held per process for ``KEY_OWNER_SECONDS``: a change made by another process (here,
    the row deleted behind this one's back) is seen once they have passed."""
    zoe.serve(KEY_A[1])
    await zoe.verify(fed, KEY_A[0])  # fetched
    await zoe.verify(fed, KEY_A[0])  # read from its row, and held
    await RemoteActor.filter(ap_id=zoe.id).delete()

    assert (await zoe.verify(fed, KEY_A[0])).ap_id == zoe.id  # held: no read, no fetch
    assert len(remote.gets) == 1

    held = actors._owners.held
    for key_id, (read_at, actor) in list(held.items()):  # as read KEY_OWNER_SECONDS ago
        held[key_id] = (read_at - actors.KEY_OWNER_SECONDS, actor)
    assert (await zoe.verify(fed, KEY_A[0])).ap_id == zoe.id
    assert len(remote.gets) == 2  # read again: gone, so fetched again
    assert await RemoteActor.filter(ap_id=zoe.id).exists()


async def test_a_read_answered_after_a_suspension_is_not_held(
    fed: Federation, zoe: Zoe, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A suspension made in this process while a read of the key's owner was under way: the row
    read before it is used by that request, never held for the next ones."""
    zoe.serve(KEY_A[1])
    await zoe.verify(fed, KEY_A[0])  # fetched, not yet held
    conn = RemoteActor._meta.db
    read = conn.execute_query

    async def suspended_meanwhile(query: str, values: list[Any]) -> Any:
        answer = await read(query, values)
        monkeypatch.undo()  # the UPDATE below runs as any other statement
        await RemoteActor.filter(ap_id=zoe.id).update(suspended_at=datetime.now(UTC))
        forget_key_owners(zoe.id)  # what account_moderation does after its UPDATE
        return answer

    monkeypatch.setattr(conn, "execute_query", suspended_meanwhile)
    assert (await zoe.verify(fed, KEY_A[0])).suspended_at is None  # read before
    with pytest.raises(ActorSuspended):
        await zoe.verify(fed, KEY_A[0])


async def test_a_key_refetched_by_another_process_is_taken_here(
    fed: Federation, zoe: Zoe, remote: RemoteServer
) -> None:
    """Another process refetched zoe's rotated key (its row holds B) while this one holds A: the
    first signature by B fails against A here, and one refetch takes B."""
    zoe.serve(KEY_A[1])
    await zoe.verify(fed, KEY_A[0])
    await zoe.verify(fed, KEY_A[0])  # A held
    zoe.serve(KEY_B[1])
    await RemoteActor.filter(ap_id=zoe.id).update(public_key_pem=KEY_B[1])

    assert (await zoe.verify(fed, KEY_B[0])).public_key_pem == KEY_B[1]
    assert len(remote.gets) == 2
    await zoe.verify(fed, KEY_B[0])
    assert len(remote.gets) == 2


async def test_rotated_key_is_refetched_once(
    fed: Federation, zoe: Zoe, remote: RemoteServer
) -> None:
    zoe.serve(KEY_A[1])
    await zoe.verify(fed, KEY_A[0])
    assert len(remote.gets) == 1

    zoe.serve(KEY_B[1])  # rotation: same key id, new key
    signer = await zoe.verify(fed, KEY_B[0])
    assert signer.public_key_pem == KEY_B[1]
    assert len(remote.gets) == 2  # the cached key A failed, one refetch found B
    assert (await RemoteActor.get(ap_id=zoe.id)).public_key_pem == KEY_B[1]

    await zoe.verify(fed, KEY_B[0])
    assert len(remote.gets) == 2  # B is cached now

    # The old key no longer verifies, even after another refetch.
    with pytest.raises(SignatureInvalid):
        await zoe.verify(fed, KEY_A[0])
    assert len(remote.gets) == 3


async def test_rotation_to_a_new_key_id(fed: Federation, zoe: Zoe, remote: RemoteServer) -> None:
    zoe.serve(KEY_A[1])
    await zoe.verify(fed, KEY_A[0])
    doc = _actor_doc(remote, "zoe", KEY_B[1])
    doc["publicKey"]["id"] = zoe.id + "#key-2"
    remote.serve_json("/users/zoe", doc)
    signer = await zoe.verify(fed, KEY_B[0], key_id=zoe.id + "#key-2")
    assert signer.key_id == zoe.id + "#key-2" and signer.public_key_pem == KEY_B[1]
    assert await RemoteActor.filter(ap_id=zoe.id).count() == 1


async def test_unknown_key_is_refused(fed: Federation, zoe: Zoe, remote: RemoteServer) -> None:
    zoe.serve(KEY_B[1])
    await zoe.verify(fed, KEY_B[0])

    # Signed by C under zoe's key id: the cached B fails, the refetched B fails too.
    with pytest.raises(SignatureInvalid, match="does not verify"):
        await zoe.verify(fed, KEY_C[0])
    assert len(remote.gets) == 2
    assert (await RemoteActor.get(ap_id=zoe.id)).public_key_pem == KEY_B[1]

    # Signed by C under a key id zoe does not publish.
    with pytest.raises(SignatureInvalid) as refused:
        await zoe.verify(fed, KEY_C[0], key_id=zoe.id + "#key-c")
    assert isinstance(refused.value.__cause__, Malformed)
    assert "does not publish key" in str(refused.value.__cause__)


async def test_unknown_signer_without_a_document_is_refused(
    fed: Federation, zoe: Zoe, remote: RemoteServer
) -> None:
    # Nothing is served at /users/zoe: the key cannot be fetched (404).
    with pytest.raises(SignatureInvalid, match="cannot get key"):
        await zoe.verify(fed, KEY_C[0])
    assert [g.answered for g in remote.gets] == [404]
    assert await RemoteActor.filter(ap_id=zoe.id).count() == 0


async def test_document_claiming_another_host_is_refused(
    fed: Federation, zoe: Zoe, remote: RemoteServer
) -> None:
    doc = _actor_doc(remote, "mallory", KEY_C[1])
    doc["id"] = "https://elsewhere.example/users/mallory"
    doc["publicKey"]["owner"] = doc["id"]
    doc["publicKey"]["id"] = doc["id"] + "#main-key"
    url = remote.serve_json("/users/mallory", doc)

    with pytest.raises(Malformed, match="is not on"):
        await fetch_actor(fed, url)
    with pytest.raises(SignatureInvalid) as refused:
        await zoe.verify(fed, KEY_C[0], key_id=url + "#main-key")
    assert isinstance(refused.value.__cause__, Malformed)
    assert await RemoteActor.filter(ap_id=doc["id"]).count() == 0
    assert await RemoteActor.all().count() == 0
    assert {g.path for g in remote.gets} == {"/users/mallory"}


async def test_a_rotation_from_another_host_is_refused(
    fed: Federation, zoe: Zoe, remote: RemoteServer
) -> None:
    """Zoe's key is only ever replaced by a document fetched from zoe's own host."""
    zoe.serve(KEY_A[1])
    await zoe.verify(fed, KEY_A[0])
    async with RemoteServer() as other:
        # Another host serves a document claiming to be zoe, with key C.
        fake = _actor_doc(remote, "zoe", KEY_C[1])
        url = other.serve_json("/users/zoe", fake)
        with pytest.raises(Malformed):
            await fetch_actor(fed, url)
    assert (await RemoteActor.get(ap_id=zoe.id)).public_key_pem == KEY_A[1]


async def test_a_stale_signature_does_not_trigger_a_refetch(
    fed: Federation, zoe: Zoe, remote: RemoteServer
) -> None:
    """Only a cryptographic mismatch refetches the key; otherwise any replayed or stale
    request would make us fetch from the host it names."""
    zoe.serve(KEY_A[1])
    await zoe.verify(fed, KEY_A[0])
    assert len(remote.gets) == 1
    headers, body = zoe.signed_follow(KEY_A[0])
    headers["date"] = "Sun, 01 Jan 2023 00:00:00 GMT"  # no longer what was signed, and old
    with pytest.raises(SignatureInvalid):
        await verify_request(fed, "POST", zoe.inbox, headers, body)
    tampered = body.replace(b"follows/1", b"follows/2")
    headers, _ = zoe.signed_follow(KEY_A[0])
    with pytest.raises(SignatureInvalid):
        await verify_request(fed, "POST", zoe.inbox, headers, tampered)
    assert len(remote.gets) == 1
