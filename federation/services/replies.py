"""What our offers and posts received: their public replies, favourites and boosts, and the
``replies`` collection servers read.

A reply to an offer or a post of ours is a ``Post`` whose ``in_reply_to`` is its id; only the
public and unlisted ones are listed (on the offer's page, in the collection), as Mastodon lists
a thread. Favourites and boosts are ``Reaction`` rows, counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from tortoise import connections

from activitypub.collections import ordered_collection, ordered_collection_page
from activitypub.notes import excerpt
from activitypub.urls import path_for
from federation.context import Federation
from models.errors import NotFound
from models.offers import Offer
from models.posts import Post, Reaction, ReactionKind, Visibility

OPEN = (Visibility.PUBLIC, Visibility.UNLISTED)
"""Replies anyone may read (listed under the object, in its collection)."""
MAX_LISTED = 200
PAGE_SIZE = 20


@dataclass(frozen=True)
class Target:
    """Something here a note may answer or an activity may react to."""

    uri: str
    author_id: int | None
    """The local author to tell; None for a remote post kept here (part of a thread)."""
    link: str
    """Where a member sees it: the offer's page, the post's."""
    title: str
    """What a notification quotes of it."""
    offer: bool


async def target_of(fed: Federation, uri: str | None, *, ours_only: bool = True) -> Target | None:
    """Our offer or post at ``uri`` (with ``ours_only=False``, also a remote post kept here,
    so that a reply in its thread is kept with it); None for anything else."""
    if not uri:
        return None
    if fed.urls.is_local(uri):
        offer = await Offer.get_or_none(ap_id=uri, local_uuid__not_isnull=True)
        if offer is not None and offer.local_uuid is not None:
            link = path_for("offer", uuid=offer.local_uuid)
            return Target(uri, offer.author_id, link, offer.title, offer=True)
    post = await Post.get_or_none(ap_id=uri)
    if post is None or (ours_only and post.local_uuid is None):
        return None
    title = excerpt(post.content, 100)
    return Target(uri, post.author_id, post.url or post.ap_id, title, offer=False)


async def replies_of(object_uri: str, limit: int = MAX_LISTED) -> list[Post]:
    """The public (and unlisted) replies to ``object_uri``, an offer or a post, oldest first:
    what a page shows under it."""
    query = Post.filter(in_reply_to=object_uri, visibility__in=OPEN)
    return await query.order_by("published_at", "id").limit(limit)


SHOWN = (
    "id",
    "ap_id",
    "local_uuid",
    "url",
    "author_name",
    "author_handle",
    "author_uri",
    "summary",
    "content",
    "language",
    "published_at",
    "attachments",
)
"""What a reply listed under an offer shows (``interactions_view.reply_view``): never its
``document``, the received activity, a few kilobytes of JSON to decode per reply."""


@cache
def _shown_sql(postgres: bool) -> str:
    """``replies_of``'s query reading ``SHOWN``, written once: building it with Tortoise took
    half of its time on every offer's page (most have no reply)."""
    marks = ("$1", "$2", "$3", "$4") if postgres else ("?",) * 4
    columns = ",".join(f'"{name}"' for name in SHOWN)
    return (
        f'SELECT {columns} FROM "{Post._meta.db_table}" WHERE "in_reply_to"={marks[0]}'
        f' AND "visibility" IN ({marks[1]},{marks[2]})'
        f' ORDER BY "published_at" ASC,"id" ASC LIMIT {marks[3]}'
    )


async def shown_replies(object_uri: str, limit: int = MAX_LISTED) -> list[Post]:
    """``replies_of`` reading only the columns ``SHOWN`` (partial rows, never saved)."""
    db = Post._meta.db
    sql = _shown_sql(db.capabilities.dialect == "postgres")
    values = [object_uri, *(v.value for v in OPEN), limit]
    found: list[Post] = await db.executor_class(model=Post, db=db).execute_select(sql, values)
    return found


@dataclass(frozen=True)
class Counts:
    likes: int
    boosts: int
    replies: int


async def reaction_counts(object_uri: str) -> dict[ReactionKind, int]:
    """Favourites and boosts of ``object_uri`` counted in one grouped query; 0 for a kind
    nobody used."""
    conn = connections.get("default")
    mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
    table = Reaction._meta.db_table
    sql = f"SELECT kind, COUNT(*) AS n FROM {table} WHERE object_uri = {mark} GROUP BY kind"
    _, rows = await conn.execute_query(sql, [object_uri])  # SQL written once: no query builder
    counted = {str(row["kind"]): int(row["n"]) for row in rows}
    return {kind: counted.get(kind.value, 0) for kind in ReactionKind}


async def counts_of(object_uri: str) -> Counts:
    reactions = await reaction_counts(object_uri)
    return Counts(
        likes=reactions[ReactionKind.LIKE],
        boosts=reactions[ReactionKind.BOOST],
        replies=await Post.filter(in_reply_to=object_uri, visibility__in=OPEN).count(),
    )


async def replies_collection(
    object_uri: str, collection_id: str, page: int | None
) -> dict[str, Any]:
    """The ``replies`` ``OrderedCollection`` of ``object_uri``: the ids of its public replies,
    oldest first, in pages of ``PAGE_SIZE``. Its first page is embedded, as Mastodon embeds
    it: one fetch shows a thread's first replies."""
    query = Post.filter(in_reply_to=object_uri, visibility__in=OPEN)
    total = await query.count()
    if page is None:
        head = ordered_collection(collection_id, total, None)
        first = await replies_collection(object_uri, collection_id, 1)
        first.pop("@context", None)
        return {**head, "first": first}
    if page < 1:
        raise NotFound(f"page {page}")
    items = (
        await query.order_by("published_at", "id")
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
        .values_list("ap_id", flat=True)
    )
    more = page * PAGE_SIZE < total
    return ordered_collection_page(
        f"{collection_id}?page={page}",
        collection_id,
        [str(i) for i in items],
        f"{collection_id}?page={page + 1}" if more else None,
    )


async def open_local_post(local_uuid: str) -> Post:
    """A public or unlisted post of ours (its replies are public too); any other is a 404."""
    post = await Post.get_or_none(local_uuid=local_uuid[:36])
    if post is None or post.visibility not in OPEN:
        raise NotFound(f"no public post {local_uuid[:100]}", "No such post")
    return post
