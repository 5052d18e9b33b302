"""Claiming due rows of a work table (deliveries, inbox items) safely across workers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from tortoise import connections
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.models import Model
from tortoise.transactions import in_transaction

M = TypeVar("M", bound=Model)

LEASE = timedelta(minutes=5)


async def count_by_state(model: type[Model], states: Iterable[str]) -> dict[str, int]:
    """Rows of a work table per state, every state present (zero when none): one grouped count."""
    rows = await model.annotate(n=Count("id")).group_by("state").values_list("state", "n")
    counts = dict.fromkeys(states, 0)
    counts.update({str(state): int(n) for state, n in rows})
    return counts


async def claim_due(model: type[M], pending: Any, limit: int, **filters: Any) -> list[M]:
    """Lease up to ``limit`` due rows in state ``pending`` for this worker.

    A lease (``locked_until``) keeps other workers off the rows and recovers them if this worker
    dies. PostgreSQL reads the rows with ``FOR UPDATE SKIP LOCKED``, so concurrent workers on
    several hosts take disjoint rows without waiting. SQLite cannot upgrade a read transaction to
    a write when another process (the CLI, say) has committed meanwhile, so there the claim is a
    single conditional ``UPDATE`` tagged with a token, then the rows carrying it are read.
    """
    now = datetime.now(UTC)
    due = model.filter(state=pending, next_attempt_at__lte=now, **filters).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )
    if connections.get("default").capabilities.dialect == "sqlite":
        ids = await due.order_by("next_attempt_at", "id").limit(limit).values_list("id", flat=True)
        if not ids:
            return []
        token = uuid.uuid4().hex
        await (
            model.filter(id__in=list(ids), state=pending)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .update(locked_until=now + LEASE, claim_token=token)
        )
        return await model.filter(claim_token=token).order_by("next_attempt_at", "id")
    async with in_transaction():
        rows = (
            await due.order_by("next_attempt_at", "id")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        if rows:
            await model.filter(id__in=[r.pk for r in rows]).update(locked_until=now + LEASE)
    return rows
