"""A fan-out as the worker sends it: the same bytes for every inbox, one key, kept-alive
connections per host, batches claimed one after another within the hosts' limits, and
signatures an independent Mastodon-style check accepts.

Real loopback servers answer: ``RemoteServer`` (the test rig) and, where TCP connections are
counted, ``Inboxes`` below, a bare HTTP/1.1 server that keeps connections alive.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from federation import delivery
from federation.addresses import PinnedBackend, any_address
from federation.context import Federation
from federation.delivery import deliver_due, publish
from federation.pools import HostPools
from federation.queue import claim_due
from federation.signatures import load_private_key
from models.actors import LocalActor
from models.delivery import Delivery, DeliveryState
from tests.rig.federations import federation_with
from tests.rig.notes import create_note
from tests.rig.remote import RemoteServer


def mastodon_accepts(
    method: str, path: str, headers: dict[str, str], body: bytes, public_pem: str
) -> None:
    """What Mastodon's ``SignatureVerification`` checks for a draft-cavage POST, written apart
    from ours (no code shared with federation/): the headers it requires, the Digest of the
    body, a Date within its window, then RSA-SHA256 over the rebuilt signing string."""
    params = dict(re.findall(r'(\w+)="([^"]*)"', headers["signature"]))
    assert params["algorithm"] in ("rsa-sha256", "hs2019"), params
    covered = params["headers"].split(" ")
    assert {"(request-target)", "host", "date", "digest"} <= set(covered), covered
    expected = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert headers["digest"] == expected
    date = parsedate_to_datetime(headers["date"])
    assert abs(datetime.now(UTC) - date) < timedelta(hours=1)
    lines = [
        f"(request-target): {method.lower()} {path}" if name == "(request-target)" else
        f"{name}: {headers[name]}"
        for name in covered
    ]  # fmt: skip
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(
        base64.b64decode(params["signature"]),
        "\n".join(lines).encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


class Inboxes:
    """A bare keep-alive HTTP/1.1 server: answers every request 202 and counts the TCP
    connections it accepted and the requests on each."""

    def __init__(self) -> None:
        self.connections = 0
        self.open = 0
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                request_line, *lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((request_line.split(" ")[1], headers, body))
                writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection
        finally:
            self.open -= 1
            writer.close()

    async def __aenter__(self) -> Inboxes:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


async def test_every_inbox_gets_the_same_bytes_and_digest(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    inboxes = [remote.url(f"/users/u{i}/inbox") for i in range(5)]
    activity = await publish(fed, member, create_note(fed, member), inboxes)
    assert await deliver_due(fed) == 5
    posts = remote.posts
    assert sorted(p.path for p in posts) == sorted(f"/users/u{i}/inbox" for i in range(5))
    assert len({p.body for p in posts}) == 1
    assert posts[0].json()["id"] == activity.ap_id
    assert len({p.headers["digest"] for p in posts}) == 1
    assert len({p.headers["signature"] for p in posts}) == 5  # each its own target
    for post in posts:
        mastodon_accepts("POST", post.path, dict(post.headers), post.body, member.public_key_pem)
        remote.verify(post, member.public_key_pem)
    rows = await Delivery.filter(activity_id=activity.id)
    assert {(r.state, r.attempts, r.last_status, r.locked_until) for r in rows} == {
        (DeliveryState.DELIVERED, 1, 202, None)
    }
    assert all(r.delivered_at is not None for r in rows)


async def test_the_signing_key_is_parsed_once_for_a_fan_out(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    load_private_key.cache_clear()
    await publish(
        fed,
        member,
        create_note(fed, member),
        [remote.url(f"/u{i}") for i in range(6)],
    )
    assert await deliver_due(fed) == 6
    info = load_private_key.cache_info()
    assert (info.misses, info.hits) == (1, 0)  # one key object for the six requests


async def test_each_host_s_connection_is_kept_alive_and_reused(member: LocalActor) -> None:
    async with Inboxes() as one, Inboxes() as two, federation_with(per_host_concurrency=1) as fed:
        inboxes = [f"{server.base}/users/u{i}/inbox" for server in (one, two) for i in range(4)]
        await publish(fed, member, create_note(fed, member), inboxes)
        assert await deliver_due(fed) == 8
        assert (len(one.requests), len(two.requests)) == (4, 4)
        assert (one.connections, two.connections) == (1, 1)
        assert fed.http.pools.pool_count() == 2
        second = create_note(fed, member)  # a second activity reuses the same connections
        await publish(fed, member, second, [f"{one.base}/inbox", f"{two.base}/inbox"])
        assert await deliver_due(fed) == 2
        assert (one.connections, two.connections) == (1, 1)
        for path, headers, body in one.requests + two.requests:
            mastodon_accepts("POST", path, headers, body, member.public_key_pem)


async def test_idle_host_pools_are_bounded() -> None:
    """Beyond ``max_hosts``, the least recently used idle pool is closed with its sockets."""
    pools = HostPools(PinnedBackend(any_address), per_host=2, max_hosts=2)
    async with (
        Inboxes() as a,
        Inboxes() as b,
        Inboxes() as c,
        httpx.AsyncClient(transport=pools) as client,
    ):
        for server in (a, b, c):
            assert (await client.post(f"{server.base}/inbox", content=b"{}")).status_code == 202
        assert pools.pool_count() == 2 and pools.opened == 3
        for _ in range(100):
            if a.open == 0:
                break
            await asyncio.sleep(0.01)
        assert (a.open, b.open, c.open) == (0, 1, 1)
        assert (await client.post(f"{a.base}/inbox", content=b"{}")).status_code == 202
        assert (a.connections, pools.opened, pools.pool_count()) == (2, 4, 2)


async def test_a_pass_claims_batch_after_batch_within_the_host_limit(member: LocalActor) -> None:
    """With batches of two and two requests at a time to the one host, a pass claims the next
    batch once the rows it holds are all being sent: every row goes in one call, never more
    than two at once."""
    async with (
        RemoteServer(delay=0.05) as remote,
        federation_with(worker_batch_size=2, per_host_concurrency=2) as fed,
    ):
        inboxes = [remote.url(f"/users/u{i}/inbox") for i in range(7)]
        await publish(fed, member, create_note(fed, member), inboxes)
        assert await deliver_due(fed) == 7
        assert remote.max_in_flight == 2
        assert len(remote.posts) == 7
    assert set(await Delivery.all().values_list("state", flat=True)) == {DeliveryState.DELIVERED}


async def test_a_long_queue_is_claimed_in_growing_batches(
    member: LocalActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full claim is followed by one twice as large, up to ``LARGEST_CLAIM`` (a fan-out: fewer
    claims and records); the first is ``worker_batch_size``, so that a few rows still go to
    several workers."""
    asked: list[tuple[int, int]] = []

    async def claim(*args: Any, **kwargs: Any) -> list[Delivery]:
        rows = await claim_due(*args, **kwargs)
        asked.append((args[2], len(rows)))
        return rows

    monkeypatch.setattr(delivery, "claim_due", claim)
    monkeypatch.setattr(delivery, "LARGEST_CLAIM", 8)
    async with (
        RemoteServer() as remote,
        federation_with(worker_batch_size=2, per_host_concurrency=16) as fed,
    ):
        inboxes = [remote.url(f"/users/u{i}/inbox") for i in range(30)]
        await publish(fed, member, create_note(fed, member), inboxes)
        assert await deliver_due(fed) == 30
        assert asked == [(2, 2), (4, 4), (8, 8), (8, 8), (8, 8), (8, 0)]
        assert len(remote.posts) == 30
    asked.clear()
    async with RemoteServer() as remote, federation_with(worker_batch_size=2) as fed:
        await publish(fed, member, create_note(fed, member), [remote.url("/users/u/inbox")])
        assert await deliver_due(fed) == 1
    assert asked == [(2, 1)]


async def test_one_inbox_gets_its_activities_one_after_the_other_in_order(
    member: LocalActor,
) -> None:
    """Several activities for one inbox in a batch are sent in the order they were queued, the
    next once the previous was answered (two Updates within a second must not cross), though
    the host would take four at once."""
    async with (
        RemoteServer(delay=0.02) as remote,
        federation_with(per_host_concurrency=4) as fed,
    ):
        one = remote.url("/users/u0/inbox")
        sent = [await publish(fed, member, create_note(fed, member), [one]) for _ in range(6)]
        assert await deliver_due(fed) == 6
        assert [p.json()["id"] for p in remote.posts] == [a.ap_id for a in sent]
        assert remote.max_in_flight == 1
