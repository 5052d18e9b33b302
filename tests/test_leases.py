"""Leases on queue rows: short, renewed while a batch runs, never renewed for rows not ours.

A worker that dies stops renewing, so its rows return to the queue within ``lease_seconds``
(tests/test_worker_crash.py kills a real one). Here, on both databases: what a renewal touches,
that a running batch keeps its lease alive, that the renewal stops with the batch, and that the
settings refuse a renewal interval that would let a lease lapse.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from activitypub.apobject import APObject
from federation.context import Federation
from federation.delivery import publish
from federation.inbox import process_due
from federation.queue import RENEWAL_TASK, claim_due, new_token, renew
from federation.settings import FederationSettings
from instance.config import ConfigError, parse_config
from models.activities import InboxItem, InboxState
from models.actors import LocalActor, RemoteActor
from models.delivery import Delivery, DeliveryState
from tests.conftest import TEST_DOMAIN

LEASE = timedelta(seconds=60)


@pytest.fixture
def settings() -> FederationSettings:
    """Renewed every 50 ms, so a test sees a renewal as soon as it waits for one."""
    return FederationSettings(
        allow_private_addresses=True,
        worker_poll_seconds=0.05,
        lease_seconds=30.0,
        lease_renew_seconds=0.05,
    )


def _renewals() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == RENEWAL_TASK and not t.done()]


async def _until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait (at most 20 s, a failure bound, not a timing) for an async predicate to hold."""
    try:
        async with asyncio.timeout(20):
            while not await condition():  # noqa: ASYNC110 - polling the database
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def _zoe() -> RemoteActor:
    return await RemoteActor.create(
        ap_id="https://remote.example/users/zoe",
        type="Person",
        username="zoe",
        domain="remote.example",
        inbox="https://remote.example/users/zoe/inbox",
        fetched_at=datetime.now(UTC),
    )


async def _like(actor: RemoteActor) -> InboxItem:
    """A verified incoming Like, queued as the inbox route stores it."""
    activity_id = "https://remote.example/likes/1"
    return await InboxItem.create(
        activity_id=activity_id,
        actor_uri=actor.ap_id,
        type="Like",
        payload={"id": activity_id, "type": "Like", "actor": actor.ap_id},
        next_attempt_at=datetime.now(UTC),
    )


async def test_renewal_extends_only_the_rows_still_held_under_the_token(
    fed: Federation, member: LocalActor
) -> None:
    payload = {
        "id": fed.urls.new_activity_id(),
        "type": "Announce",
        "actor": fed.urls.actor(member),
        "object": "https://remote.example/notes/1",
    }
    await publish(fed, member, payload, [f"https://remote.example/inbox/{i}" for i in range(4)])
    token = new_token()
    rows = await claim_due(Delivery, DeliveryState.PENDING, 10, lease=LEASE, token=token)
    assert {r.claim_token for r in rows} == {token} and len(rows) == 4
    held, finished, taken, lapsed = sorted(r.id for r in rows)
    await Delivery.filter(id=finished).update(state=DeliveryState.DELIVERED, locked_until=None)
    other_lease = datetime.now(UTC) + timedelta(seconds=5)
    await Delivery.filter(id=taken).update(claim_token=new_token(), locked_until=other_lease)
    # Lapsed but not taken by anyone yet: still ours, so renewed.
    await Delivery.filter(id=lapsed).update(locked_until=datetime.now(UTC) - timedelta(seconds=1))

    before = datetime.now(UTC)
    assert await renew(Delivery, token, timedelta(minutes=10)) == 2
    after = {r.id: r for r in await Delivery.all()}
    for row_id in (held, lapsed):
        until = after[row_id].locked_until
        assert until is not None and until >= before + timedelta(minutes=10)
    assert after[finished].locked_until is None  # a finished row is not locked again
    assert after[taken].locked_until == other_lease  # another worker's lease is left alone
    assert await renew(Delivery, new_token(), LEASE) == 0


async def test_a_running_batch_keeps_its_lease_and_the_renewal_stops_with_it(
    fed: Federation,
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(fed: Federation, act: APObject, signer: RemoteActor) -> None:
        entered.set()
        await release.wait()

    fed.handlers = {"Like": slow}
    item = await _like(await _zoe())
    assert _renewals() == []
    batch = asyncio.create_task(process_due(fed))
    try:
        await asyncio.wait_for(entered.wait(), 20)
        claimed = await InboxItem.get(id=item.id)
        assert claimed.locked_until is not None and claimed.claim_token is not None
        first = claimed.locked_until

        async def renewed() -> bool:
            row = await InboxItem.get(id=item.id)
            return row.locked_until is not None and row.locked_until > first

        await _until(renewed, "the running batch to renew its lease")
        assert len(_renewals()) == 1
    finally:
        release.set()
    assert await asyncio.wait_for(batch, 20) == 1
    done = await InboxItem.get(id=item.id)
    assert done.state == InboxState.DONE and done.locked_until is None
    assert _renewals() == []  # stopped with the batch


async def test_a_cancelled_batch_stops_its_renewal_too(fed: Federation) -> None:
    """The renewal ends with the batch however the batch ends; its rows keep their lease, which
    then lapses (as a killed worker's would)."""
    entered = asyncio.Event()

    async def stuck(fed: Federation, act: APObject, signer: RemoteActor) -> None:
        entered.set()
        await asyncio.Event().wait()

    fed.handlers = {"Like": stuck}
    item = await _like(await _zoe())
    batch = asyncio.create_task(process_due(fed))
    await asyncio.wait_for(entered.wait(), 20)
    assert len(_renewals()) == 1
    batch.cancel()
    await asyncio.wait([batch])
    assert batch.cancelled()
    assert _renewals() == []
    row = await InboxItem.get(id=item.id)
    assert row.state == InboxState.PENDING and row.locked_until is not None


@pytest.mark.parametrize(
    ("federation", "message"),
    [
        ({"lease_renew_seconds": 60.0}, "lease_renew_seconds = 60.0: expected less than"),
        (
            {"lease_seconds": 10.0, "lease_renew_seconds": 20.0},
            "lease_renew_seconds = 20.0: expected less than lease_seconds (10.0)",
        ),
        ({"lease_seconds": 0.5}, "lease_seconds = 0.5: expected at least 1"),
    ],
)
def test_a_renewal_slower_than_the_lease_is_refused(
    federation: dict[str, float], message: str
) -> None:
    data = {
        "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
        "federation": federation,
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert message in str(caught.value)
