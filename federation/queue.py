"""Claiming due rows of a work table (deliveries, inbox items) safely across workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

M = TypeVar("M", bound=Model)

LEASE = timedelta(minutes=5)


async def claim_due(model: type[M], pending: Any, limit: int, **filters: Any) -> list[M]:
    """Lease up to ``limit`` due rows in state ``pending``.

    The rows are read with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite serialises the
    transaction instead) and given ``locked_until`` so that no other worker takes them until the
    lease expires, which also recovers rows from a worker that died mid-way.
    """
    now = datetime.now(UTC)
    async with in_transaction():
        rows = (
            await model.filter(state=pending, next_attempt_at__lte=now, **filters)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .order_by("next_attempt_at", "id")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        if rows:
            await model.filter(id__in=[r.pk for r in rows]).update(locked_until=now + LEASE)
    return rows
