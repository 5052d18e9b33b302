"""The directory actor: the ``Service`` that instances follow to be listed."""

from __future__ import annotations

from activitypub.urls import DIRECTORY_USERNAME
from federation.services.accounts import create_actor
from models.actors import ActorKind, LocalActor
from models.errors import NotFound


async def ensure_directory_actor(name: str, description: str) -> LocalActor:
    existing = await LocalActor.get_or_none(kind=ActorKind.DIRECTORY)
    if existing:
        return existing
    return await create_actor(
        ActorKind.DIRECTORY,
        DIRECTORY_USERNAME,
        name=name or "Directory",
        summary=description,
        locked=True,
    )


async def directory_actor() -> LocalActor:
    actor = await LocalActor.get_or_none(kind=ActorKind.DIRECTORY)
    if actor is None:
        raise NotFound("directory mode is off", "This instance runs no directory")
    return actor
