"""Sending claimed deliveries: many at once, few per host, what is per activity done once.

A ``Sender`` lives for one pass of the worker (``delivery.deliver_due``) and is shared by the
batches it claims: at most ``MAX_IN_FLIGHT`` requests at once, at most ``per_host_concurrency``
to one host, and each activity's body, ``Digest`` and signer prepared once (the body bytes are
the same for every inbox; only the signature differs, as its target, host and date do). The
outcome of a batch is recorded in few statements: every success in one ``UPDATE`` per status,
the hosts that answered read in one query; failures, rare, one by one as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F

from activitypub.activities import language_first
from federation.blocks import suspended_among
from federation.context import Federation
from federation.hosts import host_failed, hosts_answered, requeue_if_back
from federation.http import Payload, Signer
from federation.outcome import Outcome, is_retryable, next_attempt, outcome_of, parse_retry_after
from models.activities import Activity
from models.delivery import Delivery, DeliveryState, Host
from models.errors import CoopubError, RemoteUnavailable

log = logging.getLogger("federation.delivery")

MAX_IN_FLIGHT = 256
"""Requests one worker process has in flight at once, all hosts together."""
PROBE_EVERY = timedelta(days=1)
SKIPPED_ERROR = "host marked unreachable"
SUSPENDED_ERROR = "domain suspended"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Prepared:
    """What every delivery of one activity shares."""

    ap_id: str
    payload: Payload
    signer: Signer


@dataclass
class Outcomes:
    """A batch's results, recorded together once it is done (``record``)."""

    delivered: dict[int, list[int]] = field(default_factory=dict)
    """Ids of the rows delivered, by HTTP status."""
    answered: set[str] = field(default_factory=set)
    """Hosts that answered (even with a refusal): reachable."""
    skipped: dict[str, list[int]] = field(default_factory=dict)
    """Ids of the rows not sent because their host is marked unreachable, by host."""


class Sender:
    """The limits and the prepared activities shared by the batches of one pass."""

    def __init__(self, fed: Federation) -> None:
        self.fed = fed
        self.slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.per_host: dict[str, asyncio.Semaphore] = {}
        self.prepared: dict[int, Prepared] = {}
        self.waiting = 0
        """Rows claimed and not yet being sent (waiting for their host or a slot)."""
        self.in_flight = 0
        self.room = asyncio.Event()
        """Set while another batch would be sent at once: every claimed row is being sent, and
        a batch more stays under ``MAX_IN_FLIGHT``. Claiming more would only hold rows that
        another worker could send now."""
        self.room.set()

    def claimed(self, count: int) -> None:
        self.waiting += count
        self._changed()

    def _changed(self) -> None:
        room = self.in_flight + self.fed.settings.worker_batch_size <= MAX_IN_FLIGHT
        if self.waiting == 0 and room:
            self.room.set()
        else:
            self.room.clear()

    def not_sent(self) -> None:
        """A claimed row that will not wait for a slot (skipped, suspended, failed early)."""
        self.waiting -= 1
        self._changed()

    async def prepare(self, rows: list[Delivery]) -> None:
        """Body, digest and signer of each activity not prepared yet in this pass: one query."""
        missing = {r.activity_id for r in rows} - self.prepared.keys()
        if not missing:
            return
        for activity in await Activity.filter(id__in=missing).prefetch_related("actor"):
            body = json.dumps(language_first(activity.payload)).encode()
            self.prepared[activity.id] = Prepared(
                activity.ap_id, Payload.of(body), self.fed.signer_for(activity.actor)
            )

    async def send(self, row: Delivery, out: Outcomes) -> None:
        started = False
        try:
            host = self.per_host.setdefault(
                row.host, asyncio.Semaphore(self.fed.settings.per_host_concurrency)
            )
            async with host, self.slots:
                started = True
                self.waiting -= 1
                self.in_flight += 1
                self._changed()
                try:
                    await _deliver_one(self.fed, row, self.prepared[row.activity_id], out)
                finally:
                    self.in_flight -= 1
                    self._changed()
        finally:
            if not started:
                self.not_sent()


async def send_batch(sender: Sender, rows: list[Delivery]) -> None:
    """Send a claimed batch (``sender.claimed`` counted it), then record its outcomes."""
    fed = sender.fed
    try:
        await sender.prepare(rows)
        domains = {r.host for r in rows}
        unreachable = {h.domain: h for h in await Host.filter(domain__in=domains, unreachable=True)}
        suspended = await suspended_among(domains)
    except BaseException:
        for _ in rows:
            sender.not_sent()
        raise
    probing: set[str] = set()
    out = Outcomes()

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

    async def run(row: Delivery) -> None:
        try:
            if row.host in suspended:  # queued before the suspension: never sent
                sender.not_sent()
                await _finish(row, DeliveryState.FAILED, error=SUSPENDED_ERROR, attempts=0)
            elif skip(row):
                sender.not_sent()
                # Nothing is sent: not an attempt.
                await _finish(
                    row, DeliveryState.SKIPPED, error=SKIPPED_ERROR, attempts=row.attempts
                )
                out.skipped.setdefault(row.host, []).append(row.id)
            else:
                await sender.send(row, out)
        except Exception as exc:  # one bad row must not abort the batch nor keep its lease
            await _crashed(fed, row, exc)

    async def in_order(queue: list[Delivery]) -> None:
        for row in queue:
            await run(row)

    # One inbox's rows one after the other, in the order they were queued: two Updates of one
    # offer within a second (their ``updated`` says seconds) sent side by side could arrive
    # the wrong way round, and the receiver would keep the older. Other inboxes go alongside.
    by_inbox: dict[str, list[Delivery]] = {}
    for row in sorted(rows, key=lambda r: r.id):
        by_inbox.setdefault(row.inbox, []).append(row)
    await asyncio.gather(*(in_order(queue) for queue in by_inbox.values()))
    await record(fed, out)


async def record(fed: Federation, out: Outcomes) -> None:
    """Successes in one statement per status, then the hosts that answered, then what was
    skipped for a host that came back meanwhile."""
    now = _now()
    for status, ids in out.delivered.items():
        await Delivery.filter(id__in=ids).update(
            state=DeliveryState.DELIVERED,
            attempts=F("attempts") + 1,
            locked_until=None,
            last_status=status,
            last_error=None,
            delivered_at=now,
        )
    await hosts_answered(fed, out.answered)
    if out.skipped:
        await requeue_if_back(fed, out.skipped)


async def _deliver_one(fed: Federation, row: Delivery, prepared: Prepared, out: Outcomes) -> None:
    status: int | None = None
    retry_after: float | None = None
    error: str | None = None
    answered = False  # a timeout is reported as 408 but means the host did not answer
    try:
        response = await fed.http.post_activity(row.inbox, prepared.payload, signer=prepared.signer)
        status, answered = response.status_code, True
        if 200 <= status < 300:
            out.delivered.setdefault(status, []).append(row.id)
            out.answered.add(row.host)
            log.info("delivered", extra={"activity": prepared.ap_id, "inbox": row.inbox})
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
        extra={"activity": prepared.ap_id, "inbox": row.inbox, "status": status, "error": error},
    )
    if not answered or status is None or status >= 500:
        await host_failed(fed, row.host)
    else:
        out.answered.add(row.host)  # it answered: reachable, even if it refused
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
