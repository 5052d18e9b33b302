"""``coopub follow``, ``unfollow``, ``follows``, ``directory`` and ``queue``.

``follow`` and ``directory join`` wait for the other side's answer: accepted exits 0, refused
exits 1, no answer within ``--wait`` exits 3 (the request stands; check it later).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from tortoise.expressions import Q

from federation.context import Federation
from federation.delivery import queue_stats
from federation.services import directory
from federation.services.follows import decide, follow, unfollow
from instance.cli_common import Refused, StillPending, local_actor, send_now, with_db
from models.delivery import Delivery, DeliveryState
from models.directory import DirectoryEntry
from models.follows import Follow, FollowState


async def _answer(record: Follow, wait: float) -> FollowState:
    """The follow's state once answered, or still pending after ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        await record.refresh_from_db()
        if record.state != FollowState.PENDING or time.monotonic() >= deadline:
            return record.state
        await asyncio.sleep(0.1)


async def _undelivered(record: Follow) -> str | None:
    """Why the request could not be delivered at all, if so (refused or failed for good)."""
    failed = await Delivery.filter(activity__ap_id=record.ap_id, state=DeliveryState.FAILED).first()
    if failed is None:
        return None
    status = f"HTTP {failed.last_status}" if failed.last_status else "no answer"
    said = " ".join((failed.last_error or "").split())[:120]
    return f"{failed.inbox} did not take the request ({status}{': ' + said if said else ''})"


async def _not_yet_delivered(record: Follow) -> str:
    """Why a pending request may not have reached the other side yet (empty if it did)."""
    row = (
        await Delivery.filter(activity__ap_id=record.ap_id)
        .exclude(state=DeliveryState.DELIVERED)
        .first()
    )
    if row is None:
        return ""
    if row.state == DeliveryState.SKIPPED:
        return f" ({row.host} is marked unreachable: the request goes when it answers again)"
    if row.attempts:
        status = f"HTTP {row.last_status}" if row.last_status else "no answer"
        return f" (not delivered yet: {status}, retrying)"
    return " (not delivered yet)"


async def _outcome(record: Follow, wait: float, *, refused: str, pending: str) -> FollowState:
    state = await _answer(record, wait)
    if state == FollowState.REJECTED:
        raise Refused(refused)
    if state == FollowState.PENDING:
        undelivered = await _undelivered(record)
        if undelivered:
            raise Refused(undelivered)
        raise StillPending(pending + await _not_yet_delivered(record))
    return state


@with_db
async def cmd_follow(fed: Federation, args: argparse.Namespace) -> None:
    actor = await local_actor(args.actor)
    record = await follow(fed, actor, args.target)
    await send_now(fed, actor)
    try:
        await _outcome(
            record,
            args.wait,
            refused=f"{record.target_uri} refused the follow of {actor.username}",
            pending=(
                f"the follow of {record.target_uri} is still pending after {args.wait:g} s: "
                f"check later with `coopub follows list {actor.username}`"
            ),
        )
    finally:
        print(f"{actor.username} → {record.target_uri}: {record.state.value}")


@with_db
async def cmd_unfollow(fed: Federation, args: argparse.Namespace) -> None:
    actor = await local_actor(args.actor)
    await unfollow(fed, actor, args.target)
    await send_now(fed, actor)
    print(f"{actor.username} no longer follows {args.target}")


@with_db
async def cmd_follows_list(fed: Federation, args: argparse.Namespace) -> None:
    query = Follow.all().order_by("id")
    if args.actor:
        uri = fed.urls.actor(await local_actor(args.actor))
        query = Follow.filter(Q(follower_uri=uri) | Q(target_uri=uri)).order_by("id")
    for record in await query:
        print(f"{record.follower_uri} → {record.target_uri}\t{record.state.value}")


@with_db
async def cmd_follows_decide(fed: Federation, args: argparse.Namespace) -> None:
    target = await local_actor(args.actor)
    record = await decide(fed, target, args.follower, accept=args.decision == "approve")
    await send_now(fed, target)
    print(f"{record.follower_uri} → {record.target_uri}: {record.state.value}")


def _membership(state: FollowState) -> str:
    return {"pending": "pending", "accepted": "admitted", "rejected": "rejected"}[state.value]


async def _join(fed: Federation, args: argparse.Namespace) -> None:
    record = await directory.join(fed, args.target)
    await send_now(fed, await fed.instance_actor())
    try:
        await _outcome(
            record,
            args.wait,
            refused=f"{args.target} refused this instance",
            pending=(
                f"the request to join {args.target} is still pending after {args.wait:g} s "
                "(it may admit candidates by hand): check later with `coopub directory status`"
            ),
        )
    finally:
        print(f"{record.target_uri}\t{_membership(record.state)}")


async def _admit_or_reject(fed: Federation, args: argparse.Namespace) -> None:
    if args.action == "admit":

        def progress(done: int, total: int) -> None:
            print(f"backfill {done}/{total}", flush=True)

        count = await directory.admit(fed, args.target, progress)
        print(f"admitted {args.target}; {count} offer(s) sent to it")
    else:
        await directory.reject(fed, args.target)
        print(f"rejected {args.target}")
    await send_now(fed, await directory.directory_actor())


@with_db
async def cmd_directory(fed: Federation, args: argparse.Namespace) -> None:
    action = args.action
    if action == "join":
        await _join(fed, args)
    elif action == "leave":
        await directory.leave(fed, args.target)
        await send_now(fed, await fed.instance_actor())
        print(f"left {args.target}")
    elif action == "status":
        rows = await directory.memberships(fed)
        for record in rows:
            print(f"{record.target_uri}\t{_membership(record.state)}")
        if not rows:
            print("this instance has not asked to join any directory")
    elif action in ("admit", "reject"):
        await _admit_or_reject(fed, args)
    elif action == "list":
        for entry in await DirectoryEntry.all().order_by("state", "domain"):
            checks = ",".join(k for k, v in (entry.checks or {}).items() if v is True)
            print(f"{entry.domain}\t{entry.state.value}\t{entry.source or 'joined'}\t{checks}")
    elif action == "mirror":
        record = await directory.mirror(fed, args.target)
        await send_now(fed, await directory.directory_actor())
        print(f"mirroring {record.target_uri}: {record.state.value}")
    elif action == "refresh":
        checked = await directory.refresh_entries(fed)
        merged = await directory.merge_mirrors(fed)
        print(f"rechecked {checked}, merged {merged}")


@with_db
async def cmd_queue(fed: Federation, args: argparse.Namespace) -> None:
    for state, count in (await queue_stats()).items():
        print(f"{state}\t{count}")
