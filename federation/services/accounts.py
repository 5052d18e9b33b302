"""Local actors' accounts: names checked, keys generated once, profiles, passwords, access."""

from __future__ import annotations

import asyncio
import re

from federation.context import Federation
from federation.services.profiles import send_actor_update
from federation.signatures import generate_rsa_keypair
from models.activities import Activity
from models.actors import ActorKind, LocalActor
from models.errors import Conflict, Gone, Malformed
from models.signups import RequestState, SignupRequest

USERNAME = re.compile(r"^[a-z0-9_]{1,30}$")
RESERVED = frozenset({"directory", "actor", "admin", "api", "inbox", "instance", "root"})


def check_username(username: str) -> str:
    if username in RESERVED:
        raise Malformed(f"reserved username {username!r}", f"The name {username} is reserved")
    if not USERNAME.match(username):
        raise Malformed(
            f"bad username {username!r}",
            "A name is 1 to 30 characters: lowercase letters, digits and _.",
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
    existing = await LocalActor.get_or_none(username=username)
    if existing is not None and existing.deleted_at is not None:
        raise Conflict(
            f"{username} was deleted",
            f"The name {username} belonged to a deleted account and stays reserved",
        )
    if existing is not None or await SignupRequest.exists(
        username=username, state=RequestState.PENDING
    ):  # a pending sign-up reserves its name
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
    check_not_deleted(actor)
    if name is not None:
        actor.name = name
    if summary is not None:
        actor.summary = summary
    if locked is not None:
        actor.locked = locked
    await actor.save()
    return await send_actor_update(fed, actor)


async def ensure_instance_actor(hostname: str, title: str) -> LocalActor:
    """The instance actor, created on first run; its key then never changes."""
    existing = await LocalActor.get_or_none(kind=ActorKind.INSTANCE)
    if existing:
        return existing
    return await create_actor(ActorKind.INSTANCE, hostname, name=title, locked=True)


def check_not_deleted(actor: LocalActor) -> None:
    if actor.deleted_at is not None:
        raise Gone(f"{actor.username} is deleted", f"The account {actor.username} is deleted")


async def set_password(member: LocalActor, password_hash: str) -> None:
    """Replace a member's password (already hashed by the caller)."""
    check_not_deleted(member)
    member.password_hash = password_hash
    await member.save(update_fields=["password_hash", "updated_at"])


async def set_disabled(member: LocalActor, disabled: bool) -> None:
    """A disabled member cannot log in and its API tokens are refused; the actor itself stays
    federated (followers, offers and keys are kept), so enabling it again loses nothing."""
    check_not_deleted(member)
    member.disabled = disabled
    await member.save(update_fields=["disabled", "updated_at"])
