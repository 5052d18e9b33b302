"""Retention: the worker's upkeep purges finished work past ``[retention]`` and keeps the rest.

Rows are made old by moving their timestamps in the database; the purge runs for real, on both
engines, in batches small enough that the batching itself is exercised.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from activitypub.urls import PUBLIC
from activitypub.wire import AS2_CONTEXT
from federation.context import Federation
from federation.delivery import publish
from federation.retention import Batches, give_up_skipped, purge
from federation.settings import DirectorySettings, RetentionSettings
from instance.worker import Worker
from models.activities import Activity, InboxItem, InboxState
from models.actors import LocalActor
from models.delivery import Delivery, DeliveryState
from models.workers import WorkerHeartbeat

INBOX = "https://remote.example/inbox"


def _now() -> datetime:
    return datetime.now(UTC)


def _payload(fed: Federation, actor: LocalActor, *, public: bool) -> dict[str, Any]:
    to = [PUBLIC] if public else [fed.urls.followers(actor)]
    return {
        "@context": AS2_CONTEXT,
        "id": fed.urls.new_activity_id(),
        "type": "Announce",
        "actor": fed.urls.actor(actor),
        "object": "https://remote.example/notes/1",
        "to": to,
    }


async def _activity(
    fed: Federation,
    actor: LocalActor,
    *,
    public: bool,
    days: float,
    states: tuple[DeliveryState, ...] = (),
) -> Activity:
    """An activity ``days`` old with one delivery per state given (to distinct inboxes)."""
    inboxes = [f"{INBOX}/{i}" for i in range(len(states))]
    activity = await publish(fed, actor, _payload(fed, actor, public=public), inboxes)
    old = _now() - timedelta(days=days)
    await Activity.filter(id=activity.id).update(created_at=old)
    for inbox, state in zip(inboxes, states, strict=True):
        await Delivery.filter(activity_id=activity.id, inbox=inbox).update(
            state=state, created_at=old
        )
    return activity


async def _inbox_item(state: InboxState, days: float) -> InboxItem:
    n = await InboxItem.all().count()
    item = await InboxItem.create(
        activity_id=f"https://remote.example/activities/{n}-{state}-{days}",
        actor_uri="https://remote.example/users/zoe",
        type="Create",
        payload={},
        state=state,
        next_attempt_at=_now(),
    )
    await InboxItem.filter(id=item.id).update(received_at=_now() - timedelta(days=days))
    return item


async def _exists(model: Any, id_: int) -> bool:
    return bool(await model.exists(id=id_))


async def test_purge_removes_finished_work_past_retention_and_keeps_the_rest(
    fed: Federation, member: LocalActor
) -> None:
    assert (fed.retention.inbox_days, fed.retention.deliveries_days) == (14, 30)
    gone_items = [await _inbox_item(s, 15) for s in ("done", "ignored", "failed")]
    kept_items = [
        await _inbox_item(InboxState.PENDING, 60),  # never purged while pending
        await _inbox_item(InboxState.DONE, 13),  # not old enough
    ]
    D = DeliveryState
    # Non-public, old, all deliveries finished: deliveries and the activity go.
    private_done = await _activity(
        fed, member, public=False, days=31, states=(D.DELIVERED, D.FAILED)
    )
    # Non-public, old, one delivery still pending: that delivery and the activity stay.
    private_busy = await _activity(
        fed, member, public=False, days=31, states=(D.DELIVERED, D.PENDING)
    )
    # Non-public, old, skipped delivery: not finished, stays (give_up_skipped fails it first).
    private_skipped = await _activity(fed, member, public=False, days=31, states=(D.SKIPPED,))
    # Public and old: its deliveries go, the activity stays (it is the outbox).
    public_old = await _activity(fed, member, public=True, days=400, states=(D.DELIVERED,))
    # Non-public but recent: everything stays.
    private_new = await _activity(fed, member, public=False, days=29, states=(D.DELIVERED,))
    # Non-public, old, never delivered anywhere (a Follow of a local actor, say): goes.
    private_alone = await _activity(fed, member, public=False, days=31)

    purged = await purge(fed, batches=Batches(size=2))

    assert (purged.inbox_items, purged.deliveries, purged.activities) == (3, 4, 2)
    assert not purged.more
    for item in gone_items:
        assert not await _exists(InboxItem, item.id)
    for item in kept_items:
        assert await _exists(InboxItem, item.id)
    for activity in (private_done, private_alone):
        assert not await _exists(Activity, activity.id)
    for activity in (private_busy, private_skipped, public_old, private_new):
        assert await _exists(Activity, activity.id)
    remaining = await Delivery.all().values_list("activity_id", "state")
    assert sorted(remaining) == sorted(
        [
            (private_busy.id, D.PENDING),
            (private_skipped.id, D.SKIPPED),
            (private_new.id, D.DELIVERED),
        ]
    )
    # Nothing left to purge: a second pass deletes nothing.
    again = await purge(fed)
    assert (again.inbox_items, again.deliveries, again.activities) == (0, 0, 0)


async def test_retention_settings_are_honoured(fed: Federation, member: LocalActor) -> None:
    short = replace(fed, retention=RetentionSettings(inbox_days=1.0, deliveries_days=2.0))
    item = await _inbox_item(InboxState.DONE, 1.5)
    activity = await _activity(
        fed, member, public=False, days=2.5, states=(DeliveryState.DELIVERED,)
    )
    assert (await purge(fed)).inbox_items == 0  # defaults: 14 and 30 days
    purged = await purge(short)
    assert (purged.inbox_items, purged.deliveries, purged.activities) == (1, 1, 1)
    assert not await _exists(InboxItem, item.id)
    assert not await _exists(Activity, activity.id)


async def test_a_large_backlog_is_purged_over_several_upkeeps(
    fed: Federation, member: LocalActor
) -> None:
    for _ in range(7):
        await _inbox_item(InboxState.DONE, 20)
    first = await purge(fed, batches=Batches(size=2, limit=2))
    assert (first.inbox_items, first.more) == (4, True)
    second = await purge(fed, batches=Batches(size=2, limit=2))
    assert (second.inbox_items, second.more) == (3, False)
    assert await InboxItem.all().count() == 0


async def test_skipped_deliveries_past_give_up_become_failed(
    fed: Federation, member: LocalActor
) -> None:
    assert fed.settings.give_up_after_hours == 72
    D = DeliveryState
    old = await _activity(fed, member, public=True, days=3.2, states=(D.SKIPPED, D.SKIPPED))
    recent = await _activity(fed, member, public=True, days=2.8, states=(D.SKIPPED,))
    pending = await _activity(fed, member, public=True, days=3.2, states=(D.PENDING,))
    assert await give_up_skipped(fed, batches=Batches(size=1)) == 2
    assert set(await Delivery.filter(activity_id=old.id).values_list("state", flat=True)) == {
        D.FAILED
    }
    assert (await Delivery.get(activity_id=recent.id)).state == D.SKIPPED
    assert (await Delivery.get(activity_id=pending.id)).state == D.PENDING
    assert await give_up_skipped(fed) == 0


async def test_upkeep_runs_every_task_even_when_one_fails(
    fed: Federation, member: LocalActor, caplog: pytest.LogCaptureFixture
) -> None:
    """Directory mode without its directory actor makes the mirror merge fail: retention and
    the heartbeat cleanup still run, and the failure is one log line."""
    broken = replace(fed, directory=DirectorySettings(enabled=True))
    item = await _inbox_item(InboxState.DONE, 15)
    skipped = await _activity(fed, member, public=True, days=4, states=(DeliveryState.SKIPPED,))
    await WorkerHeartbeat.create(
        name="gone:1", started_at=_now() - timedelta(days=3), beat_at=_now() - timedelta(days=2)
    )
    await WorkerHeartbeat.create(name="alive:2", started_at=_now(), beat_at=_now())
    caplog.set_level(logging.INFO)

    worker = Worker(broken, asyncio.Event())
    await worker.upkeep()

    failures = [r for r in caplog.records if r.getMessage() == "upkeep task failed"]
    assert [r.__dict__["task"] for r in failures] == ["directory mirrors"]
    assert failures[0].exc_info is None and "NotFound" in failures[0].__dict__["error"]
    assert not await _exists(InboxItem, item.id)
    assert (await Delivery.get(activity_id=skipped.id)).state == DeliveryState.FAILED
    names = await WorkerHeartbeat.all().values_list("name", flat=True)
    assert sorted(names) == sorted(["alive:2", worker.name])  # it beat between its tasks
    [line] = [r for r in caplog.records if r.getMessage() == "retention purge"]
    assert line.__dict__["inbox_items"] == 1
