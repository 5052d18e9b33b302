"""The per-request parts of the offer and search pages that were made cheaper, each timed
against what it replaced, in one process (no HTTP):

    python bench/render_parts.py [--database-url postgres://…] [-n 2000]

- ``local_time`` and ``money`` cached (``lru_cache``) against Babel itself (``__wrapped__``);
- ``limited.moderated()`` (one UNION query) against the three queries it replaced;
- ``replies.reaction_counts`` (one grouped query) against two ``COUNT(*)``;
- ``replies.shown_replies`` (the columns shown) against ``replies_of`` (whole rows, with each
  reply's ``document``), on an object with 10 replies, and its statement written once against
  the same query built by Tortoise on every call, on an object with none (most offers);
- a search result's labels: the helpers (``kind_label``…, one call each) against
  ``list_labels`` (dictionary look-ups), and its link: ``path_for(…, query=…)`` against the
  templates' ``path_for``;
- the home page's coops: ``list_actors`` (whole actors) against the two columns shown.

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

from jinja2.runtime import Context  # noqa: E402
from tortoise import connections  # noqa: E402

from activitypub.urls import path_for  # noqa: E402
from federation.services.accounts import create_actor  # noqa: E402
from federation.services.limited import moderated  # noqa: E402
from federation.services.local import list_actors  # noqa: E402
from federation.services.replies import (  # noqa: E402
    OPEN,
    SHOWN,
    reaction_counts,
    replies_of,
    shown_replies,
)
from instance.forms.display import (  # noqa: E402
    kind_label,
    local_time,
    purpose_label,
    status_label,
    vehicle_label,
)
from instance.i18n import translations  # noqa: E402
from instance.number_format import money  # noqa: E402
from instance.templating import _path_for, env, list_labels  # noqa: E402
from models.actors import ActorKind, LocalActor, RemoteActor  # noqa: E402
from models.db import close_db, open_db  # noqa: E402
from models.posts import Post, PostKind, Reaction, ReactionKind, Visibility  # noqa: E402

NOW = datetime.now(UTC)
TARGET = "https://coop.example/offers/1"
NONE = "https://coop.example/offers/2"
"""An offer nobody answered."""
ASK = {"offer": "https://peer.example/objects/6f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f"}


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


async def built_replies() -> list[Post]:
    """What ``shown_replies`` ran before: the same query, built by Tortoise on every call."""
    query = Post.filter(in_reply_to=NONE, visibility__in=OPEN).only(*SHOWN)
    return await query.order_by("published_at", "id").limit(200)


async def coops_before() -> list[tuple[str, str]]:
    """What the home page read before: whole actors (``list_actors``)."""
    return [(c.name or c.username, c.username) for c in await list_actors(ActorKind.COOP)]


async def coops_now() -> list[tuple[str, str]]:
    rows = (
        await LocalActor.filter(kind=ActorKind.COOP, deleted_at=None)
        .order_by("username")
        .values_list("name", "username")
    )
    return [(name or username, username) for name, username in rows]


def labels_by_helpers(ctx: Context) -> list[str]:
    """One result's labels as the search page made them before: a helper call each."""
    return [
        kind_label(ctx, "delivery_job"),
        purpose_label(ctx, "delivery_job", "offer", True),
        status_label(ctx, "full"),
        vehicle_label(ctx, "cargo_bike"),
    ]


def labels_looked_up(lang: str) -> list[str]:
    labels = list_labels(lang)
    return [
        labels.kind["delivery_job"],
        labels.short_purpose["offer"],
        labels.status["full"],
        labels.vehicle["cargo_bike"],
    ]


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
    for name in ("velos", "toits", "jardins"):
        await create_actor(ActorKind.COOP, name)


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
        assert await built_replies() == await shown_replies(NONE) == []
        await atimed("no reply: the query built by Tortoise (before)", q, built_replies)
        await atimed(
            "no reply: shown_replies, statement written once", q, lambda: shown_replies(NONE)
        )
        assert await coops_before() == await coops_now()
        await atimed("home: coops, list_actors (before)", q, coops_before)
        await atimed("home: coops, the two columns shown", q, coops_now)
        ctx = Context(env, {"_": translations("fr").gettext, "lang": "fr"}, "bench", {})
        assert labels_by_helpers(ctx) == labels_looked_up("fr")
        timed("a result's 4 labels, helpers (before)", n, lambda: labels_by_helpers(ctx))
        timed("a result's 4 labels, list_labels", n, lambda: labels_looked_up("fr"))
        assert path_for("new_booking", query=ASK) == _path_for("new_booking", query=ASK)
        timed("a result's link, path_for (before)", n, lambda: path_for("new_booking", query=ASK))
        timed(
            "a result's link, the templates' path_for",
            n,
            lambda: _path_for("new_booking", query=ASK),
        )
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
