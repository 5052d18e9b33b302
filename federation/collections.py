"""Outbox, followers and following as paged ``OrderedCollection``s (newest first), and the
walk through a remote collection's pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from tortoise.queryset import QuerySet

from activitypub.collections import (
    RemoteCollection,
    RemotePage,
    ordered_collection,
    ordered_collection_page,
)
from activitypub.urls import host_of
from federation.context import Federation
from models.activities import Activity
from models.actors import LocalActor
from models.errors import NotFound
from models.follows import Follow, FollowState

PAGE_SIZE = 20
MAX_REMOTE_PAGES = 50
"""A remote collection is read for at most this many pages (a loop of links ends sooner)."""


async def _paged(
    collection_id: str, query: QuerySet[Any], field: str, page: int | None
) -> dict[str, Any]:
    total = await query.count()
    if page is None:
        return ordered_collection(collection_id, total, f"{collection_id}?page=1")
    if page < 1:
        raise NotFound(f"page {page}")
    items = (
        await query.order_by("-id")
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
        .values_list(field, flat=True)
    )
    more = page * PAGE_SIZE < total
    return ordered_collection_page(
        f"{collection_id}?page={page}",
        collection_id,
        list(items),
        f"{collection_id}?page={page + 1}" if more else None,
    )


async def followers(fed: Federation, actor: LocalActor, page: int | None) -> dict[str, Any]:
    query = Follow.filter(target_uri=fed.urls.actor(actor), state=FollowState.ACCEPTED)
    return await _paged(fed.urls.followers(actor), query, "follower_uri", page)


async def following(fed: Federation, actor: LocalActor, page: int | None) -> dict[str, Any]:
    query = Follow.filter(follower_uri=fed.urls.actor(actor), state=FollowState.ACCEPTED)
    return await _paged(fed.urls.following(actor), query, "target_uri", page)


async def outbox(fed: Federation, actor: LocalActor, page: int | None) -> dict[str, Any]:
    """Public activities only; follows and their answers are not listed."""
    query = Activity.filter(actor=actor, public=True)
    return await _paged(fed.urls.outbox(actor), query, "payload", page)


async def public_activity(ap_id: str) -> dict[str, Any]:
    activity = await Activity.get_or_none(ap_id=ap_id)
    if activity is None:
        raise NotFound(ap_id)
    if not activity.public:
        raise NotFound(f"{ap_id} is not public")
    payload: dict[str, Any] = activity.payload
    return payload


async def remote_pages(fed: Federation, url: str, *, host: str) -> AsyncIterator[RemotePage]:
    """The pages of a remote collection, first to last, fetched signed by the instance actor.

    A page is followed only on ``host`` (the collection owner's), and never twice; a document
    that is not a collection or a page raises ``Malformed`` (the caller decides what it costs).
    """
    signer = await fed.instance_signer()
    _, raw = await fed.http.get_json(url, signer=signer)
    ref = RemoteCollection.parse(raw).first
    visited: set[str] = set()
    for _ in range(MAX_REMOTE_PAGES):
        if ref is None:
            return
        if isinstance(ref, str):
            if host_of(ref) != host or ref in visited:
                return
            visited.add(ref)
            _, raw = await fed.http.get_json(ref, signer=signer)
            ref = raw
        page = RemotePage.parse(ref)
        yield page
        ref = page.next
