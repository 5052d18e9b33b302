"""The per-process federation context: settings, URLs, the HTTP client and the worker wake-up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from activitypub.apobject import APObject
from activitypub.urls import Urls
from federation.blocks import refuse_outgoing
from federation.http import FederationHttp, Signer
from federation.inbox_writes import InboxWrites
from federation.settings import DirectorySettings, FederationSettings, RetentionSettings
from models.actors import ActorKind, LocalActor, RemoteActor
from models.errors import NotFound

Handler = Callable[["Federation", APObject, RemoteActor], Awaitable[None]]
"""Processes one verified incoming activity of a given type (signer = its actor)."""


@dataclass(frozen=True)
class SiteInfo:
    """What NodeInfo and the pages say about this instance."""

    title: str
    description: str
    languages: tuple[str, ...]
    open_registrations: bool = False


@dataclass
class Federation:
    settings: FederationSettings
    urls: Urls
    site: SiteInfo
    http: FederationHttp
    directory: DirectorySettings = field(default_factory=DirectorySettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    """Inbox handlers by activity type, registered from above (federation/services/handlers.py):
    the protocol layer dispatches without knowing any service."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when work is queued, so in-process workers start at once instead of at the next poll."""
    inbox_writes: InboxWrites = field(default_factory=InboxWrites)
    """The inbox rows of concurrent POSTs, written together (``federation/inbox_writes.py``)."""

    @classmethod
    def create(
        cls,
        settings: FederationSettings,
        base_url: str,
        site: SiteInfo,
        directory: DirectorySettings | None = None,
        retention: RetentionSettings | None = None,
        handlers: Mapping[str, Handler] | None = None,
    ) -> Federation:
        http = FederationHttp(settings, base_url, guard=refuse_outgoing)
        return cls(
            settings,
            Urls(base_url),
            site,
            http,
            directory or DirectorySettings(),
            retention or RetentionSettings(),
            dict(handlers or {}),
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    def signer_for(self, actor: LocalActor) -> Signer:
        return Signer(self.urls.key_id(actor), actor.private_key_pem)

    async def instance_actor(self) -> LocalActor:
        actor = await LocalActor.get_or_none(kind=ActorKind.INSTANCE)
        if actor is None:
            raise NotFound("instance actor missing: run `coopub init` or `coopub migrate`")
        return actor

    async def instance_signer(self) -> Signer:
        return self.signer_for(await self.instance_actor())

    def poke(self) -> None:
        self.wake.set()
