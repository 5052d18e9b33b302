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

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.activities import InboxItem, InboxState


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


INSERT_POSTGRES = (
    "INSERT INTO inbox_item (activity_id, actor_uri, type, payload, recipient_id, state,"
    " attempts, next_attempt_at, received_at)"
    " SELECT activity_id, actor_uri, type, payload::jsonb, recipient_id, $7, 0,"
    " next_attempt_at, now()"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[])"
    " WITH ORDINALITY AS row (activity_id, actor_uri, type, payload, recipient_id,"
    " next_attempt_at, n) ORDER BY n"
    " ON CONFLICT (activity_id) DO NOTHING RETURNING activity_id"
)
"""PostgreSQL: the rows as arrays, in one statement that skips the ids already held (or met
earlier in the same rows) and names those it inserted."""


async def _write(rows: list[_Row]) -> list[bool]:
    """Insert ``rows``; for each, whether it was new (the first of its id in ``rows``, and
    not held before)."""
    firsts: list[bool] = []
    seen: set[str] = set()
    for row in rows:
        firsts.append(row.fields["activity_id"] not in seen)
        seen.add(row.fields["activity_id"])
    if connections.get("default").capabilities.dialect == "postgres":
        inserted = await _insert_postgres([row.fields for row in rows])
        held: set[str] = seen - inserted  # held before, or to be: only the firsts count
    elif len(rows) == 1:
        try:
            await InboxItem.create(**rows[0].fields)
            held = set()
        except IntegrityError:
            held = seen
    else:
        held = await _insert_sqlite(rows, firsts, seen)
    return [
        first and row.fields["activity_id"] not in held
        for row, first in zip(rows, firsts, strict=True)
    ]


async def _insert_postgres(rows: list[dict[str, Any]]) -> set[str]:
    """PostgreSQL: one statement, not a read then a statement per row; the ids inserted."""
    payload = InboxItem._meta.fields_map["payload"]
    values = [
        *([row[key] for row in rows] for key in ("activity_id", "actor_uri", "type")),
        [payload.to_db_value(row["payload"], InboxItem) for row in rows],
        [row["recipient"].id if row["recipient"] is not None else None for row in rows],
        [row["next_attempt_at"] for row in rows],
        InboxState.PENDING.value,
    ]
    # ``execute_query`` reads no row of an INSERT (its RETURNING)
    inserted = await connections.get("default").execute_query_dict(INSERT_POSTGRES, values)
    return {record["activity_id"] for record in inserted}


async def _insert_sqlite(rows: list[_Row], firsts: list[bool], ids: set[str]) -> set[str]:
    """SQLite, several rows: the ids already held, read under the write lock (taken at
    ``BEGIN``), then the new rows in one ``INSERT``; returns the ids held before."""
    async with in_transaction() as conn:
        found = InboxItem.filter(activity_id__in=sorted(ids)).using_db(conn)
        held = {str(i) for i in await found.values_list("activity_id", flat=True)}
        new = [
            InboxItem(**row.fields)
            for row, first in zip(rows, firsts, strict=True)
            if first and row.fields["activity_id"] not in held
        ]
        await InboxItem.bulk_create(new, ignore_conflicts=True, using_db=conn)
    return held
