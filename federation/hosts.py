"""Delivery health of remote hosts: a host that keeps failing is marked unreachable and skipped;
one that answers again gets what was skipped meanwhile.

Logged under ``federation.delivery``, with the deliveries these decisions are about.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from federation.context import Federation
from models.delivery import Delivery, DeliveryState, Host

log = logging.getLogger("federation.delivery")

SUCCESS_EVERY = timedelta(minutes=1)
"""How stale a reachable host's ``last_success_at`` may get before an answer rewrites it."""


def _now() -> datetime:
    return datetime.now(UTC)


async def hosts_answered(fed: Federation, domains: Iterable[str]) -> None:
    """Several hosts answered (a batch of deliveries): one read for all of them, then, for the
    few that need it, what ``host_answered`` does. A host never failed has no row: nothing."""
    wanted = set(domains)
    if not wanted:
        return
    for host in await Host.filter(domain__in=wanted):
        await _host_ok(fed, host)


async def host_answered(domain: str, fed: Federation) -> None:
    """The host answered (a delivery, or an incoming signed request from it): it is reachable,
    and what was skipped while it was not is queued again (``fed`` gives the give-up limit,
    and wakes the worker).

    Called for every signed incoming request, so the common case (a host known to be fine, its
    success recorded less than a minute ago) is one read and no write: on SQLite, writes compete
    with the worker for the database lock."""
    host = await Host.get_or_none(domain=domain)
    if host is not None:  # never failed: there is nothing to clear
        await _host_ok(fed, host)


async def _host_ok(fed: Federation, host: Host) -> None:
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
    requeued, failed = await requeue_skipped(fed, host.domain)
    log.info(
        "host reachable again",
        extra={"host": host.domain, "requeued": requeued, "given_up": failed},
    )


async def requeue_skipped(
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


async def requeue_if_back(fed: Federation, skipped: dict[str, list[int]]) -> None:
    """A host may have answered (a probe in this batch, another worker, an incoming request)
    after a batch read its state, and its recovery may have requeued the skipped rows before
    these were marked: requeue them too. One query for all the hosts, after the batch."""
    still = await Host.filter(domain__in=list(skipped), unreachable=True).values_list(
        "domain", flat=True
    )
    for domain in skipped.keys() - set(still):
        await requeue_skipped(fed, domain, ids=skipped[domain])


async def host_failed(fed: Federation, domain: str) -> None:
    now = _now()
    host, _ = await Host.get_or_create(domain=domain)
    failing_since = host.failing_since or now
    unreachable = now - failing_since >= timedelta(days=fed.settings.unreachable_after_days)
    await Host.filter(id=host.id).update(
        failing_since=failing_since, last_failure_at=now, unreachable=unreachable
    )
    if unreachable and not host.unreachable:
        log.warning("host marked unreachable", extra={"host": domain})
