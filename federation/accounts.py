"""Creating local actors: names checked, keys generated once."""

from __future__ import annotations

import asyncio
import re

from activitypub.convert import actor_to_as, update_actor
from federation.context import Federation
from federation.delivery import follower_inboxes, publish
from federation.signatures import generate_rsa_keypair
from models.activities import Activity
from models.actors import ActorKind, LocalActor
from models.errors import Conflict, Malformed

USERNAME = re.compile(r"^[a-z0-9_]{1,30}$")
RESERVED = frozenset({"directory", "actor", "admin", "api", "inbox", "instance", "root"})


def check_username(username: str) -> str:
    if username in RESERVED:
        raise Malformed(f"reserved username {username!r}", f"The name {username} is reserved")
    if not USERNAME.match(username):
        raise Malformed(
            f"bad username {username!r}",
            "A name is 1 to 30 characters: lowercase letters, digits and _",
        )
    return username


async def create_actor(
    kind: ActorKind,
    username: str,
    *,
    name: str = "",
    summary: str = "",
    locked: bool = False,
    coop: LocalActor | None = None,
    email: str | None = None,
    password_hash: str | None = None,
) -> LocalActor:
    if kind not in (ActorKind.INSTANCE, ActorKind.DIRECTORY):
        check_username(username)
    if await LocalActor.exists(username=username):
        raise Conflict(f"{username} exists", f"The name {username} is already taken")
    private_pem, public_pem = await asyncio.to_thread(generate_rsa_keypair)
    return await LocalActor.create(
        kind=kind,
        username=username,
        name=name,
        summary=summary,
        locked=locked,
        coop=coop,
        email=email,
        password_hash=password_hash,
        private_key_pem=private_pem,
        public_key_pem=public_pem,
    )


async def update_profile(
    fed: Federation,
    actor: LocalActor,
    *,
    name: str | None = None,
    summary: str | None = None,
    locked: bool | None = None,
) -> Activity:
    """Change an actor's profile and send ``Update`` to its followers (shared inboxes first)."""
    if name is not None:
        actor.name = name
    if summary is not None:
        actor.summary = summary
    if locked is not None:
        actor.locked = locked
    await actor.save()
    update = update_actor(fed.urls.new_activity_id(), actor_to_as(actor, fed.urls))
    return await publish(fed, actor, update, await follower_inboxes(fed, actor))


async def ensure_instance_actor(hostname: str, title: str) -> LocalActor:
    """The instance actor, created on first run; its key then never changes."""
    existing = await LocalActor.get_or_none(kind=ActorKind.INSTANCE)
    if existing:
        return existing
    return await create_actor(ActorKind.INSTANCE, hostname, name=title, locked=True)
