"""Rate limits on the inbox (per verified remote host; per address for refused requests) and
on the API (per token): 429 with Retry-After, each sender on its own allowance. The clock is
moved by the test, never waited for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from federation.context import Federation
from federation.services.accounts import create_actor
from instance.auth import create_token
from instance.rate_limits import client_address
from instance.token_bucket import TokenBuckets
from models.activities import InboxItem
from models.actors import ActorKind, LocalActor, RemoteActor
from tests.conftest import TEST_DOMAIN
from tests.rig.canned import keypair, offline, post_signed, remote_actor
from tests.rig.limits import FakeClock, client_from, limited

BASE = f"https://{TEST_DOMAIN}"
INBOX = f"{BASE}/c/velos/inbox"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sent(fed: Federation) -> list[httpx.Request]:
    return await offline(fed)  # no network: a key fetch is recorded and answered 404


@pytest.fixture
async def peer(fed: Federation, database_url: str, clock: FakeClock) -> AsyncIterator[Any]:
    """Clients of one app with small limits, by client address."""
    app = limited(
        fed,
        database_url,
        clock,
        inbox_per_minute=6.0,  # one every 10 s
        inbox_burst=3,
        refused_per_minute=6.0,
        refused_burst=2,
        api_per_minute=12.0,  # one every 5 s
        api_burst=2,
    )
    opened: list[httpx.AsyncClient] = []

    def from_address(address: str = "198.51.100.7") -> httpx.AsyncClient:
        client = client_from(app, address)
        opened.append(client)
        return client

    yield from_address
    for client in opened:
        await client.aclose()


def follow(actor: RemoteActor, n: int) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.ap_id}#follows/{n}",
        "type": "Follow",
        "actor": actor.ap_id,
        "object": f"{BASE}/c/velos",
    }


async def send(client: httpx.AsyncClient, signer: tuple[RemoteActor, str], n: int) -> int:
    actor, pem = signer
    assert actor.key_id
    r = await post_signed(client, INBOX, follow(actor, n), actor.key_id, pem)
    return r.status_code


def assert_429(r: httpx.Response, retry_after: int) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["retry-after"] == str(retry_after)
    assert r.json() == {"error": "Too many requests: try again later", "status": 429}
    assert r.headers["x-content-type-options"] == "nosniff"


# --- the buckets ----------------------------------------------------------------------------------


def test_token_bucket_burst_refill_and_wait(clock: FakeClock) -> None:
    buckets = TokenBuckets(per_minute=30, burst=2, clock=clock)  # one every 2 s
    assert [buckets.take("a"), buckets.take("a")] == [0, 0]
    assert buckets.take("a") == 2 and buckets.wait("a") == 2  # refused: nothing spent
    assert buckets.take("b") == 0  # another key has its own
    clock.advance(1.5)
    assert buckets.take("a") == 1  # a quarter token still missing: rounded up to a second
    clock.advance(0.5)
    assert buckets.take("a") == 0
    clock.advance(3600)
    assert [buckets.take("a"), buckets.take("a"), buckets.take("a")] == [0, 0, 2]  # burst cap
    buckets.spend("b")
    buckets.spend("b")  # spent after the fact, never below empty
    assert buckets.wait("b") == 2
    off = TokenBuckets(per_minute=0, burst=1, clock=clock)
    assert not off.enabled and all(off.take("a") == 0 for _ in range(100))


def test_token_buckets_are_bounded(clock: FakeClock) -> None:
    buckets = TokenBuckets(per_minute=1, burst=1, clock=clock, max_keys=3)
    for key in ("a", "b", "c", "d"):
        assert buckets.take(key) == 0
    assert buckets.take("d") > 0
    assert buckets.take("a") == 0  # forgotten (the oldest): it comes back full


def test_client_address() -> None:
    assert client_address({"client": ("203.0.113.9", 5)}) == "203.0.113.9"
    assert client_address({"client": ("::ffff:203.0.113.9", 5)}) == "203.0.113.9"
    assert client_address({"client": ("2001:db8:1:2:3:4:5:6", 5)}) == "2001:db8:1:2::/64"
    assert client_address({"client": None}) == "unknown"


# --- the inbox ------------------------------------------------------------------------------------


async def test_inbox_limit_per_remote_host(
    peer: Any, coop: LocalActor, sent: list[httpx.Request], clock: FakeClock
) -> None:
    zoe = await remote_actor("zoe", "remote.example", key=keypair("a"))
    yann = await remote_actor("yann", "other.example", key=keypair("b"))
    client = peer()
    assert [await send(client, zoe, n) for n in range(3)] == [202, 202, 202]
    r = await post_signed(client, INBOX, follow(zoe[0], 3), zoe[0].key_id or "", zoe[1])
    assert_429(r, 10)
    assert not await InboxItem.filter(activity_id=follow(zoe[0], 3)["id"]).exists()
    # another host, from the same address, is not affected
    assert await send(client, yann, 1) == 202
    # zoe's host is limited whatever address it comes from; time gives it a token back
    assert await send(peer("192.0.2.44"), zoe, 4) == 429
    clock.advance(10)
    assert await send(client, zoe, 5) == 202
    assert await send(client, zoe, 6) == 429
    assert await InboxItem.all().count() == 5


async def test_forged_requests_spend_the_address_not_the_host(
    peer: Any, coop: LocalActor, sent: list[httpx.Request], clock: FakeClock
) -> None:
    zoe = await remote_actor("zoe", "remote.example", key=keypair("a"))
    forger, honest = peer("203.0.113.66"), peer("198.51.100.8")
    wrong_key = keypair("b").private_pem
    stranger = "https://stranger.example/users/x#main-key"  # unknown: fetched (404 here)
    for n in range(2):
        r = await post_signed(forger, INBOX, follow(zoe[0], n), zoe[0].key_id or "", wrong_key)
        assert r.status_code == 401, r.text
    fetches = len(sent)
    r = await post_signed(forger, INBOX, follow(zoe[0], 9), stranger, wrong_key)
    assert_429(r, 10)  # refused before any work: no key fetched
    assert len(sent) == fetches
    # zoe's own allowance is whole: three from her host go through, from another address
    assert [await send(honest, zoe, n) for n in range(10, 13)] == [202, 202, 202]
    # a bad body counts as refused as well; time gives the address a request back
    clock.advance(10)
    bad = await forger.post(INBOX, content=b"{not json", headers={"Content-Type": "a/b"})
    assert bad.status_code == 400
    assert (await forger.post(INBOX, content=b"{}")).status_code == 429


# --- the API --------------------------------------------------------------------------------------


async def test_api_limit_per_token(
    peer: Any, fed: Federation, coop: LocalActor, member: LocalActor, clock: FakeClock
) -> None:
    bob = await create_actor(ActorKind.MEMBER, "bob", coop=coop)
    alice_auth = {"Authorization": f"Bearer {await create_token(member)}"}
    bob_auth = {"Authorization": f"Bearer {await create_token(bob)}"}
    client = peer()
    for _ in range(2):
        assert (await client.get("/api/v1/bookings", headers=alice_auth)).status_code == 200
    limited = await client.get("/api/v1/bookings", headers=alice_auth)
    assert_429(limited, 5)
    # the same token from elsewhere is the same token; another token from here is not
    assert (await peer("192.0.2.1").get("/api/v1/offers", headers=alice_auth)).status_code == 429
    assert (await client.get("/api/v1/offers", headers=bob_auth)).status_code == 200
    # without a token, the address has its own allowance
    assert (await client.get("/api/v1/offers")).status_code == 200
    clock.advance(5)
    assert (await client.get("/api/v1/bookings", headers=alice_auth)).status_code == 200
    # pages are not API calls
    assert (await client.get("/search")).status_code == 200


async def test_unknown_tokens_spend_the_address(
    peer: Any, fed: Federation, member: LocalActor, clock: FakeClock
) -> None:
    guesser, other = peer("203.0.113.77"), peer("198.51.100.9")
    for n in range(2):
        guess = {"Authorization": f"Bearer coopub_guess{n}"}
        assert (await guesser.get("/api/v1/bookings", headers=guess)).status_code == 401
    guess = {"Authorization": "Bearer coopub_x"}
    assert_429(await guesser.get("/api/v1/bookings", headers=guess), 10)  # each guess is a new
    # token: the address is what is limited, and only that address
    assert (await other.get("/api/v1/bookings", headers=guess)).status_code == 401
    clock.advance(10)
    auth = {"Authorization": f"Bearer {await create_token(member)}"}
    assert (await guesser.get("/api/v1/bookings", headers=auth)).status_code == 200
