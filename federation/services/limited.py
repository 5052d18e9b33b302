"""What a limited domain or a silenced account may not reach: search, hashtag pages and the
pages of people who do not follow its authors (Mastodon's "limit", formerly "silence"). Its
offers and posts are still received and kept; those who follow an author there see them as
before. A suspended member's offers and posts reach nobody (their pages answer 404).

A moderator's silence of one account (``LocalActor.silenced_at``, ``RemoteActor.silenced_at``)
goes through the same filters as a limited domain: ``hidden_offers`` and ``hidden_posts``."""

from __future__ import annotations

from typing import cast

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
    if offer.author_id is not None and await LocalActor.exists(
        id=offer.author_id, suspended_at__isnull=False
    ):
        raise NotFound(f"offer {offer.ap_id} of a suspended member", "No such offer")


def _any(parts: list[Q | None]) -> Q | None:
    kept = [p for p in parts if p is not None]
    return Q(*kept, join_type="OR") if kept else None


async def hidden_offers(viewer: LocalActor | None = None) -> Q | None:
    """A filter matching the offers ``viewer`` may not find (``query.exclude(...)``): those of
    limited domains and silenced accounts whose author ``viewer`` does not follow, and those of
    suspended members; None when there are none."""
    silenced_remote = await _silenced_remote()
    silenced_local = await _local_ids(silenced_at__isnull=False)
    limited = _any(
        [
            authority_q("instance_domain", await domains_with(BlockSeverity.LIMIT)),
            Q(author_uri__in=silenced_remote) if silenced_remote else None,
            _by_members(silenced_local),
        ]
    )
    if limited is not None:
        followed = await followed_by(viewer)
        if followed:
            limited = limited & ~Q(author_uri__in=followed)
    return _any([limited, await of_suspended_members()])


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
