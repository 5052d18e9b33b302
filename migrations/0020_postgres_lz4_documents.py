"""PostgreSQL compresses the JSON documents with LZ4 instead of its own pglz (from 14 on).

An offer's AS2 document is 5–7 KB: past 2 KB PostgreSQL compresses it, on every write, with
pglz by default. Every received offer is written twice (its inbox row's payload, then the
offer's document), and pglz cost some 100 µs a row where LZ4 costs 70 (5,000 offers' JSON
measured here), for files a third larger. Only the compression of values written from now on
changes: nothing is rewritten, the migration is instant. Skipped on a server built without LZ4
(``default_toast_compression`` then offers pglz alone); nothing changes on SQLite.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

COLUMNS = (
    ("inbox_item", "payload"),
    ("offer", "document"),
    ("activity", "payload"),
    ("post", "document"),
)
"""The JSON columns that hold whole AS2 documents, written for every activity received or
sent."""

LZ4_BUILT = (
    "SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings"
    " WHERE name = 'default_toast_compression'"
)


async def _compress(editor: Any, method: str) -> None:
    client = editor.client
    if client.capabilities.dialect != "postgres":
        return
    _, rows = await client.execute_query(LZ4_BUILT)
    if not rows or not rows[0]["lz4"]:
        return
    for table, column in COLUMNS:
        await client.execute_script(
            f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION {method}'
        )


async def _forward(apps: Any, editor: Any) -> None:
    await _compress(editor, "lz4")


async def _backward(apps: Any, editor: Any) -> None:
    await _compress(editor, "default")


class Migration(migrations.Migration):
    dependencies = [("models", "0019_sqlite_covering_walks")]

    initial = False

    operations = [ops.RunPython(_forward, _backward)]
