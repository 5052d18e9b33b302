"""The indexes a search reads hold what its filters read (PostgreSQL only).

A search in a dense area walks ``(status, starts_at, id)`` or ``(kind, status, starts_at, id)``
until its page is full, testing each row against the area's box, the seats and the dates. The
columns were in the table only, so each of the rows passed was read from it: a week's rides in
Lyon, by seats, passed some 5,000 rows for 50 (5–14 ms at a million offers). With those columns
in the index (``INCLUDE``), the walk is an index-only scan (2 ms), and the few rows kept are
read afterwards by primary key (``search_walk.COVERED`` names the columns; the names are those
Tortoise gave the indexes of ``Offer.Meta`` in migration 0015).

A search in a sparse area reads the ids the place indexes name (up to 2,000), then sorted
them by reading every row: 1,700 rows for 50 near the cap (7 ms). The place indexes now hold
each offer's start, status and kind too (``search_index.Entry``): the ids are put in time
order from the index alone, and rows are read a page at a time.

SQLite's searches already meet their target: nothing changes there. Rebuilding the four
indexes takes about 10 s at a million offers (measured here), while writes to offers wait;
searches meanwhile read the table.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

COVERED = (
    "purpose, quantity_available, latitude, longitude, dest_latitude, dest_longitude,"
    " ends_at, expires_at"
)
"""What a walk's filters read besides the index's own columns (``search_walk.COVERED``)."""

PLACES = [
    f"DROP INDEX IF EXISTS offer_{name}_gist;"
    f" CREATE INDEX offer_{name}_gist ON offer USING gist (point({x}, {y}))"
    f" INCLUDE (id, {x}, {y}{more})"
    for more in (", starts_at, status, kind", "")
    for name, x, y in (
        ("place", "longitude", "latitude"),
        ("dest", "dest_longitude", "dest_latitude"),
    )
]
"""The place indexes of migration 0016, with what ``search_index.near_entries`` reads (the
first two), and as they were (the last two)."""

POSTGRES = [
    *PLACES[:2],
    "DROP INDEX IF EXISTS idx_offer_kind_0c9ef8",
    "CREATE INDEX idx_offer_kind_0c9ef8 ON offer (kind, status, starts_at, id)"
    f" INCLUDE ({COVERED})",
    "DROP INDEX IF EXISTS idx_offer_status_73c028",
    "CREATE INDEX idx_offer_status_73c028 ON offer (status, starts_at, id)"
    f" INCLUDE (kind, {COVERED})",
]
POSTGRES_BACK = [
    *PLACES[2:],
    "DROP INDEX IF EXISTS idx_offer_kind_0c9ef8",
    "CREATE INDEX idx_offer_kind_0c9ef8 ON offer (kind, status, starts_at, id)",
    "DROP INDEX IF EXISTS idx_offer_status_73c028",
    "CREATE INDEX idx_offer_status_73c028 ON offer (status, starts_at, id)",
]


async def _run(editor: Any, statements: list[str]) -> None:
    client = editor.client
    if client.capabilities.dialect == "postgres":
        for sql in statements:
            await client.execute_script(sql)


async def _forward(apps: Any, editor: Any) -> None:
    await _run(editor, POSTGRES)


async def _backward(apps: Any, editor: Any) -> None:
    await _run(editor, POSTGRES_BACK)


class Migration(migrations.Migration):
    dependencies = [("models", "0017_regular_rides_apart")]

    initial = False

    operations = [ops.RunPython(_forward, _backward)]
