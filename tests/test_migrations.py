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


async def run_script(script: str, *args: str) -> bytes:
    """Run ``script`` in a Python of its own (Tortoise's state stays out of this session); its
    standard output, once it exited 0."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out


async def test_migrations_apply_on_a_fresh_database() -> None:
    url = await fresh_database_url("migrations")
    out = await run_script(SCRIPT, url)
    missing, applied = out.decode().split(" ", 1)
    assert applied.strip() == str(MIGRATIONS)
    # every Meta.indexes entry exists (queues, follows, key lookups): none silently dropped
    assert int(missing) == 0, (is_postgres(), missing)


UPGRADE_SCRIPT = """
import asyncio, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from models.db import tortoise_config

async def main(url, first):
    await migrate(config=tortoise_config(url), target=f"models.{first}")
    await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    conn = connections.get("default")
    now = "2026-01-01 00:00:00+00:00"
    await conn.execute_query(
        "INSERT INTO local_actor (id, kind, username, name, summary, locked, private_key_pem,"
        " public_key_pem, created_at, updated_at) VALUES (1, 'coop', 'velos', '', '', false,"
        " 'k', 'k', '" + now + "', '" + now + "')")
    await conn.execute_query(
        "INSERT INTO follow (ap_id, follower_uri, target_uri, local_target_id, state, created_at,"
        " updated_at) VALUES ('https://x.example/f/1', 'https://x.example/u/z',"
        " 'https://coop.test/c/velos', 1, 'accepted', '" + now + "', '" + now + "')")
    await Tortoise.close_connections()
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    conn = connections.get("default")
    _, actors = await conn.execute_query("SELECT COUNT(*) AS n FROM local_actor")
    _, follows = await conn.execute_query("SELECT COUNT(*) AS n FROM follow")
    print(actors[0]["n"], follows[0]["n"])
    await Tortoise.close_connections()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_upgrading_keeps_stored_rows() -> None:
    """Every later migration runs over a database that already holds actors and follows."""
    url = await fresh_database_url("upgrade")
    out = await run_script(UPGRADE_SCRIPT, url, MIGRATIONS[0])
    assert out.decode().split() == ["1", "1"]


EVENTS_SCRIPT = """
import asyncio, sys
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from models.db import tortoise_config

async def main(url):
    await migrate(config=tortoise_config(url), target="models.0010_calendar_feeds")
    await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    conn = connections.get("default")
    now = "2026-01-01 00:00:00+00:00"
    await conn.execute_query(
        "INSERT INTO local_actor (id, kind, username, name, summary, locked, private_key_pem,"
        " public_key_pem, created_at, updated_at) VALUES (1, 'member', 'alice', '', '', false,"
        " 'k', 'k', '" + now + "', '" + now + "')")
    for n, key in enumerate(["booking.accepted:1:https://x.example/b/1",
                             "follow.request:1:https://x.example/f/1", "like:1:https://x.example/l"]):
        await conn.execute_query(
            "INSERT INTO notification (recipient_id, kind, actor_uri, actor_name, object_uri, link,"
            " text, dedupe_key, created_at) VALUES (1, '" + key.split(".")[0].split(":")[0] + "',"
            " 'https://x.example/u/z', '', '', '', '', '" + key + "', '" + now + "')")
    await Tortoise.close_connections()
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    conn = connections.get("default")
    _, rows = await conn.execute_query("SELECT kind, event FROM notification ORDER BY id")
    print(" ".join(r["kind"] + "=" + (r["event"] or "-") for r in rows))
    await Tortoise.close_connections()

asyncio.run(main(sys.argv[1]))
"""


async def test_0011_gives_earlier_notifications_their_event() -> None:
    """The event, until then only inside ``dedupe_key``, fills the new column."""
    url = await fresh_database_url("events")
    out = await run_script(EVENTS_SCRIPT, url)
    assert out.decode().split() == ["booking=accepted", "follow=request", "like=-"]
