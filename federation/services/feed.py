"""Reading posts for the pages: a member's home feed, an account's announcements, the posts
of a hashtag (a thread is ``replies.replies_of``).

The home feed is the posts of the accounts and coops a member follows (accepted follows, local
or remote) and the member's own, newest first, in pages read by keyset (``before`` the last
post shown), so a page costs the same however deep it is. Direct messages are not in it (they
are notifications); followers-only posts are, since the member follows their author. Only
followed authors are in it, so a limited domain's posts reach a member who follows them only.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q

from federation.context import Federation
from federation.services.limited import hidden_posts, of_suspended_members
from federation.services.post_access import OPEN
from models.actors import LocalActor
from models.follows import Follow, FollowState
from models.posts import Post, PostKind, Visibility

PAGE_SIZE = 20
FEED_KINDS = (PostKind.NOTE, PostKind.ANNOUNCEMENT, PostKind.REPLY)
IN_FEEDS = (Visibility.PUBLIC, Visibility.UNLISTED, Visibility.FOLLOWERS)


@dataclass(frozen=True)
class FeedPage:
    posts: list[Post]
    next_before: int | None
    """The ``before`` of the next (older) page; None on the last one."""


async def followed_uris(fed: Federation, member: LocalActor) -> list[str]:
    """The actors ``member`` follows (accepted), local or remote."""
    targets = await Follow.filter(
        local_follower_id=member.id, state=FollowState.ACCEPTED
    ).values_list("target_uri", flat=True)
    return sorted({str(t) for t in targets})


async def home_feed(
    fed: Federation, member: LocalActor, before: int | None = None, limit: int = PAGE_SIZE
) -> FeedPage:
    """One page of ``member``'s home feed, newest first, older than post ``before``."""
    authors = [*await followed_uris(fed, member), fed.urls.actor(member)]
    query = Post.filter(author_uri__in=authors, kind__in=FEED_KINDS, visibility__in=IN_FEEDS)
    suspended = await of_suspended_members()  # hidden even from their followers
    if suspended is not None:
        query = query.exclude(suspended)
    if before is not None:
        pivot = await Post.get_or_none(id=before)
        if pivot is None:  # deleted meanwhile: ids grow with time closely enough
            query = query.filter(id__lt=before)
        else:
            query = query.filter(
                Q(published_at__lt=pivot.published_at)
                | Q(published_at=pivot.published_at, id__lt=pivot.id)
            )
    rows = await query.order_by("-published_at", "-id").limit(limit + 1)
    more = len(rows) > limit
    return FeedPage(rows[:limit], rows[limit - 1].id if more else None)


async def announcements_of(actor: LocalActor, limit: int = PAGE_SIZE) -> list[Post]:
    """An account's announcements, newest first (its page lists them)."""
    return (
        await Post.filter(author_id=actor.id, kind=PostKind.ANNOUNCEMENT, visibility__in=OPEN)
        .order_by("-published_at", "-id")
        .limit(limit)
    )


async def tagged(
    fed: Federation, name: str, limit: int = PAGE_SIZE, viewer: LocalActor | None = None
) -> list[Post]:
    """The public posts kept here that link the hashtag ``name`` the way ours do; a limited
    domain's only for a ``viewer`` who follows their author."""
    href = fed.urls.url("tag", name=name.lower())
    query = Post.filter(content__contains=f'href="{href}"', visibility__in=OPEN)
    hidden = await hidden_posts(viewer)
    if hidden is not None:
        query = query.exclude(hidden)
    return await query.order_by("-published_at", "-id").limit(limit)
