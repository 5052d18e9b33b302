"""The fuzzing rig: one instance with something to aim at, and one call per example that says
what happened. Used by ``tests/test_fuzz_inbox.py``, ``tests/test_fuzz_api.py`` and
``bench/fuzz.py`` (the longer run).

The world: a coop, two members (alice publishes, bob books), a remote actor zoe whose key is
cached and whom alice follows (so zoe's offers are read, not dropped), a follow of zoe waiting
for her answer, zoe following the coop, alice's ride and stay, bob's booking of the ride. Rate
limits are off (``tests/rig/limits.py``), the network is ``offline`` (nothing leaves the
process; a fetch is answered from the cache or 404).

What counts as a failure (``Result.problems``): a 5xx; an ERROR log line or any traceback; an
inbox item left to be retried or tried twice (a transient failure cannot happen offline, so
anything pending again is a hostile input retried).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from tortoise.expressions import Q

from federation.context import Federation
from federation.inbox import process_due
from federation.services.accounts import create_actor
from federation.services.offers import create_offer
from federation.signatures import sign_request
from instance.auth import create_token
from models.activities import InboxItem, InboxState
from models.actors import ActorKind, LocalActor, RemoteActor
from models.follows import Follow, FollowState
from tests import offer_samples as samples
from tests.rig.canned import keypair, offline, remote_actor
from tests.rig.fuzz_inputs import Sample
from tests.rig.fuzz_seeds import inbox_seeds
from tests.rig.limits import FakeClock, client_from, limited

BASE = "https://coop.test"
INBOXES = ["/inbox", "/c/velos/inbox", "/u/alice/inbox", "/actor/inbox"]
INBOX_FOCUS = ("Create ", "Update ", "booking request", "direct message")
"""Seeds mutated at least half the time: offers and bookings, where most is parsed."""
API_OFFERS = {
    "ride": samples.ride(),
    "delivery_job": samples.delivery_job(),
    "stay": samples.stay(),
}


def fuzz(examples: int) -> settings:
    """Bounded and reproducible for CI: ``derandomize`` draws the same examples every run (no
    example database); the world is built once per test, not per example, on purpose."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


@dataclass
class World:
    fed: Federation
    client: httpx.AsyncClient
    zoe: RemoteActor
    zoe_pem: str
    alice: dict[str, str]
    """alice's API headers (she publishes)"""
    bob: dict[str, str]
    """bob's API headers (he books alice's ride)"""
    ride: dict[str, Any]
    stay: dict[str, Any]
    booking: dict[str, Any]
    pending_follow: str
    seeds: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    label: str
    status: int
    states: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def build_world(fed: Federation, database_url: str) -> World:
    coop = await create_actor(ActorKind.COOP, "velos", name="Vélos")
    alice = await create_actor(ActorKind.MEMBER, "alice", name="Alice", coop=coop)
    bob = await create_actor(ActorKind.MEMBER, "bob", name="Bob", coop=coop)
    await offline(fed)
    zoe, pem = await remote_actor("zoe", key=keypair("a"))
    pending = f"{BASE}/activities/pending-follow"
    await _follows(zoe, coop, alice, pending)
    app = limited(
        fed, database_url, FakeClock(), refused_per_minute=0, inbox_per_minute=0, api_per_minute=0
    )
    client = client_from(app, "203.0.113.7")
    headers = {
        name: {"Authorization": f"Bearer {await create_token(member)}"}
        for name, member in (("alice", alice), ("bob", bob))
    }
    ride = await create_offer(fed, alice, samples.ride())
    stay = await create_offer(fed, alice, samples.stay())
    r = await client.post(
        "/api/v1/bookings",
        json={"offer": ride.ap_id, "quantity": 1, "message": "Une place ?"},
        headers=headers["bob"],
    )
    assert r.status_code == 201, r.text
    world = World(
        fed=fed,
        client=client,
        zoe=zoe,
        zoe_pem=pem,
        alice=headers["alice"],
        bob=headers["bob"],
        ride={"id": ride.local_uuid, "ap_id": ride.ap_id},
        stay={"id": stay.local_uuid, "ap_id": stay.ap_id, "starts_at": stay.starts_at},
        booking=r.json(),
        pending_follow=pending,
    )
    world.seeds = inbox_seeds(zoe.ap_id, pending, world.ride["ap_id"], world.stay["ap_id"])
    return world


async def _follows(zoe: RemoteActor, coop: LocalActor, alice: LocalActor, pending: str) -> None:
    """alice follows zoe, the coop waits for zoe's answer, zoe follows the coop."""
    for ap_id, local, state in (
        (f"{BASE}/activities/alice-follows-zoe", alice, FollowState.ACCEPTED),
        (pending, coop, FollowState.PENDING),
    ):
        await Follow.create(
            ap_id=ap_id,
            follower_uri=f"{BASE}/{'c' if local.kind == ActorKind.COOP else 'u'}/{local.username}",
            target_uri=zoe.ap_id,
            local_follower=local,
            remote_target=zoe,
            state=state,
        )
    await Follow.create(
        ap_id=f"{zoe.ap_id}/follows/0",
        follower_uri=zoe.ap_id,
        target_uri=f"{BASE}/c/velos",
        remote_follower=zoe,
        local_target=coop,
        state=FollowState.ACCEPTED,
    )


async def heal(world: World) -> None:
    """Undo what an example may have done to the world: zoe deleted (a ``Delete`` of herself),
    her follows undone or answered. Cheap when nothing changed."""
    zoe = await RemoteActor.get_or_none(ap_id=world.zoe.ap_id)
    follows = await Follow.filter(target_uri=world.zoe.ap_id, state=FollowState.ACCEPTED).count()
    pending = await Follow.filter(ap_id=world.pending_follow, state=FollowState.PENDING).count()
    intact = zoe is not None and (zoe.key_id, zoe.public_key_pem) == (
        world.zoe.key_id,
        keypair("a").public_pem,
    )
    if intact and follows == 1 and pending == 1:
        return
    await Follow.filter(Q(target_uri=world.zoe.ap_id) | Q(follower_uri=world.zoe.ap_id)).delete()
    if not intact:
        world.zoe, world.zoe_pem = await remote_actor("zoe", key=keypair("a"))
    coop = await LocalActor.get(username="velos", kind=ActorKind.COOP)
    alice = await LocalActor.get(username="alice", kind=ActorKind.MEMBER)
    await _follows(world.zoe, coop, alice, world.pending_follow)


# --- sending an example ------------------------------------------------------------------------


def log_problems(records: list[logging.LogRecord]) -> list[str]:
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        + (f" ({type(r.exc_info[1]).__name__})" if r.exc_info else "")
        for r in records
        if r.levelno >= logging.ERROR or r.exc_info
    ]


async def send_activity(world: World, sample: Sample, n: int, inbox: str) -> Result:
    """Sign the sample as zoe, POST it, let the worker process what was stored."""
    seed = world.seeds.get(sample.seed or "")
    if isinstance(sample.doc, dict) and seed is not None and sample.doc.get("id") == seed.get("id"):
        sample.doc["id"] = f"{world.zoe.ap_id}/fuzz/{n}"  # the seed's id, not mutated: a fresh one
    body = sample.body()
    url = BASE + inbox
    assert world.zoe.key_id
    headers = sign_request(
        "POST",
        url,
        {"Content-Type": "application/activity+json"},
        body,
        world.zoe.key_id,
        world.zoe_pem,
    )
    before = await InboxItem.all().order_by("-id").first()
    try:
        r = await world.client.post(url, content=body, headers=headers)
    except Exception as exc:  # an exception the app did not turn into an answer: a 500
        return Result(sample.label, 500, problems=[f"POST {inbox} raised {exc!r}"[:300]])
    result = Result(sample.label, r.status_code)
    try:
        while await process_due(world.fed):
            pass
    except Exception as exc:  # the worker itself must never raise
        result.problems.append(f"worker raised {exc!r}"[:300])
    await heal(world)
    for item in await InboxItem.filter(id__gt=before.id if before else 0):
        result.states.append(item.state.value)
        if item.state == InboxState.PENDING or item.attempts > 1:
            result.problems.append(f"item {item.activity_id[:80]} retried: {item.error}")
    if r.status_code >= 500:
        result.problems.append(f"HTTP {r.status_code}: {r.text[:200]}")
    return result


async def call_api(
    world: World,
    label: str,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Result:
    sent = {**(headers or {}), "Content-Type": "application/json"}
    try:
        r = await world.client.request(method, path, params=params, content=body, headers=sent)
    except Exception as exc:  # an exception the app did not turn into an answer: a 500
        return Result(label, 500, problems=[f"{method} {path} raised {exc!r}"[:300]])
    result = Result(label, r.status_code)
    if r.status_code >= 500:
        result.problems.append(f"HTTP {r.status_code} on {method} {path}: {r.text[:200]}")
    return result


@dataclass
class Tally:
    """What was tried, how many times, what happened (bench/fuzz.py's table)."""

    statuses: dict[str, Counter[str]] = field(default_factory=dict)
    failures: list[tuple[str, list[str]]] = field(default_factory=list)

    def add(self, result: Result, extra: list[str] | None = None) -> None:
        seen = self.statuses.setdefault(result.label, Counter())
        seen[str(result.status)] += 1
        for state in result.states:
            seen[f"item {state}"] += 1
        problems = result.problems + (extra or [])
        if problems:
            seen["FAILED"] += 1
            self.failures.append((result.label, problems))


def booking_seeds(world: World) -> dict[str, Any]:
    """Valid API bodies: a booking of the ride and of the stay, then each action's body. The
    stay is booked from the start of the world's stay (made when the test runs), not of
    ``API_OFFERS`` (made at import: a run across midnight UTC would book a day before it)."""
    arrival: datetime = world.stay["starts_at"]
    return {
        "ride": {"offer": world.ride["ap_id"], "quantity": 1, "message": "Une place ?"},
        "stay": {
            "offer": world.stay["ap_id"],
            "quantity": 2,
            "message": "Bonjour",
            "starts_at": arrival.isoformat(),
            "ends_at": (arrival + timedelta(days=2)).isoformat(),
        },
        "accept": {"details": {"meeting_point": "Gare", "contact": "06", "instructions": "x"}},
        "cancel": {"reason": "Empêchement"},
        "complete": {"outcome": "done", "note": "ok"},
        "progress": {"progress": "picked_up", "note": "ok"},
        "messages": {"content": "Bonjour"},
    }


async def book(world: World, sample: Sample, as_author: bool) -> Result:
    """A booking body (``booking_seeds``, mutated): a new booking by bob, or an action on his
    booking by either side."""
    if sample.seed in ("ride", "stay"):
        who, path = world.bob, "/api/v1/bookings"
    else:
        who = world.alice if as_author else world.bob
        path = f"/api/v1/bookings/{world.booking['id']}/{sample.seed}"
    return await call_api(world, sample.label, "POST", path, headers=who, body=sample.body())
