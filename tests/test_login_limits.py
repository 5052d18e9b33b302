"""Login lockout: per account and per client address, a growing delay that time recovers and a
success resets, kept in the database (other processes and restarts see it). The clock is moved
by the test, never waited for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from federation.context import Federation
from federation.retention import purge
from federation.services.accounts import create_actor
from instance.config import LimitSettings
from instance.login_limits import LoginLimits
from models.actors import ActorKind, LocalActor
from models.login_failures import LoginFailure
from tests.rig.limits import FakeClock, client_from, limited
from tests.test_web import PASSWORD, csrf_of, set_password

LIMITS = {
    "login_account_failures": 3,
    "login_address_failures": 5,
    "login_lock_seconds": 60.0,
    "login_lock_max_seconds": 240.0,
}
HTML = {"Accept": "text/html"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def alice(member: LocalActor) -> LocalActor:
    return await set_password(member)


@pytest.fixture
async def browser(fed: Federation, database_url: str, clock: FakeClock) -> AsyncIterator[Any]:
    """In-process clients of one app, by client address."""
    app = limited(fed, database_url, clock, **LIMITS)
    opened: list[httpx.AsyncClient] = []

    def from_address(address: str = "198.51.100.7") -> httpx.AsyncClient:
        client = client_from(app, address)
        client.headers.update(HTML)
        opened.append(client)
        return client

    yield from_address
    for client in opened:
        await client.aclose()


async def attempt(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    data = {"csrf_token": csrf_of(page.text), "username": username, "password": password}
    return await client.post("/login", data=data)


async def statuses(client: httpx.AsyncClient, username: str, n: int) -> list[int]:
    return [(await attempt(client, username, "wrong password!")).status_code for _ in range(n)]


async def test_account_lockout_grows_then_recovers(
    browser: Any, alice: LocalActor, clock: FakeClock
) -> None:
    client = browser()
    assert await statuses(client, "alice", 3) == [401, 401, 401]
    locked = await attempt(client, "Alice ", PASSWORD)  # the right password: refused all the same
    assert locked.status_code == 429 and locked.headers["retry-after"] == "60"
    assert 'id="login-locked"' in locked.text and "Try again in 1 min." in locked.text
    assert locked.headers["content-security-policy"].startswith("default-src 'self'")
    french = await client.post(
        "/login?lang=fr",
        data={"csrf_token": csrf_of(locked.text), "username": "alice", "password": PASSWORD},
    )
    assert "Réessayez dans 1 min." in french.text
    programs = await client.post(
        "/login",
        data={"csrf_token": csrf_of(locked.text), "username": "alice", "password": "x"},
        headers={"Accept": "application/json"},
    )
    assert programs.status_code == 429 and programs.json()["status"] == 429
    # from another address too: the account is locked
    assert (await attempt(browser("192.0.2.10"), "alice", PASSWORD)).status_code == 429

    clock.advance(45)
    assert (await attempt(client, "alice", PASSWORD)).headers["retry-after"] == "15"
    clock.advance(15)  # the lock is over; a wrong password now locks twice as long
    assert await statuses(client, "alice", 1) == [401]
    assert (await attempt(client, "alice", PASSWORD)).headers["retry-after"] == "120"
    clock.advance(120)
    assert await statuses(client, "alice", 1) == [401]
    assert (await attempt(client, "alice", PASSWORD)).headers["retry-after"] == "240"
    clock.advance(240)
    assert await statuses(client, "alice", 1) == [401]
    assert (await attempt(client, "alice", PASSWORD)).headers["retry-after"] == "240"  # capped
    clock.advance(240)

    ok = await attempt(client, "alice", PASSWORD)
    assert ok.status_code == 303, ok.text
    # the success reset the account's count: three more failures before the next lock
    assert await statuses(browser("192.0.2.11"), "alice", 3) == [401, 401, 401]
    assert (await attempt(browser("192.0.2.11"), "alice", PASSWORD)).status_code == 429


async def test_address_lockout_covers_every_account(
    browser: Any, fed: Federation, coop: LocalActor, alice: LocalActor, clock: FakeClock
) -> None:
    bob = await set_password(await create_actor(ActorKind.MEMBER, "bob", coop=coop))
    guesser = browser("203.0.113.5")
    for name in ("carla", "dan", "eve", "fred", "gus"):  # none exists: counted all the same
        assert await statuses(guesser, name, 1) == [401]
    refused = await attempt(guesser, bob.username, PASSWORD)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    # another address is not limited, for the same accounts
    assert (await attempt(browser("198.51.100.20"), bob.username, PASSWORD)).status_code == 303
    # a success from the limited address, once it may try again, does not wipe its count
    clock.advance(60)
    assert (await attempt(guesser, "alice", PASSWORD)).status_code == 303
    assert await statuses(guesser, "hal", 1) == [401]
    assert (await attempt(guesser, "alice", PASSWORD)).headers["retry-after"] == "120"


async def test_lockout_is_in_the_database(
    browser: Any, fed: Federation, alice: LocalActor, clock: FakeClock, database_url: str
) -> None:
    assert await statuses(browser(), "alice", 3) == [401, 401, 401]
    # another process (its own app, its own memory) sees the lock
    other = limited(fed, database_url, clock, **LIMITS)
    async with client_from(other, "198.51.100.7") as client:
        client.headers.update(HTML)
        assert (await attempt(client, "alice", PASSWORD)).status_code == 429
    rows = await LoginFailure.all().order_by("key")
    assert [(r.key, r.failures) for r in rows] == [
        ("account:alice", 3),
        ("address:198.51.100.7", 3),
    ]
    # forgotten a day later (login_forget_hours), and deleted by the worker's upkeep
    later = clock.now() + timedelta(hours=24)
    assert (await purge(fed, now=later - timedelta(seconds=1))).login_failures == 0
    assert (await purge(fed, now=later)).login_failures == 2
    assert await LoginFailure.all().count() == 0


async def test_a_forgotten_count_starts_over(fed: Federation, clock: FakeClock) -> None:
    limits = LoginLimits(LimitSettings(login_account_failures=2, login_forget_hours=1), clock.now)
    await limits.failed("zed", "192.0.2.1")
    clock.advance(3600)  # past login_forget_hours: the old failure no longer counts
    await limits.failed("zed", "192.0.2.1")
    await limits.check("zed", "192.0.2.1")  # one failure only: not locked
    row = await LoginFailure.get(key="account:zed")
    assert row.failures == 1 and row.locked_until is None
