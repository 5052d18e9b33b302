"""The durability and locking settings every connection gets (``models/db.py``)."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints (no py.typed)
import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from models.activities import InboxItem
from tests.rig.database import is_postgres
from tests.skips import POSTGRES_CHECK


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


async def test_a_released_connection_is_not_reset_with_a_round_trip(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: a statement outside a transaction gives its pooled connection back without
    asyncpg's reset query (``RESET ALL`` and three more, a round trip after every statement);
    a transaction still commits, and what it wrote is read by the next statement."""
    if not is_postgres():
        pytest.skip(POSTGRES_CHECK)
    sent: list[str] = []
    execute = asyncpg.Connection.execute

    async def recorded(self: asyncpg.Connection, query: str, *args: object, **kw: object) -> str:
        sent.append(query)
        return await execute(self, query, *args, **kw)

    monkeypatch.setattr(asyncpg.Connection, "execute", recorded)
    conn = connections.get("default")
    for _ in range(3):
        await conn.execute_query("SELECT 1")
    _, rows = await conn.execute_query("SHOW statement_timeout")
    default = rows[0]["statement_timeout"]
    with pytest.raises(ZeroDivisionError):
        async with in_transaction() as tx:
            await tx.execute_query("SET LOCAL statement_timeout = 1234")
            raise ZeroDivisionError
    _, rows = await conn.execute_query("SHOW statement_timeout")
    assert rows[0]["statement_timeout"] == default != "1234ms"  # the transaction's went
    assert sent  # the rollback went through execute: the recorder sees what is sent
    assert not [query for query in sent if "RESET ALL" in query or "UNLISTEN" in query]


@pytest.mark.skipif(not is_postgres(), reason=POSTGRES_CHECK)
async def test_documents_are_compressed_with_lz4(db: None) -> None:
    """Migration 0020: the columns holding whole AS2 documents are compressed with LZ4 (cheaper
    to write than pglz), and a stored document over 2 KB is."""
    conn = connections.get("default")
    lz4_built = importlib.import_module("migrations.0020_postgres_lz4_documents").LZ4_BUILT
    _, built = await conn.execute_query(lz4_built)
    method = "l" if built and built[0]["lz4"] else ""  # a server without LZ4: left as it was
    _, rows = await conn.execute_query(
        "SELECT attrelid::regclass::text AS rel, attname, attcompression::text AS attcompression"
        " FROM pg_attribute"
        " WHERE (attrelid::regclass::text, attname) IN (('inbox_item', 'payload'),"
        " ('offer', 'document'), ('activity', 'payload'), ('post', 'document'))"
    )
    assert {(r["rel"], r["attname"]): r["attcompression"] for r in rows} == {
        ("inbox_item", "payload"): method,
        ("offer", "document"): method,
        ("activity", "payload"): method,
        ("post", "document"): method,
    }
    payload = {"type": "Create", "content": " ".join(f"word{n}" for n in range(2000))}
    await InboxItem.create(
        activity_id="https://x.example/a/1",
        actor_uri="https://x.example/u/a",
        type="Create",
        payload=payload,
        next_attempt_at=datetime.now(UTC),
    )
    _, rows = await conn.execute_query(
        "SELECT pg_column_compression(payload) AS method FROM inbox_item"
    )
    assert rows[0]["method"] == ("lz4" if method else "pglz")
    assert (await InboxItem.get(activity_id="https://x.example/a/1")).payload == payload
