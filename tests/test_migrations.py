"""The committed migrations build the schema on a fresh database of either engine, twice."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.rig.database import fresh_database_url, is_postgres

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = sorted(p.stem for p in (ROOT / "migrations").glob("0*.py"))

SCRIPT = """
import asyncio, sys
from tortoise import Tortoise, connections
from models.db import apply_migrations, open_db, close_db

async def main(url):
    await apply_migrations(url)
    await Tortoise.close_connections()
    await apply_migrations(url)  # a second run finds nothing to do
    await Tortoise.close_connections()
    await open_db(url)
    conn = connections.get("default")
    if url.startswith("sqlite://"):
        _, rows = await conn.execute_query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'")
        indexes = sorted(r["name"] for r in rows)
        _, rows = await conn.execute_query("SELECT name FROM tortoise_migrations")
    else:
        _, rows = await conn.execute_query(
            "SELECT indexname AS name FROM pg_indexes WHERE indexname LIKE 'idx_%'")
        indexes = sorted(r["name"] for r in rows)
        _, rows = await conn.execute_query("SELECT name FROM tortoise_migrations")
    declared = sum(len(m._meta.indexes) for m in Tortoise.apps["models"].values())
    print(len(indexes) - declared, sorted(r["name"] for r in rows))
    await close_db()

asyncio.run(main(sys.argv[1]))
"""


async def test_migrations_apply_on_a_fresh_database() -> None:
    url = await fresh_database_url("migrations")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SCRIPT,
        url,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    missing, applied = out.decode().split(" ", 1)
    assert applied.strip() == str(MIGRATIONS)
    # every Meta.indexes entry exists (queues, follows, key lookups): none silently dropped
    assert int(missing) == 0, (is_postgres(), missing)
