"""The durability and locking settings every connection gets (``models/db.py``)."""

from __future__ import annotations

from tortoise import connections

from tests.rig.database import is_postgres


async def test_connection_settings(db: None) -> None:
    """SQLite: WAL with ``synchronous = NORMAL`` (1; a commit does not wait for the disk, a
    power cut may lose the last transactions, never corrupt the file), a 10 s busy timeout,
    foreign keys enforced, 64 MiB of page cache. PostgreSQL keeps its durable commits, and
    compiles no statement (``jit = off``: compiling a dense walk cost 10 ms of 15)."""
    conn = connections.get("default")
    if is_postgres():
        _, rows = await conn.execute_query("SHOW synchronous_commit")
        assert rows[0]["synchronous_commit"] == "on"
        _, rows = await conn.execute_query("SHOW jit")
        assert rows[0]["jit"] == "off"
        return
    settings = {}
    for pragma in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys", "cache_size"):
        _, rows = await conn.execute_query(f"PRAGMA {pragma}")
        settings[pragma] = rows[0][0]
    assert settings == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": 10_000,
        "foreign_keys": 1,
        "cache_size": -65536,
    }
