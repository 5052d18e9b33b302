"""What a limited domain may not reach: search, and the pages of people who do not follow its
authors (Mastodon's "limit", formerly "silence"). Its offers and posts are still received and
kept; those who follow an author there see them as before."""

from __future__ import annotations

from tortoise.expressions import Q, Subquery

from federation.blocks import authority_q, domains_with
from models.actors import LocalActor, RemoteActor
from models.follows import Follow, FollowState
from models.moderation import BlockSeverity


async def followed_by(viewer: LocalActor | None) -> list[str]:
    if viewer is None:
        return []
    targets = await Follow.filter(
        local_follower_id=viewer.id, state=FollowState.ACCEPTED
    ).values_list("target_uri", flat=True)
    return [str(t) for t in targets]


async def hidden_offers(viewer: LocalActor | None = None) -> Q | None:
    """A filter matching the offers of limited domains that ``viewer`` does not follow the
    author of (``query.exclude(...)``); None when no domain is limited."""
    hidden = authority_q("instance_domain", await domains_with(BlockSeverity.LIMIT))
    if hidden is None:
        return None
    followed = await followed_by(viewer)
    return hidden & ~Q(author_uri__in=followed) if followed else hidden


async def hidden_posts(viewer: LocalActor | None = None) -> Q | None:
    """The same for notes: their authors' cached actors are on a limited domain."""
    on_limited = authority_q("domain", await domains_with(BlockSeverity.LIMIT))
    if on_limited is None:
        return None
    authors = RemoteActor.filter(on_limited)
    followed = await followed_by(viewer)
    if followed:
        authors = authors.exclude(ap_id__in=followed)
    return Q(author_uri__in=Subquery(authors.values("ap_id")))
