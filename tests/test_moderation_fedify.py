"""Moderation seen from an independent implementation, the Fedify peer (Node.js): once its
account is suspended here (by the CLI: the served process sees it within
``KEY_OWNER_SECONDS``), its signed requests are refused with 403 (the instance runs with
authorized fetch, so the peer cannot even read the actor it wants to address) and nothing of
ours reaches it; lifted, it is heard again; its domain suspended, the same at the domain's
level. The inbox's 403 to a suspended account's POST is tested in process with real signatures
(tests/test_account_moderation.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from federation.actors import KEY_OWNER_SECONDS
from federation.blocks import CACHE_SECONDS
from tests import offer_samples as samples
from tests.rig.fedify_peer import PeerError
from tests.rig.peer_setup import PeerSetup, needs_node, peer_following
from tests.skips import PEER_ONCE, once_on_postgres

pytestmark = [needs_node, once_on_postgres(PEER_ONCE)]  # tests/skips.py


@pytest.fixture(scope="module")
async def setup(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PeerSetup]:
    async with peer_following("moderation", tmp_path_factory.mktemp("moderation")) as s:
        yield s


async def _inbox_answers(s: PeerSetup, what: str) -> set[int]:
    """The statuses coopub's inboxes gave to the peer's POSTs since its last ``clear()`` (the
    test sends one activity in between), once it made one."""

    async def posted() -> set[int] | None:
        state = await s.peer.state()
        found = {
            int(o["status"])
            for o in state["outgoing"]
            if o.get("method") == "POST"
            and str(o.get("url", "")).startswith(s.instance.base_url)
            and o.get("status") is not None
        }
        return found or None

    return await s.eventually(posted, f"the peer's POST of {what}")


async def _count(s: PeerSetup, sql: str) -> int:
    return int((await s.instance.query(sql))[0][0])


async def test_a_suspended_peer_is_refused_and_sent_nothing(setup: PeerSetup) -> None:
    s = setup
    first = await s.api("POST", "/api/v1/offers", samples.ride(title="Avant la suspension"))
    await s.rig.drain()
    await s.peer.wait_for(lambda st: any(first["ap_id"] in str(r["json"]) for r in st["received"]))
    await s.peer.clear()

    out = await s.instance.ok("account", "suspend", s.peer.actor_id, "--reason", "Spam")
    assert "suspend" in out.lower()
    # what this instance kept of the peer is gone; its row stays, flagged
    assert await _count(s, "SELECT COUNT(*) FROM follow") == 0
    flagged = await _count(
        s,
        "SELECT COUNT(*) FROM remote_actor WHERE suspended_at IS NOT NULL "
        f"AND ap_id = '{s.peer.actor_id}'",
    )
    assert flagged == 1
    await asyncio.sleep(KEY_OWNER_SECONDS + 1.0)  # the served process reads the peer's row again

    # authorized fetch is on: the peer cannot even read Alice's actor to address her
    with pytest.raises(PeerError, match="HTTP 403"):
        await s.peer.like(s.alice, first["ap_id"])
    assert await _count(s, "SELECT COUNT(*) FROM reaction") == 0

    sent = f"SELECT COUNT(*) FROM delivery WHERE inbox LIKE '{s.peer.base_url}%'"
    before = await _count(s, sent)
    await s.api("POST", "/api/v1/offers", samples.ride(title="Pendant la suspension"))
    await s.rig.drain()
    assert await _count(s, sent) == before  # nothing queued for it
    state = await s.peer.state()
    assert not any("Pendant la suspension" in str(r["json"]) for r in state["received"])

    # lifted: heard again (what was purged stays purged)
    await s.instance.ok("account", "unsuspend", s.peer.actor_id)
    await asyncio.sleep(KEY_OWNER_SECONDS + 1.0)  # as for the suspension
    await s.peer.clear()
    await s.peer.like(s.alice, first["ap_id"])
    assert await _inbox_answers(s, "a like") == {202}

    async def counted() -> int | None:
        return await _count(s, "SELECT COUNT(*) FROM reaction") or None

    assert await s.eventually(counted, "the like counted") == 1


async def test_a_suspended_peer_domain_is_refused(setup: PeerSetup) -> None:
    s = setup
    authority = s.peer.base_url.split("://", 1)[1]  # host:port: that authority alone
    await s.instance.ok("domain", "block", authority, "--severity", "suspend")
    await asyncio.sleep(CACHE_SECONDS + 1.0)  # the served process reads the rules again
    await s.peer.clear()
    offer = await s.api("POST", "/api/v1/offers", samples.ride(title="Domaine bloqué"))
    with pytest.raises(PeerError, match="HTTP 403"):
        await s.peer.like(s.alice, offer["ap_id"])
    await s.instance.ok("domain", "unblock", authority)
