"""Reading local actors for the web layer (which holds no ORM queries of its own)."""

from __future__ import annotations

from dataclasses import dataclass

from federation.context import Federation
from models.actors import ActorKind, LocalActor
from models.errors import NotFound
from models.follows import Follow, FollowState


async def get_local_actor(kind: ActorKind, username: str) -> LocalActor:
    actor = await LocalActor.get_or_none(kind=kind, username=username)
    if actor is None:
        raise NotFound(f"no {kind.value} named {username!r}", "No such account")
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


async def list_actors(kind: ActorKind) -> list[LocalActor]:
    return await LocalActor.filter(kind=kind).order_by("username").prefetch_related("coop")
