"""A number that changes whenever anything is written to the database, by any process.

It lets a web process keep a page while nothing it was built from can have changed
(``instance/page_cache.py``), without knowing which tables a page reads: any write anywhere
counts, so it can only be too careful.

- SQLite: ``PRAGMA data_version`` changes when another connection (the other web and worker
  processes, the CLI) commits; ``total_changes()`` counts this connection's own writes (a
  process has one connection).
- PostgreSQL: the current snapshot (``xmin:xmax:xip_list``), which says which writing
  transactions have ended. Only a transaction that writes is given an id (reads never are), so
  it changes when a write commits or rolls back, on any connection of the server (other
  databases' included). ``xmax`` alone would not do: a write that ends after a later one
  leaves ``xmax`` where the later one put it, and only the in-progress list shows it ended.
"""

from __future__ import annotations

from tortoise import connections

SQLITE = "SELECT total_changes() AS own, data_version AS others FROM pragma_data_version()"
POSTGRES = "SELECT pg_current_snapshot()::text AS snapshot"


async def data_version() -> str:
    """Read it before reading what is kept: a write in between changes it again."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        _, rows = await conn.execute_query(SQLITE)
        return f"{rows[0]['own']}:{rows[0]['others']}"
    _, rows = await conn.execute_query(POSTGRES)
    return str(rows[0]["snapshot"])
