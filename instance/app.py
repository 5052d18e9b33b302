"""The Starlette application, built once from the configuration."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Route

from federation.context import Federation, SiteInfo
from federation.services.directory import ensure_directory_actor
from federation.services.handlers import inbox_handlers
from instance.access import RequestObserver
from instance.config import Config
from instance.errors import on_coopub_error, on_http_error
from instance.metrics import RequestMetrics
from instance.routes import (
    actors,
    admin,
    api,
    directory,
    health,
    inbox,
    offers,
    pages,
    settings,
    web,
    wellknown,
)
from instance.sessions import middleware as session_middleware
from instance.worker import run_forever
from models.db import close_db, open_db
from models.errors import CoopubError

ACTOR_PATH = "/{prefix:str}/{username:str}"


def build_federation(config: Config) -> Federation:
    site = SiteInfo(
        title=config.instance.title,
        description=config.instance.description,
        languages=config.instance.languages,
    )
    return Federation.create(
        config.federation,
        config.instance.base_url,
        site,
        directory=config.directory,
        retention=config.retention,
        handlers=inbox_handlers(),
    )


def routes() -> list[Route]:
    collection = "/{collection:str}"
    return [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/metrics", health.metrics, methods=["GET"]),
        Route("/", pages.home),
        *web.routes(),
        *settings.routes(),
        *admin.routes(),
        Route("/authorize_interaction", pages.authorize_interaction),
        Route("/.well-known/webfinger", wellknown.webfinger),
        Route("/.well-known/host-meta", wellknown.host_meta),
        Route("/.well-known/nodeinfo", wellknown.nodeinfo_index),
        Route("/nodeinfo/{schema:str}", wellknown.nodeinfo),
        Route("/inbox", inbox.inbox, methods=["POST"]),
        Route("/actor", actors.actor),
        Route("/directory", actors.actor),
        Route("/directory/inbox", inbox.inbox, methods=["POST"]),
        Route("/directory/instances", directory.listing),
        Route("/directory" + collection, actors.collection),
        Route("/.well-known/chatonsinfos/{name:str}", directory.chatonsinfos),
        Route("/actor/inbox", inbox.inbox, methods=["POST"]),
        Route("/actor" + collection, actors.collection),
        Route("/activities/{uuid:str}", actors.activity),
        Route("/offers/{uuid:str}", offers.offer_page),
        Route("/contexts/{name:str}", offers.contexts),
        Route("/api/openapi.json", api.openapi),
        Route("/api/v1/offers", api.list_offers, methods=["GET"]),
        Route("/api/v1/offers", api.create_offer, methods=["POST"]),
        Route("/api/v1/offers/{uuid:str}", api.get_offer, methods=["GET"]),
        Route("/api/v1/offers/{uuid:str}", api.update_offer, methods=["PUT"]),
        Route("/api/v1/offers/{uuid:str}", api.delete_offer, methods=["DELETE"]),
        Route("/api/v1/offers/{uuid:str}/{action:str}", api.change_status, methods=["POST"]),
        Route(ACTOR_PATH, actors.actor),
        Route(ACTOR_PATH + "/inbox", inbox.inbox, methods=["POST"]),
        Route(ACTOR_PATH + collection, actors.collection),
    ]


def create_app(
    config: Config, *, run_worker: bool | None = None, fed: Federation | None = None
) -> Starlette:
    """The application. With ``fed`` given, the caller owns the database and the federation
    context (single-route tests); otherwise the lifespan opens and closes them."""
    with_worker = config.server.run_worker if run_worker is None else run_worker

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await open_db(config.database_url)
        fed = build_federation(config)
        if config.directory.enabled:
            await ensure_directory_actor(config.directory.name, config.directory.description)
        app.state.fed = fed
        stop = asyncio.Event()
        task = asyncio.create_task(run_forever(fed, stop)) if with_worker else None
        try:
            yield
        finally:
            stop.set()
            if task:
                await task
            await fed.aclose()
            await close_db()

    metrics = RequestMetrics()
    observer = Middleware(RequestObserver, metrics=metrics, access_log=config.server.access_log)
    app = Starlette(
        routes=routes(),
        middleware=[observer, *session_middleware(config)],
        exception_handlers={CoopubError: on_coopub_error, HTTPException: on_http_error},
        lifespan=None if fed else lifespan,
    )
    app.state.config = config
    app.state.metrics = metrics
    if fed:
        app.state.fed = fed
    return app
