"""The per-request parts of the offer and search pages that were made cheaper, each timed
against what it replaced, in one process (no HTTP):

    python bench/render_parts.py [--database-url postgres://…] [-n 2000]

- ``local_time`` and ``money`` cached (``lru_cache``) against Babel itself (``__wrapped__``);
- ``limited.moderated()`` (one UNION query) against the three queries it replaced;
- ``replies.reaction_counts`` (one grouped query) against two ``COUNT(*)``;
- ``replies.shown_replies`` (the columns shown) against ``replies_of`` (whole rows, with each
  reply's ``document``), on an object with 10 replies.

A temporary SQLite file, or a database created on the PostgreSQL server named by
--database-url (``--database-name``, default ``coopub_bench_render``; refused if it exists)
and dropped at the end.
Prints µs of CPU per call.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tortoise import connections  # noqa: E402

from federation.services.limited import moderated  # noqa: E402
from federation.services.replies import reaction_counts, replies_of, shown_replies  # noqa: E402
from instance.forms.display import local_time  # noqa: E402
from instance.number_format import money  # noqa: E402
from models.actors import LocalActor, RemoteActor  # noqa: E402
from models.db import close_db, open_db  # noqa: E402
from models.posts import Post, PostKind, Reaction, ReactionKind, Visibility  # noqa: E402

NOW = datetime.now(UTC)
TARGET = "https://coop.example/offers/1"


def timed(label: str, n: int, call: Callable[[], Any]) -> None:
    start = time.process_time()
    for _ in range(n):
        call()
    print(f"  {label:<52} {1e6 * (time.process_time() - start) / n:8.1f}")


async def atimed(label: str, n: int, call: Callable[[], Awaitable[Any]]) -> None:
    start = time.process_time()
    for _ in range(n):
        await call()
    print(f"  {label:<52} {1e6 * (time.process_time() - start) / n:8.1f}")


async def three_queries() -> None:
    """What ``hidden_offers`` read before ``moderated()``."""
    await RemoteActor.filter(silenced_at__isnull=False).values_list("ap_id", flat=True)
    await LocalActor.filter(silenced_at__isnull=False).values_list("id", flat=True)
    await LocalActor.filter(suspended_at__isnull=False).values_list("id", flat=True)


async def two_counts() -> None:
    """What the offer page counted before ``reaction_counts``."""
    reactions = Reaction.filter(object_uri=TARGET)
    await reactions.filter(kind=ReactionKind.LIKE).count()
    await reactions.filter(kind=ReactionKind.BOOST).count()


async def fill() -> None:
    for n in range(10):
        await Post.create(
            ap_id=f"https://peer.example/notes/{n}",
            author_uri="https://peer.example/u/zoe",
            kind=PostKind.NOTE,
            visibility=Visibility.PUBLIC,
            content="<p>" + "réponse " * 40 + "</p>",
            in_reply_to=TARGET,
            document={"id": f"https://peer.example/notes/{n}", "content": "x" * 3000},
            published_at=NOW + timedelta(minutes=n),
            updated_at=NOW,
        )
    for n in range(30):
        kind = ReactionKind.LIKE if n % 3 else ReactionKind.BOOST
        await Reaction.create(
            ap_id=f"https://peer.example/acts/{n}",
            kind=kind,
            actor_uri=f"https://peer.example/u/{n}",
            object_uri=TARGET,
            created_at=NOW,
        )


async def run(url: str, n: int) -> None:
    await open_db(url, run_migrations=True)
    try:
        await fill()
        assert len(await shown_replies(TARGET)) == len(await replies_of(TARGET)) == 10
        print(f"engine: {connections.get('default').capabilities.dialect}   calls: {n}")
        print(f"  {'part':<52} {'µs CPU':>8}")
        iso = "2026-12-01T08:00:00+00:00"
        timed(
            "local_time, Babel (uncached)",
            n,
            lambda: local_time.__wrapped__(iso, "Europe/Paris", "fr"),
        )
        timed("local_time, cached", n, lambda: local_time(iso, "Europe/Paris", "fr"))
        amount = Decimal(750) / 100
        timed("money, Babel (uncached)", n, lambda: money.__wrapped__(amount, "EUR", "fr"))
        timed("money, cached", n, lambda: money(amount, "EUR", "fr"))
        q = max(n // 4, 50)
        await atimed("moderation: three queries (before)", q, three_queries)
        await atimed("moderation: moderated(), one query", q, moderated)
        await atimed("reactions: two COUNT(*) (before)", q, two_counts)
        await atimed(
            "reactions: reaction_counts, one grouped query", q, lambda: reaction_counts(TARGET)
        )
        await atimed("10 replies: replies_of, whole rows (before)", q, lambda: replies_of(TARGET))
        await atimed("10 replies: shown_replies, columns shown", q, lambda: shown_replies(TARGET))
    finally:
        await close_db()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--database-name", default="coopub_bench_render")
    parser.add_argument("-n", type=int, default=2000)
    args = parser.parse_args()
    if not args.database_url:
        with tempfile.TemporaryDirectory() as tmp:
            await run(f"sqlite://{tmp}/bench.db", args.n)
        return
    import asyncpg  # the PostgreSQL driver the server uses

    admin = await asyncpg.connect(args.database_url)
    name = args.database_name
    if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
        await admin.close()  # a bench never fills (nor drops) another's database
        raise SystemExit(f"database {name} exists: choose another --database-name")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = args.database_url.rsplit("/", 1)[0]
        await run(f"{base}/{name}", args.n)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
