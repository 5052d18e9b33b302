"""The instance side: joining directories, leaving them, and where our offers go to be relayed."""

from __future__ import annotations

from urllib.parse import urlsplit

from activitypub.urls import path_for
from federation.context import Federation
from federation.services.follows import follow, unfollow
from models.actors import ActorKind
from models.errors import Malformed
from models.follows import Follow, FollowState


def directory_actor_url(url: str) -> str:
    """``https://directory.example`` → its directory actor, ``…/directory``."""
    parts = urlsplit(url.strip().rstrip("/"))
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise Malformed(f"not a URL: {url!r}", "Give the directory's address, https://…")
    return f"{parts.scheme}://{parts.netloc}{parts.path or path_for('directory_actor')}"


async def join(fed: Federation, url: str) -> Follow:
    return await follow(fed, await fed.instance_actor(), directory_actor_url(url))


async def leave(fed: Federation, url: str) -> None:
    await unfollow(fed, await fed.instance_actor(), directory_actor_url(url))


async def memberships(fed: Federation) -> list[Follow]:
    """The directories this instance asked to join, with their answer."""
    return await Follow.filter(local_follower=await fed.instance_actor()).order_by("id")


async def joined_inboxes(fed: Federation) -> list[str]:
    """Where this instance sends its public offers for the directories to relay."""
    rows = await Follow.filter(
        local_follower__kind=ActorKind.INSTANCE, state=FollowState.ACCEPTED
    ).prefetch_related("remote_target")
    return sorted({r.remote_target.delivery_inbox for r in rows if r.remote_target})
