"""The Starlette application, built once from the configuration."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from activitypub.urls import PATHS
from federation.context import Federation, SiteInfo
from federation.services import places
from federation.services.directory import ensure_directory_actor
from federation.services.handlers import inbox_handlers
from instance import favicon
from instance.access import RequestObserver
from instance.config import Config, load_config
from instance.errors import on_coopub_error, on_http_error, on_unexpected_error
from instance.input_guard import RefuseNul
from instance.logs import setup_logging
from instance.media import serve_media
from instance.metrics import RequestMetrics
from instance.nav_counts import PendingRequests
from instance.page_cache import PageCache
from instance.rate_limits import ApiRateLimit, RateLimits
from instance.routes import (
    account,
    account_delete,
    actors,
    admin,
    alerts,
    api,
    api_bookings,
    blocks,
    bookings_web,
    calendar,
    directory,
    dispatch,
    export,
    feeds,
    health,
    inbox,
    interactions,
    join_admin,
    moderation,
    moves,
    offers,
    pages,
    pins,
    posts,
    reports,
    settings,
    signup,
    web,
    wellknown,
)
from instance.security_headers import SecurityHeaders
from instance.sessions import middleware as session_middleware
from instance.stylesheet import stylesheet
from instance.token_bucket import TokenBuckets
from instance.wake import forward_pokes, notifies
from instance.worker import run_forever
from models.db import close_db, open_db
from models.errors import CoopubError

GET, POST = ["GET"], ["POST"]
Endpoint = Callable[[Request], Awaitable[Response]]


def build_federation(config: Config) -> Federation:
    site = SiteInfo(
        title=config.instance.title,
        description=config.instance.description,
        languages=config.instance.languages,
        # as Mastodon reports it: anyone may sign up or ask to (not by invitation only)
        open_registrations=config.signup.mode != "invite",
    )
    return Federation.create(
        config.federation,
        config.instance.base_url,
        site,
        directory=config.directory,
        retention=config.retention,
        handlers=inbox_handlers(),
    )


def route(name: str, endpoint: Endpoint, methods: list[str] | None = None) -> Route:
    """A route at the path named ``name`` in the one table (``activitypub.urls.PATHS``), under
    that name: ``url_path_for(name)`` and ``path_for(name)`` give the same path."""
    return Route(PATHS[name], endpoint, methods=methods, name=name)


def routes() -> list[Route]:
    """In matching order: a fixed path before the parameterised one it would also match."""
    return [
        # first: the path peers POST to most (Starlette tries routes in order, ~60 before it)
        route("shared_inbox", inbox.shared_inbox, POST),
        route("healthz", health.healthz, GET),
        route("metrics", health.metrics, GET),
        route("stylesheet", stylesheet, GET),
        route("favicon", favicon.favicon, GET),
        route("favicon_svg", favicon.favicon_svg_file, GET),
        route("media", serve_media, GET),  # before the actor paths: /{prefix}/{username}
        route("home", pages.home),
        # the member's pages, before /offers/{uuid} and the actor paths
        route("login", web.login_page, GET),
        route("login", web.login, POST),
        route("logout", web.logout, POST),
        route("search", web.search_page, GET),
        route("my_offers", web.my_offers, GET),
        route("new_offer", web.new_offer_page, GET),
        route("new_offer", web.new_offer, POST),
        route("edit_offer", web.edit_offer_page, GET),
        route("edit_offer", web.edit_offer, POST),
        route("delete_offer", web.delete_offer_page, GET),
        route("delete_offer", web.delete_offer, POST),
        route("close_offer", web.close_offer, POST),
        route("cancel_offer", web.cancel_offer, POST),
        route("offer_replies", interactions.offer_replies, GET),
        route("post_replies", interactions.post_replies, GET),
        route("notifications", interactions.notifications_page, GET),
        route("notifications_read", interactions.mark_all_read, POST),
        route("pin_offer", pins.pin_offer, POST),
        route("unpin_offer", pins.unpin_offer, POST),
        route("feed", posts.home_feed, GET),
        route("new_post", posts.new_post_page, GET),  # before /posts/{uuid}
        route("new_post", posts.new_post, POST),
        route("post", posts.post_page, GET),
        route("delete_post", posts.delete_post_page, GET),
        route("delete_post", posts.delete_post, POST),
        route("reply", posts.reply_page, GET),
        route("reply", posts.reply, POST),
        route("tag", posts.tag_page, GET),
        route("my_bookings", bookings_web.my_bookings, GET),
        route("booking_requests", bookings_web.booking_requests, GET),
        route("new_booking", bookings_web.new_booking_page, GET),
        route("new_booking", bookings_web.new_booking, POST),
        route("booking_ics", calendar.booking_ics, GET),  # before /bookings/{uuid}
        route("booking", bookings_web.booking_page, GET),
        route("booking_action", bookings_web.booking_action, POST),
        route("agreement", api_bookings.agreement_page, GET),
        route("settings", settings.settings_page, GET),
        route("edit_profile", settings.edit_profile, POST),
        route("new_token", settings.new_token, POST),
        route("revoke_token", settings.revoke_token, POST),
        route("export_archive", export.export_archive, POST),
        route("calendar_settings", calendar.calendar_settings, GET),
        route("new_calendar_feed", calendar.new_calendar_feed, POST),
        route("revoke_calendar_feed", calendar.revoke_calendar_feed, POST),
        route("calendar_feed", calendar.calendar_feed, GET),
        route("searches", alerts.searches_page, GET),
        route("searches", alerts.save_search, POST),
        route("delete_search", alerts.delete_search, POST),
        route("new_alerts_feed", alerts.new_alerts_feed, POST),
        route("revoke_alerts_feed", alerts.revoke_alerts_feed, POST),
        route("alerts_feed", feeds.alerts_feed, GET),
        route("coop_feed", feeds.coop_feed, GET),  # before the actor paths: /c/{name}/…
        route("authorize_interaction", settings.follow_from_interaction, POST),
        route("signup", signup.signup_page, GET),
        route("signup", signup.signup_post, POST),
        route("signup_pending", signup.signup_pending, GET),
        route("invitation", signup.invitation_page, GET),
        route("change_password", account.change_password_page, GET),
        route("change_password", account.change_password, POST),
        route("forgot_password", account.forgot_password_page, GET),
        route("forgot_password", account.forgot_password, POST),
        route("reset_password", account.reset_password_page, GET),
        route("reset_password", account.reset_password, POST),
        route("join_coop", account.join_coop_page, GET),
        route("join_coop", account.join_coop, POST),
        route("delete_account", account_delete.delete_account_page, GET),
        route("delete_account", account_delete.delete_own_account, POST),
        route("move_settings", moves.move_page, GET),
        route("add_alias", moves.add_alias_post, POST),
        route("remove_alias", moves.remove_alias_post, POST),
        route("move_account", moves.move_post, POST),
        route("cancel_move", moves.cancel_move_post, POST),
        route("join_admin", join_admin.join_admin_page, GET),
        route("new_invitation", join_admin.new_invitation, POST),
        route("revoke_invitation", join_admin.revoke_invitation, POST),
        route("decide_signup", join_admin.decide_signup, POST),
        route("decide_membership", join_admin.decide_membership, POST),
        route("reset_link", join_admin.reset_link, POST),
        route("admin", admin.admin_page, GET),
        route("join_directory", admin.join_directory, POST),
        route("leave_directory", admin.leave_directory, POST),
        route("admit_candidate", admin.admit_candidate, POST),
        route("reject_candidate", admin.reject_candidate, POST),
        route("admin_blocks", blocks.blocks_page, GET),
        route("admin_blocks", blocks.add_block, POST),
        route("admin_unblock", blocks.remove_block, POST),
        route("admin_blocks_import", blocks.import_blocks, POST),
        route("admin_blocks_export", blocks.export_blocks_csv, GET),
        route("about_blocks", blocks.about_blocks, GET),
        route("admin_accounts", moderation.accounts_page, GET),
        route("admin_account", moderation.account_page, GET),
        route("admin_account_action", moderation.account_action, POST),
        route("admin_remove_offer", moderation.remove_offer, POST),
        route("admin_remove_post", moderation.remove_post, POST),
        route("report", reports.report_page, GET),
        route("report", reports.send_report, POST),
        route("admin_reports", reports.reports_page, GET),
        route("admin_report", reports.report_detail, GET),
        route("admin_report", reports.close_report, POST),
        route("dispatch_home", dispatch.dispatch_home, GET),
        route("dispatch", dispatch.dispatch_page, GET),  # before the actor collections
        route("dispatch_assign", dispatch.dispatch_assign, POST),
        route("authorize_interaction", pages.authorize_interaction),
        # discovery
        route("webfinger", wellknown.webfinger),
        route("host_meta", wellknown.host_meta),
        route("nodeinfo_links", wellknown.nodeinfo_index),
        route("nodeinfo", wellknown.nodeinfo),
        route("chatonsinfos", directory.chatonsinfos),
        # ActivityPub
        route("instance_actor", actors.instance_actor),
        route("instance_actor_inbox", inbox.instance_actor_inbox, POST),
        route("instance_actor_collection", actors.instance_actor_collection),
        route("directory_actor", actors.directory_actor),
        route("directory_actor_inbox", inbox.directory_actor_inbox, POST),
        route("directory_listing", directory.listing),
        route("directory_actor_collection", actors.directory_actor_collection),
        route("activity", actors.activity),
        route("offer_ics", calendar.offer_ics, GET),  # before /offers/{uuid}
        route("offer", offers.offer_page),
        route("context", offers.contexts),
        # the JSON API
        route("openapi", api.openapi),
        route("api_offers", api.list_offers, GET),
        route("api_offers", api.create_offer, POST),
        route("api_offer", api.get_offer, GET),
        route("api_offer", api.update_offer, ["PUT"]),
        route("api_offer", api.delete_offer, ["DELETE"]),
        route("api_offer_action", api.change_status, POST),
        route("api_bookings", api_bookings.my_bookings, GET),
        route("api_bookings", api_bookings.book, POST),
        route("api_booking_requests", api_bookings.booking_requests, GET),
        route("api_booking", api_bookings.get_booking, GET),
        route("api_booking_action", api_bookings.booking_action, POST),
        route("api_dispatch", dispatch.api_dispatch, GET),
        route("api_notifications", interactions.api_notifications, GET),
        # coops and members, last: /{prefix}/{username} would match the paths above
        route("actor", actors.actor),
        route("actor_inbox", inbox.actor_inbox, POST),
        route("actor_collection", actors.collection),
    ]


class CoopubApp(Starlette):
    """Starlette whose outermost layers are the request observer (``X-Request-Id``, the access
    log, metrics) and the security headers: around Starlette's own error middleware, so that
    an unexpected 500 carries them too."""

    def __init__(self, *args: Any, outer: list[Middleware], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outer = outer

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        for cls, args, kwargs in reversed(self.outer):
            app = cls(app, *args, **kwargs)
        return app


async def settle() -> None:
    """Read the gazetteer (in a thread), then put what start-up made out of the garbage
    collector's sight (``gc.freeze``). The gazetteer is some 250,000 objects that live as long
    as the process, and every full collection walked them all: 60 ms during which the process
    answered nothing, the tail of the pages' latency."""
    await places.load()
    gc.collect()
    gc.freeze()


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
        warm = asyncio.create_task(settle())  # the gazetteer, read once, off the loop
        stop = asyncio.Event()
        if with_worker:
            task: asyncio.Task[None] | None = asyncio.create_task(run_forever(fed, stop))
        elif notifies(config.database_url):  # the workers run elsewhere: wake them
            task = asyncio.create_task(forward_pokes(fed, stop))
        else:
            task = None
        try:
            yield
        finally:
            stop.set()
            if task:
                await task
            await warm
            await fed.aclose()
            await close_db()

    metrics = RequestMetrics()
    observer = Middleware(RequestObserver, metrics=metrics, access_log=config.server.access_log)
    limits = RateLimits.from_settings(config.limits)
    app = CoopubApp(
        routes=routes(),
        outer=[observer, Middleware(SecurityHeaders)],
        middleware=[
            Middleware(RefuseNul),
            Middleware(ApiRateLimit, limits=limits),
            *session_middleware(config),
            Middleware(PendingRequests),
        ],
        exception_handlers={
            CoopubError: on_coopub_error,
            HTTPException: on_http_error,
            Exception: on_unexpected_error,
        },
        lifespan=None if fed else lifespan,
    )
    app.state.config = config
    app.state.metrics = metrics
    app.state.limits = limits
    seconds = config.server.page_cache_seconds
    app.state.page_cache = PageCache(seconds) if seconds > 0 else None
    app.state.join_limits = TokenBuckets(config.limits.join_per_minute, config.limits.join_burst)
    if fed:
        app.state.fed = fed
    return app


LOG_LEVEL_ENV = "COOPUB_LOG_LEVEL"


def app_from_environment() -> Starlette:
    """The application of one of several web processes (uvicorn imports this factory by name in
    each; instance/processes.py): the configuration found through ``COOPUB_CONFIG``, the log
    level through ``COOPUB_LOG_LEVEL``, and no worker loop, which runs in processes of its own."""
    setup_logging(os.environ.get(LOG_LEVEL_ENV, "INFO"))
    return create_app(load_config(), run_worker=False)
