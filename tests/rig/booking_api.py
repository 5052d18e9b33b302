"""The JSON API of bookings and offers as the e2e tests across instances drive it: the two
instances, a member's token, the calls, what a refusal says, and polling with a deadline instead
of sleeping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.rig.instances import Instance, Rig


@pytest.fixture(scope="module")
async def rig(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Rig]:
    """Instances A and B, started once for the test module that binds this fixture (``rig =
    api.rig``) and stopped after its last test; their folders are named after the module."""
    root = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    rig = Rig(list(await asyncio.gather(Instance.create("a", root), Instance.create("b", root))))
    yield rig
    await rig.stop()


async def token(instance: Instance, username: str) -> str:
    return (await instance.ok("token", "create", username)).strip()


@dataclass(frozen=True)
class Member:
    id: str
    """The actor id."""
    token: str
    """An API token."""


async def members(instance: Instance, coop: str, *names: str) -> dict[str, Member]:
    """A new coop on ``instance`` and its members, made concurrently through the CLI (SQLite's
    busy timeout serialises the writes)."""
    await instance.coop(coop)
    ids = await asyncio.gather(*(instance.member(name, coop) for name in names))
    tokens = await asyncio.gather(*(token(instance, name) for name in names))
    return {n: Member(i, t) for n, i, t in zip(names, ids, tokens, strict=True)}


async def call(
    instance: Instance, method: str, path: str, token: str, body: Any = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=instance.base_url) as client:
        return await client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )


async def ok(instance: Instance, method: str, path: str, token: str, body: Any = None) -> Any:
    r = await call(instance, method, path, token, body)
    assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text}"
    return r.json()


async def refused(
    instance: Instance, method: str, path: str, token: str, body: Any = None
) -> tuple[int, str]:
    """The status and the first problem's code of a call that must fail."""
    r = await call(instance, method, path, token, body)
    assert r.status_code >= 400, f"{method} {path} was not refused: {r.text}"
    return r.status_code, r.json()["errors"][0]["code"]


async def booking(instance: Instance, token: str, booking_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await ok(instance, "GET", f"/api/v1/bookings/{booking_id}", token)
    return found


async def act(
    instance: Instance, token: str, booking_id: str, action: str, body: Any = None
) -> dict[str, Any]:
    """A booking action (accept, decline, cancel, complete, progress, messages)."""
    done: dict[str, Any] = await ok(
        instance, "POST", f"/api/v1/bookings/{booking_id}/{action}", token, body or {}
    )
    return done


async def requests_on(instance: Instance, token: str, offer_ap_id: str) -> list[dict[str, Any]]:
    """The requests an author received for one offer, oldest first."""
    listing = await ok(instance, "GET", "/api/v1/bookings/requests", token)
    return [b for b in reversed(listing["items"]) if b["offer"]["ap_id"] == offer_ap_id]


async def request_by(
    instance: Instance, token: str, offer_ap_id: str, booker: str
) -> dict[str, Any]:
    """The one request an author received for one offer from ``booker`` (an actor id)."""
    asked = await requests_on(instance, token, offer_ap_id)
    [found] = [b for b in asked if b["booker"]["id"] == booker]
    return found


async def offer(instance: Instance, token: str, ap_id: str) -> dict[str, Any]:
    """An offer as this instance knows it (its own, or its copy of a remote one)."""
    listing = await ok(instance, "GET", "/api/v1/offers?limit=100&include_closed=1", token)
    [found] = [o for o in listing["items"] if o["ap_id"] == ap_id]
    return dict(found)


async def until(
    check: Callable[[], Awaitable[Any]], what: str, within: float = 60.0, every: float = 0.2
) -> Any:
    """Poll ``check`` until it returns something truthy (returned), or fail after ``within``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(every)
    raise TimeoutError(f"not within {within} s: {what}")
