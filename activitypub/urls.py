"""Where each local object lives. Ids are derived from the configured base URL and never change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from models.actors import ActorKind, LocalActor
from models.errors import Malformed

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})

DIRECTORY_USERNAME = "directory"
_PREFIX = {ActorKind.COOP: "/c/", ActorKind.MEMBER: "/u/"}


@dataclass(frozen=True)
class Urls:
    base: str
    """Scheme and authority, e.g. ``https://velos.example`` (no trailing slash)."""

    @property
    def domain(self) -> str:
        return urlsplit(self.base).netloc

    @property
    def hostname(self) -> str:
        return urlsplit(self.base).hostname or self.domain

    def actor(self, actor: LocalActor) -> str:
        return self.actor_for(actor.kind, actor.username)

    def actor_for(self, kind: ActorKind, username: str) -> str:
        if kind == ActorKind.INSTANCE:
            return f"{self.base}/actor"
        if kind == ActorKind.DIRECTORY:
            return f"{self.base}/directory"
        return f"{self.base}{_PREFIX[kind]}{username}"

    def key_id(self, actor: LocalActor) -> str:
        return f"{self.actor(actor)}#main-key"

    def inbox(self, actor: LocalActor) -> str:
        return f"{self.actor(actor)}/inbox"

    def outbox(self, actor: LocalActor) -> str:
        return f"{self.actor(actor)}/outbox"

    def followers(self, actor: LocalActor) -> str:
        return f"{self.actor(actor)}/followers"

    def following(self, actor: LocalActor) -> str:
        return f"{self.actor(actor)}/following"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    def new_activity_id(self) -> str:
        return f"{self.base}/activities/{uuid.uuid4()}"

    def activity(self, activity_uuid: str) -> str:
        return f"{self.base}/activities/{activity_uuid}"

    def is_local(self, uri: str) -> bool:
        try:
            return urlsplit(uri).netloc.lower() == self.domain.lower()
        except ValueError:
            return False

    def parse_actor(self, uri: str) -> tuple[ActorKind, str] | None:
        """``https://d/c/velos`` → ``(COOP, "velos")``; None when it is not a local actor id."""
        try:
            parts = urlsplit(uri)
        except ValueError:
            return None
        if parts.netloc.lower() != self.domain.lower() or parts.query or parts.fragment:
            return None
        if parts.path == "/actor":
            return ActorKind.INSTANCE, self.hostname
        if parts.path == "/directory":
            return ActorKind.DIRECTORY, DIRECTORY_USERNAME
        for kind, prefix in _PREFIX.items():
            if parts.path.startswith(prefix):
                name = parts.path[len(prefix) :]
                if name and "/" not in name:
                    return kind, name
        return None


def host_of(uri: str) -> str:
    """The authority (host[:port]) of an absolute URI, lowercased; Malformed if unparseable."""
    try:
        return urlsplit(uri).netloc.lower()
    except ValueError as exc:  # e.g. "https://[oops": an unclosed IPv6 bracket
        raise Malformed(f"unparseable URI {uri!r}") from exc
