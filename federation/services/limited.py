"""What a limited domain or a silenced account may not reach: search, hashtag pages and the
pages of people who do not follow its authors (Mastodon's "limit", formerly "silence"). Its
offers and posts are still received and kept; those who follow an author there see them as
before. A suspended member's offers and posts reach nobody (their pages answer 404).

A moderator's silence of one account (``LocalActor.silenced_at``, ``RemoteActor.silenced_at``)
goes through the same filters as a limited domain: ``hidden_offers`` and ``hidden_posts``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from tortoise import connections
from tortoise.expressions import Q, Subquery

from federation.blocks import authority_q, domains_with
from models.actors import LocalActor, RemoteActor
from models.errors import NotFound
from models.follows import Follow, FollowState
from models.moderation import BlockSeverity
from models.offers import Offer


async def followed_by(viewer: LocalActor | None) -> list[str]:
    if viewer is None:
        return []
    targets = await Follow.filter(
        local_follower_id=viewer.id, state=FollowState.ACCEPTED
    ).values_list("target_uri", flat=True)
    return [str(t) for t in targets]


async def _silenced_remote() -> list[str]:
    found = await RemoteActor.filter(silenced_at__isnull=False).values_list("ap_id", flat=True)
    return [str(u) for u in found]


async def _local_ids(**flag: bool) -> list[int]:
    return cast(list[int], await LocalActor.filter(**flag).values_list("id", flat=True))


def _by_members(ids: list[int]) -> Q | None:
    """Rows written by these members. ``author_id`` is NULL on remote copies, and ``NOT (NULL
    IN (…))`` is NULL, which an ``exclude`` would drop: the NOT NULL test keeps them."""
    return Q(author_id__in=ids, author_id__isnull=False) if ids else None


async def of_suspended_members() -> Q | None:
    """Offers or posts written by members suspended here, hidden from everyone (a filter for
    ``exclude``); None when nobody is suspended."""
    return _by_members(await _local_ids(suspended_at__isnull=False))


async def check_author_shown(offer: Offer) -> None:
    """``NotFound`` for an offer of a member suspended here (its page answers 404)."""
    if offer.author_id is None:
        return
    conn = connections.get("default")  # on every offer page: SQL written once
    mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
    sql = f"SELECT 1 FROM local_actor WHERE id = {mark} AND suspended_at IS NOT NULL"
    _, rows = await conn.execute_query(sql, [offer.author_id])
    if rows:
        raise NotFound(f"offer {offer.ap_id} of a suspended member", "No such offer")


def _any(parts: list[Q | None]) -> Q | None:
    kept = [p for p in parts if p is not None]
    return Q(*kept, join_type="OR") if kept else None


@dataclass(frozen=True)
class Moderated:
    """The accounts a search hides: remote ones silenced, members silenced or suspended."""

    silenced_remote: list[str]
    silenced_local: list[int]
    suspended_local: list[int]


_MODERATED_SQL = (
    "SELECT ap_id AS uri, NULL AS member, 1 AS silenced, 0 AS suspended FROM remote_actor"
    " WHERE silenced_at IS NOT NULL"
    " UNION ALL"
    " SELECT NULL, id, CASE WHEN silenced_at IS NULL THEN 0 ELSE 1 END,"
    " CASE WHEN suspended_at IS NULL THEN 0 ELSE 1 END FROM local_actor"
    " WHERE silenced_at IS NOT NULL OR suspended_at IS NOT NULL"
)


async def moderated() -> Moderated:
    """Silenced and suspended accounts in one query (a search made three): read on every
    search, never cached, so that a silence or a suspension applies at once in every
    process."""
    _, rows = await connections.get("default").execute_query(_MODERATED_SQL)
    remote: list[str] = []
    silenced: list[int] = []
    suspended: list[int] = []
    for row in rows:
        if row["member"] is None:
            remote.append(str(row["uri"]))
            continue
        if row["silenced"]:
            silenced.append(int(row["member"]))
        if row["suspended"]:
            suspended.append(int(row["member"]))
    return Moderated(remote, silenced, suspended)


async def hidden_offers(viewer: LocalActor | None = None) -> Q | None:
    """A filter matching the offers ``viewer`` may not find (``query.exclude(...)``): those of
    limited domains and silenced accounts whose author ``viewer`` does not follow, and those of
    suspended members; None when there are none."""
    found = await moderated()
    limited = _any(
        [
            authority_q("instance_domain", await domains_with(BlockSeverity.LIMIT)),
            Q(author_uri__in=found.silenced_remote) if found.silenced_remote else None,
            _by_members(found.silenced_local),
        ]
    )
    if limited is not None:
        followed = await followed_by(viewer)
        if followed:
            limited = limited & ~Q(author_uri__in=followed)
    return _any([limited, _by_members(found.suspended_local)])


async def hidden_posts(viewer: LocalActor | None = None) -> Q | None:
    """The same for notes: their authors' cached actors are on a limited domain or silenced;
    or their authors are members silenced (unless followed) or suspended here."""
    on_limited = authority_q("domain", await domains_with(BlockSeverity.LIMIT))
    silenced = Q(silenced_at__isnull=False)
    remote_q = silenced if on_limited is None else on_limited | silenced
    followed = await followed_by(viewer)
    authors = RemoteActor.filter(remote_q)
    if followed:
        authors = authors.exclude(ap_id__in=followed)
    limited: Q | None = None
    if await authors.exists():
        limited = Q(author_uri__in=Subquery(authors.values("ap_id")))
    silenced_local = await _local_ids(silenced_at__isnull=False)
    local = _by_members(silenced_local)
    if local is not None:
        limited = _any([limited, local & ~Q(author_uri__in=followed) if followed else local])
    return _any([limited, await of_suspended_members()])
