"""Shared by the observability tests: an in-process client with chosen settings, polling, and
rows for the queues and heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from federation.context import Federation
from federation.delivery import publish
from instance.app import create_app
from instance.config import parse_config
from models.activities import InboxItem, InboxState
from models.actors import LocalActor
from models.delivery import Delivery
from models.workers import WorkerHeartbeat
from tests.conftest import TEST_DOMAIN

AS2 = "application/activity+json"


def now() -> datetime:
    return datetime.now(UTC)


@contextlib.asynccontextmanager
async def app_client(
    fed: Federation,
    database_url: str,
    *,
    peer: str = "127.0.0.1",
    **sections: dict[str, Any],
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client on an application with these settings, seen as coming from
    ``peer`` (the address the server sees: a proxy's, when there is one)."""
    config = parse_config(
        {
            "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
            "database": {"url": database_url},
            **sections,
        }
    )
    app = create_app(config, run_worker=False, fed=fed)
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{TEST_DOMAIN}") as c:
        yield c


async def until(
    check: Callable[[], Awaitable[Any]], what: str, within: float = 30.0, every: float = 0.05
) -> Any:
    """Poll ``check`` until it returns something truthy (which is returned)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(every)
    raise TimeoutError(f"not within {within} s: {what}")


async def resolved(value: Any) -> Any:
    return value


async def queue_deliveries(
    fed: Federation, actor: LocalActor, inboxes: list[str]
) -> list[Delivery]:
    payload = {
        "id": fed.urls.new_activity_id(),
        "type": "Announce",
        "actor": fed.urls.actor(actor),
        "object": "https://remote.example/notes/1",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    activity = await publish(fed, actor, payload, inboxes)
    return list(await Delivery.filter(activity_id=activity.id).order_by("inbox"))


async def inbox_item(state: InboxState) -> None:
    n = await InboxItem.all().count()
    await InboxItem.create(
        activity_id=f"https://remote.example/activities/{n}",
        actor_uri="https://remote.example/users/zoe",
        type="Create",
        payload={},
        state=state,
        next_attempt_at=now() - timedelta(seconds=30),
    )


async def beat(age: timedelta, name: str = "elsewhere:1") -> None:
    await WorkerHeartbeat.create(name=name, started_at=now() - age, beat_at=now() - age)
