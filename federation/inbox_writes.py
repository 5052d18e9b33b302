"""The inbox rows of concurrent POSTs, written together (group commit).

Every accepted POST stores its row before it answers. One transaction per row makes each POST
wait for the write lock (on SQLite one for every process, whose busy handler sleeps 1, 2, 5 …
ms between tries) and for its own commit. Here a row is written at once when nothing is being
written; rows that arrive meanwhile wait for that write to end, then go in the next one, all
together: one lock and one commit for as many POSTs as arrived. Nothing waits for company: an
idle instance writes each row as it comes, as one ``INSERT``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.activities import InboxItem


@dataclass
class _Row:
    fields: dict[str, Any]
    stored: asyncio.Future[bool]


@dataclass
class InboxWrites:
    """One per process (``Federation.inbox_writes``): the rows waiting for the next write."""

    waiting: list[_Row] = field(default_factory=list)
    writing: asyncio.Task[None] | None = None

    async def add(self, **fields: Any) -> bool:
        """Store an inbox row (``InboxItem``'s fields); False when its ``activity_id`` was
        received already (here, or earlier in the same write). Raises what the write raised."""
        row = _Row(fields, asyncio.get_running_loop().create_future())
        self.waiting.append(row)
        if self.writing is None or self.writing.done():
            self.writing = asyncio.create_task(self._write_waiting())
        return await row.stored

    async def _write_waiting(self) -> None:
        while self.waiting:
            rows, self.waiting = self.waiting, []
            try:
                stored = await _write(rows)
            except Exception as exc:  # each POST answers with what the write raised
                for row in rows:
                    if not row.stored.done():
                        row.stored.set_exception(exc)
                continue
            for row, new in zip(rows, stored, strict=True):
                if not row.stored.done():  # its POST may have been cancelled
                    row.stored.set_result(new)


async def _write(rows: list[_Row]) -> list[bool]:
    """Insert ``rows``; for each, whether it was new."""
    if len(rows) == 1:
        try:
            await InboxItem.create(**rows[0].fields)
        except IntegrityError:
            return [False]
        return [True]
    seen: set[str] = set()
    firsts: list[bool] = []
    for row in rows:
        firsts.append(row.fields["activity_id"] not in seen)
        seen.add(row.fields["activity_id"])
    async with in_transaction() as conn:
        held = set(
            await InboxItem.filter(activity_id__in=sorted(seen))
            .using_db(conn)
            .values_list("activity_id", flat=True)
        )
        new = [
            InboxItem(**row.fields)
            for row, first in zip(rows, firsts, strict=True)
            if first and row.fields["activity_id"] not in held
        ]
        # another process may insert one of them in between (PostgreSQL; SQLite's write lock is
        # held from BEGIN): it is kept, and this one counted new, which only changes a log line
        await InboxItem.bulk_create(new, ignore_conflicts=True, using_db=conn)
    return [
        first and row.fields["activity_id"] not in held
        for row, first in zip(rows, firsts, strict=True)
    ]
