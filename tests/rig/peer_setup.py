"""One coopub instance (served, authorized fetch on) with a coop ``velos`` and its member Alice
holding an API token, and the Fedify peer following Alice or the coop: the set-up shared by the
test files that prove interoperability with an independent implementation.

``needs_node`` is their module mark: without Node.js they skip outside CI (CI always runs them).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import pytest

from tests.rig.fedify_peer import FedifyPeer, node_available
from tests.rig.instances import Instance, Rig
from tests.skips import in_ci

T = TypeVar("T")
HTML = {"Accept": "text/html"}

needs_node = pytest.mark.skipif(
    not node_available() and not in_ci(),
    reason="Node.js >= 20 is not installed (scripts/setup); CI always runs this test",
)


@dataclass
class PeerSetup:
    rig: Rig
    instance: Instance
    peer: FedifyPeer
    alice: str
    """Alice's actor id."""
    token: str
    """Alice's API token."""

    async def api(self, method: str, path: str, body: Any = None) -> Any:
        """Alice's API call; anything but 200 or 201 fails the test with the answer."""
        async with httpx.AsyncClient(base_url=self.instance.base_url) as client:
            r = await client.request(
                method, path, json=body, headers={"Authorization": f"Bearer {self.token}"}
            )
        assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    async def page(self, path: str) -> str:
        """A public page's HTML (200 expected)."""
        async with httpx.AsyncClient(base_url=self.instance.base_url) as client:
            r = await client.get(path, headers=HTML)
        assert r.status_code == 200, r.text
        return r.text

    async def eventually(self, probe: Callable[[], Awaitable[T | None]], what: str) -> T:
        """What ``probe`` finds once the peer's deliveries have reached coopub and been
        processed (the queues drained between tries), within 30 s."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            await self.rig.drain()
            found = await probe()
            if found is not None:
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"{what} never happened\n{self.instance.log()[-3000:]}\n{self.peer.logs()}"
        )


@contextlib.asynccontextmanager
async def peer_following(
    name: str, root: Path, follows: Literal["alice", "coop"] = "alice"
) -> AsyncIterator[PeerSetup]:
    """The instance and the peer, the peer's follow accepted; both stopped afterwards."""
    instance = await Instance.create(name, root, authorized_fetch=True)
    peer = await FedifyPeer.start()
    try:
        velos = await instance.coop("velos")
        alice = await instance.member("alice", "velos")
        token = (await instance.ok("token", "create", "alice")).strip()
        target = alice if follows == "alice" else velos
        await peer.follow(alice if follows == "alice" else f"acct:velos@{instance.domain}")
        await peer.wait_for(lambda s: s["following"].get(target) == "accepted")
        yield PeerSetup(Rig([instance]), instance, peer, alice, token)
    finally:
        await peer.stop()
        await instance.stop()
