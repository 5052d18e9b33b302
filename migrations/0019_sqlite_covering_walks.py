"""The indexes a search walks hold what its filters read, on SQLite too (PostgreSQL: 0018).

A search in an area with more offers than the spatial index is asked for (2,000) walks
``(status, starts_at, id)`` or ``(kind, status, starts_at, id)`` in time order, testing each
row against the area's box. Away from the cities, 50 km around a point holds some 3,500
offers of a million: one in three hundred, so a page of 50 passed some 20,000 rows, each read
from the table, where it spans several pages with its AS2 document (140–190 ms, measured
here). SQLite has no ``INCLUDE``: the columns those filters read follow the index's own
(coordinates, seats, purpose, kind, end, expiry), so that the walk reads the index alone,
and the rows it keeps are read afterwards by id (``search_walk.COVERED``). The indexes keep
the names Tortoise gave them in migration 0015, as 0018 did on PostgreSQL.

Nothing changes on PostgreSQL. Rebuilding both takes some 20 s at a million offers, while
writes to offers wait.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

COVERED = (
    "purpose, quantity_available, latitude, longitude, dest_latitude, dest_longitude,"
    " ends_at, expires_at"
)
"""What a walk's filters read besides the index's own columns (``search_walk.COVERED``)."""

SQLITE = [
    'DROP INDEX IF EXISTS "idx_offer_kind_0c9ef8"',
    f'CREATE INDEX "idx_offer_kind_0c9ef8" ON "offer" (kind, status, starts_at, id, {COVERED})',
    'DROP INDEX IF EXISTS "idx_offer_status_73c028"',
    'CREATE INDEX "idx_offer_status_73c028" ON "offer"'
    f" (status, starts_at, id, kind, {COVERED})",
]
SQLITE_BACK = [
    'DROP INDEX IF EXISTS "idx_offer_kind_0c9ef8"',
    'CREATE INDEX "idx_offer_kind_0c9ef8" ON "offer" ("kind", "status", "starts_at", "id")',
    'DROP INDEX IF EXISTS "idx_offer_status_73c028"',
    'CREATE INDEX "idx_offer_status_73c028" ON "offer" ("status", "starts_at", "id")',
]


async def _run(editor: Any, statements: list[str]) -> None:
    client = editor.client
    if client.capabilities.dialect == "sqlite":
        for sql in statements:
            await client.execute_script(sql)


async def _forward(apps: Any, editor: Any) -> None:
    await _run(editor, SQLITE)


async def _backward(apps: Any, editor: Any) -> None:
    await _run(editor, SQLITE_BACK)


class Migration(migrations.Migration):
    dependencies = [("models", "0018_covering_walks")]

    initial = False

    operations = [ops.RunPython(_forward, _backward)]
