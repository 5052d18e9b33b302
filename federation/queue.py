"""Claiming due rows of a work table (deliveries, inbox items) safely across workers.

A claim is a lease: ``locked_until`` keeps other workers off the rows, and ``claim_token`` says
whose they are. While a batch runs, a renewal task pushes the lease forward for the rows the
batch still holds, so the lease can stay short (``lease_seconds``, a minute): a worker killed
mid-batch leaves its rows to the others within that minute. A row sent just before such a death
is sent again by the next worker: delivery is at least once, and receivers dedupe by activity id.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from tortoise import connections
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.models import Model
from tortoise.transactions import in_transaction

from federation.settings import FederationSettings

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Model)

RENEWAL_TASK = "lease renewal"
"""Name of the task that renews a running batch's lease (one per batch, stopped with it)."""


def new_token() -> str:
    """A claim token: this process's id, then random hex (32 characters, the column's size).

    The prefix tells an operator (and the crash test) which process holds a row."""
    return f"{os.getpid()}.{uuid.uuid4().hex}"[:32]


async def count_by_state(model: type[Model], states: Iterable[str]) -> dict[str, int]:
    """Rows of a work table per state, every state present (zero when none): one grouped count."""
    rows = await model.annotate(n=Count("id")).group_by("state").values_list("state", "n")
    counts = dict.fromkeys(states, 0)
    counts.update({str(state): int(n) for state, n in rows})
    return counts


async def claim_due(
    model: type[M],
    pending: Any,
    limit: int,
    *,
    lease: timedelta,
    token: str | None = None,
    **filters: Any,
) -> list[M]:
    """Lease up to ``limit`` due rows in state ``pending`` for this worker, for ``lease``.

    PostgreSQL reads the rows with ``FOR UPDATE SKIP LOCKED``, so concurrent workers on several
    hosts take disjoint rows without waiting. SQLite cannot upgrade a read transaction to a write
    when another process (the CLI, say) has committed meanwhile, so there the claim is a single
    conditional ``UPDATE`` tagged with the token, then the rows carrying it are read. Either way
    every row returned carries ``token`` (a new one by default) as its ``claim_token``.
    """
    now = datetime.now(UTC)
    token = token or new_token()
    due = model.filter(state=pending, next_attempt_at__lte=now, **filters).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )
    if connections.get("default").capabilities.dialect == "sqlite":
        ids = await due.order_by("next_attempt_at", "id").limit(limit).values_list("id", flat=True)
        if not ids:
            return []
        await (
            model.filter(id__in=list(ids), state=pending)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .update(locked_until=now + lease, claim_token=token)
        )
        # By id too: ``claim_token`` has no index, and the table keeps finished rows for weeks.
        return await model.filter(id__in=list(ids), claim_token=token).order_by(
            "next_attempt_at", "id"
        )
    async with in_transaction():
        rows = (
            await due.order_by("next_attempt_at", "id")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        if rows:
            await model.filter(id__in=[r.pk for r in rows]).update(
                locked_until=now + lease, claim_token=token
            )
    for row in rows:
        row.update_from_dict({"locked_until": now + lease, "claim_token": token})
    return rows


async def renew(
    model: type[Model], token: str, lease: timedelta, ids: list[Any] | None = None
) -> int:
    """Extend the lease of the rows still held under ``token``; returns how many.

    A row finished meanwhile (``locked_until`` cleared) or taken by another worker after the lease
    lapsed (another token) is left alone. ``ids``, the rows claimed, spares a scan of the table
    (``claim_token`` has no index)."""
    held = model.filter(claim_token=token, locked_until__isnull=False)
    if ids is not None:
        held = held.filter(id__in=ids)
    return await held.update(locked_until=datetime.now(UTC) + lease)


async def _keep_renewing(
    model: type[Model], token: str, lease: timedelta, every: float, ids: list[Any] | None
) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            held = await renew(model, token, lease, ids)
        except Exception as exc:  # the batch goes on; a lapsed lease only risks a resend
            log.warning(
                "lease not renewed",
                extra={"table": model._meta.db_table, "error": str(exc) or repr(exc)},
            )
            continue
        if not held:
            return  # every row of the batch is finished


@asynccontextmanager
async def claimed(
    model: type[M],
    pending: Any,
    settings: FederationSettings,
    size: int | None = None,
    **filters: Any,
) -> AsyncIterator[list[M]]:
    """Claim a batch of due rows (``size``, by default ``worker_batch_size``) and renew its
    lease every ``lease_renew_seconds`` until the block ends, however it ends."""
    lease, token = timedelta(seconds=settings.lease_seconds), new_token()
    limit = settings.worker_batch_size if size is None else size
    rows = await claim_due(model, pending, limit, lease=lease, token=token, **filters)
    if not rows:
        yield rows
        return
    async with holding(model, token, settings, [r.pk for r in rows]):
        yield rows


@asynccontextmanager
async def holding(
    model: type[Model], token: str, settings: FederationSettings, ids: list[Any] | None = None
) -> AsyncIterator[None]:
    """Renew the lease of the rows claimed under ``token`` (``ids``) every
    ``lease_renew_seconds`` until the block ends, however it ends (for a batch claimed with
    ``claim_due``)."""
    lease = timedelta(seconds=settings.lease_seconds)
    renewing = asyncio.create_task(
        _keep_renewing(model, token, lease, settings.lease_renew_seconds, ids),
        name=RENEWAL_TASK,
    )
    try:
        yield
    finally:
        renewing.cancel()
        await asyncio.wait([renewing])  # unlike awaiting it, never swallows our own cancel
