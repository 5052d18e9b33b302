"""The persistent outgoing queue: publish (one transaction) and deliver (any number of workers).

Rows are claimed with a lease (``federation/queue.py``), renewed while the batch runs, so several
worker processes never send the same row at the same time. Delivery is at least once: a worker
killed between sending a row and recording it leaves the row to be sent again by another once
the lease lapses (within ``lease_seconds``), and the receiver dedupes by activity id.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from activitypub.activities import language_first
from activitypub.apobject import APObject
from activitypub.urls import host_of
from federation.blocks import suspended_among, suspended_inboxes
from federation.context import Federation
from federation.outcome import Outcome, is_retryable, next_attempt, outcome_of, parse_retry_after
from federation.queue import claimed, count_by_state
from models.activities import Activity
from models.actors import LocalActor, RemoteActor
from models.delivery import Delivery, DeliveryState, Host
from models.errors import CoopubError, Malformed, RemoteUnavailable
from models.follows import FollowState

log = logging.getLogger(__name__)

PROBE_EVERY = timedelta(days=1)
SKIPPED_ERROR = "host marked unreachable"
SUSPENDED_ERROR = "domain suspended"
SUCCESS_EVERY = timedelta(minutes=1)
"""How stale a reachable host's ``last_success_at`` may get before an answer rewrites it."""


def _now() -> datetime:
    return datetime.now(UTC)


async def publish(
    fed: Federation, actor: LocalActor, payload: dict[str, Any], inboxes: Iterable[str]
) -> Activity:
    """Store the activity and one delivery row per distinct remote inbox, in one transaction;
    nothing is queued for a suspended domain or account."""
    targets = sorted({i for i in inboxes if i and not fed.urls.is_local(i)})
    suspended = await suspended_among({host_of(i) for i in targets})
    if suspended:
        targets = [i for i in targets if host_of(i) not in suspended]
    barred = await suspended_inboxes(targets)  # a suspended account's own inbox
    if barred:
        targets = [i for i in targets if i not in barred]
    now = _now()
    act = APObject(payload)
    if act.id is None or not act.type:
        raise Malformed("an activity to publish has no id or no type")
    async with in_transaction():
        activity = await Activity.create(
            ap_id=act.id,
            actor=actor,
            type=act.type,
            object_uri=act.object_id,
            payload=payload,
            public=act.is_public,
        )
        if targets:
            await Delivery.bulk_create(
                [
                    Delivery(activity=activity, inbox=i, host=host_of(i), next_attempt_at=now)
                    for i in targets
                ]
            )
    log.info(
        "activity queued",
        extra={"activity": activity.ap_id, "type": activity.type, "targets": len(targets)},
    )
    fed.poke()
    return activity


async def deliver_due(fed: Federation, *, actor: LocalActor | None = None) -> int:
    """Send the deliveries that are due (at most one batch), optionally only those of one
    actor's activities; returns how many were tried."""
    filters = {} if actor is None else {"activity__actor_id": actor.id}
    async with claimed(Delivery, DeliveryState.PENDING, fed.settings, **filters) as rows:
        if rows:
            await _deliver_batch(fed, rows)
    return len(rows)


async def _deliver_batch(fed: Federation, rows: list[Delivery]) -> None:
    """Send a claimed batch concurrently, ``per_host_concurrency`` at a time per host."""
    activity_ids = {r.activity_id for r in rows}
    activities = {
        a.id: a for a in await Activity.filter(id__in=activity_ids).prefetch_related("actor")
    }
    unreachable = {
        h.domain: h for h in await Host.filter(domain__in={r.host for r in rows}, unreachable=True)
    }
    suspended = await suspended_among({r.host for r in rows})
    probing: set[str] = set()
    limits: dict[str, asyncio.Semaphore] = {}

    def skip(row: Delivery) -> bool:
        """Unreachable hosts are skipped, except one probe a day to notice their return."""
        host = unreachable.get(row.host)
        if host is None:
            return False
        last = host.last_failure_at
        if row.host not in probing and (last is None or _now() - last >= PROBE_EVERY):
            probing.add(row.host)
            return False
        return True

    skipped: dict[str, list[int]] = {}

    async def run(row: Delivery) -> None:
        sem = limits.setdefault(row.host, asyncio.Semaphore(fed.settings.per_host_concurrency))
        async with sem:
            try:
                if row.host in suspended:  # queued before the suspension: never sent
                    await _finish(row, DeliveryState.FAILED, error=SUSPENDED_ERROR, attempts=0)
                elif skip(row):
                    # Nothing is sent: not an attempt.
                    await _finish(
                        row, DeliveryState.SKIPPED, error=SKIPPED_ERROR, attempts=row.attempts
                    )
                    skipped.setdefault(row.host, []).append(row.id)
                else:
                    await _deliver_one(fed, row, activities[row.activity_id])
            except Exception as exc:  # one bad row must not abort the batch nor keep its lease
                await _crashed(fed, row, exc)

    await asyncio.gather(*(run(r) for r in rows))
    if skipped:
        await _requeue_if_back(fed, skipped)


async def _requeue_if_back(fed: Federation, skipped: dict[str, list[int]]) -> None:
    """A host may have answered (a probe in this batch, another worker, an incoming request)
    after this batch read its state, and its recovery may have requeued the skipped rows before
    these were marked: requeue them too. One query for all the hosts, after the batch."""
    still = await Host.filter(domain__in=list(skipped), unreachable=True).values_list(
        "domain", flat=True
    )
    for domain in skipped.keys() - set(still):
        await _requeue_skipped(fed, domain, ids=skipped[domain])


async def _deliver_one(fed: Federation, row: Delivery, activity: Activity) -> None:
    body = json.dumps(language_first(activity.payload)).encode()
    status: int | None = None
    retry_after: float | None = None
    error: str | None = None
    answered = False  # a timeout is reported as 408 but means the host did not answer
    try:
        response = await fed.http.post_activity(
            row.inbox, body, signer=fed.signer_for(activity.actor)
        )
        status, answered = response.status_code, True
        if 200 <= status < 300:
            await _finish(row, DeliveryState.DELIVERED, status=status)
            await _host_ok(fed, row.host)
            log.info("delivered", extra={"activity": activity.ap_id, "inbox": row.inbox})
            return
        retry_after = parse_retry_after(response.headers.get("retry-after"), _now())
        error = response.text[:500]
    except RemoteUnavailable as exc:
        status, retry_after, error = exc.status, exc.retry_after, str(exc)
    except CoopubError as exc:  # unsafe address, invalid URL: retrying cannot help
        await _finish(row, DeliveryState.FAILED, error=str(exc))
        return
    log.warning(
        "delivery failed",
        extra={"activity": activity.ap_id, "inbox": row.inbox, "status": status, "error": error},
    )
    if not answered or status is None or status >= 500:
        await _host_failed(fed, row.host)
    else:
        await _host_ok(fed, row.host)  # it answered: reachable, even if it refused
    if not is_retryable(status):
        await _finish(row, DeliveryState.FAILED, status=status, error=error)
        return
    await _retry_later(fed, row, status=status, error=error, retry_after=retry_after)


async def _crashed(fed: Federation, row: Delivery, exc: Exception) -> None:
    """An error outside the HTTP exchange, classified by the one outcome policy: retried when
    transient or unforeseen (its traceback logged the first time), failed otherwise."""
    error = str(exc) or repr(exc)
    extra = {"delivery": row.id, "inbox": row.inbox, "error": error}
    if outcome_of(exc) is not Outcome.RETRY:
        log.warning("delivery failed", extra=extra)
        await _finish(row, DeliveryState.FAILED, error=error)
        return
    if row.attempts or isinstance(exc, CoopubError):
        log.warning("delivery crashed", extra=extra)
    else:
        log.error("delivery crashed", extra=extra, exc_info=exc)
    await _retry_later(fed, row, status=None, error="internal error")


async def _retry_later(
    fed: Federation,
    row: Delivery,
    *,
    status: int | None,
    error: str | None,
    retry_after: float | None = None,
) -> None:
    """Schedule the next attempt with backoff, or give up once past ``give_up_after_hours``."""
    attempts = row.attempts + 1
    retry_at = next_attempt(attempts, row.created_at, fed.settings, retry_after=retry_after)
    if retry_at is None:
        await _finish(row, DeliveryState.FAILED, status=status, error=error, attempts=attempts)
        return
    await Delivery.filter(id=row.id).update(
        attempts=attempts,
        next_attempt_at=retry_at,
        locked_until=None,
        last_status=status,
        last_error=error,
    )


async def _finish(
    row: Delivery,
    state: DeliveryState,
    *,
    status: int | None = None,
    error: str | None = None,
    attempts: int | None = None,
) -> None:
    await Delivery.filter(id=row.id).update(
        state=state,
        attempts=attempts if attempts is not None else row.attempts + 1,
        locked_until=None,
        last_status=status,
        last_error=error,
        delivered_at=_now() if state == DeliveryState.DELIVERED else None,
    )


async def _host_ok(fed: Federation, domain: str) -> None:
    """The host answered. If it was marked unreachable, what was skipped meanwhile is sent.

    Called for every delivered activity and every signed incoming request, so the common case
    (a host known to be fine, its success recorded less than a minute ago) is one read and no
    write: on SQLite, writes compete with the worker for the database lock."""
    host = await Host.get_or_none(domain=domain)
    if host is None:  # never failed: there is nothing to clear
        return
    now = _now()
    if not host.unreachable:
        recent = host.last_success_at is not None and now - host.last_success_at < SUCCESS_EVERY
        if host.failing_since is None and recent:
            return
        cleared = await Host.filter(id=host.id, unreachable=False).update(
            failing_since=None, last_success_at=now
        )
        if cleared:
            return
        # Marked unreachable since it was read: it answered, so it comes back below.
    # Conditional, so that of several workers hearing from the host only one requeues.
    recovered = await Host.filter(id=host.id, unreachable=True).update(
        failing_since=None, unreachable=False, last_success_at=now
    )
    if not recovered:
        return
    requeued, failed = await _requeue_skipped(fed, domain)
    log.info(
        "host reachable again",
        extra={"host": domain, "requeued": requeued, "given_up": failed},
    )


async def _requeue_skipped(
    fed: Federation, domain: str, ids: list[int] | None = None
) -> tuple[int, int]:
    """Skipped deliveries to ``domain`` go back to the queue, due now, unless they are older than
    ``give_up_after_hours``: those become failed. Returns (requeued, failed)."""
    now = _now()
    cutoff = now - timedelta(hours=fed.settings.give_up_after_hours)
    skipped = Delivery.filter(host=domain, state=DeliveryState.SKIPPED)
    if ids is not None:
        skipped = skipped.filter(id__in=ids)
    failed = await skipped.filter(created_at__lt=cutoff).update(state=DeliveryState.FAILED)
    requeued = await skipped.filter(created_at__gte=cutoff).update(
        state=DeliveryState.PENDING, next_attempt_at=now, locked_until=None
    )
    if requeued:
        fed.poke()
    return requeued, failed


async def _host_failed(fed: Federation, domain: str) -> None:
    now = _now()
    host, _ = await Host.get_or_create(domain=domain)
    failing_since = host.failing_since or now
    unreachable = now - failing_since >= timedelta(days=fed.settings.unreachable_after_days)
    await Host.filter(id=host.id).update(
        failing_since=failing_since, last_failure_at=now, unreachable=unreachable
    )
    if unreachable and not host.unreachable:
        log.warning("host marked unreachable", extra={"host": domain})


async def host_answered(domain: str, fed: Federation) -> None:
    """An incoming signed request from ``domain``: it is reachable again, and what was skipped
    while it was not is queued again (``fed`` gives the give-up limit, and wakes the worker)."""
    await _host_ok(fed, domain)


async def follower_inboxes(fed: Federation, actor: LocalActor) -> list[str]:
    """Where to deliver to ``actor``'s remote followers: one shared inbox per server when the
    follower advertises one, else its own inbox; deduplicated."""
    followers = await RemoteActor.filter(
        following_rel__target_uri=fed.urls.actor(actor),
        following_rel__state=FollowState.ACCEPTED,
    ).distinct()
    return sorted({f.delivery_inbox for f in followers})


async def queue_stats() -> dict[str, int]:
    """Deliveries per state, every state present (zero when none)."""
    return await count_by_state(Delivery, (s.value for s in DeliveryState))
