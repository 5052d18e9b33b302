"""Reading local actors for the web layer (which holds no ORM queries of its own)."""

from __future__ import annotations

from dataclasses import dataclass

from federation.context import Federation
from models.actors import ActorKind, LocalActor
from models.errors import Gone, NotFound
from models.follows import Follow, FollowState


async def get_local_actor(
    kind: ActorKind, username: str, *, allow_deleted: bool = False
) -> LocalActor:
    """The actor, or NotFound; a deleted one is Gone (410) unless ``allow_deleted``."""
    actor = await LocalActor.get_or_none(kind=kind, username=username)
    if actor is None:
        raise NotFound(f"no {kind.value} named {username!r}", "No such account")
    if actor.deleted_at is not None and not allow_deleted:
        raise Gone(f"{kind.value} {username!r} is deleted", "This account has been deleted")
    return actor


@dataclass(frozen=True)
class ActorCounts:
    followers: int
    following: int


async def actor_counts(fed: Federation, actor: LocalActor) -> ActorCounts:
    uri = fed.urls.actor(actor)
    return ActorCounts(
        followers=await Follow.filter(target_uri=uri, state=FollowState.ACCEPTED).count(),
        following=await Follow.filter(follower_uri=uri, state=FollowState.ACCEPTED).count(),
    )


async def list_actors(kind: ActorKind, *, include_deleted: bool = False) -> list[LocalActor]:
    query = LocalActor.filter(kind=kind)
    if not include_deleted:
        query = query.filter(deleted_at=None)
    return await query.order_by("username").prefetch_related("coop")
