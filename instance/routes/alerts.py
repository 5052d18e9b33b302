"""Saved searches and alerts: save the search the search page shows, list and delete them, and
the secret URL of the member's alerts feed (made, replaced and revoked here, like the calendar
URL: shown once, only its SHA-256 kept).

Same conventions as ``instance.routes.web``: every POST checks the session's CSRF token first,
refusals are HTML pages, actions redirect back with a one-time message.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import path_for
from federation.services import alerts as service
from federation.services.search import parse_search
from instance import sessions
from instance.alerts_view import search_view
from instance.routes.feed_urls import SecretFeed, feed_state, make_feed_url, revoke_feed_url
from instance.routes.settings import flash, member_or_none
from instance.routes.web import form_page, gettext, page, see_other, to_login
from models.actors import LocalActor
from models.feed_tokens import FeedPurpose
from models.i18n import N_

log = logging.getLogger(__name__)

CRITERIA = (
    "kind",
    "purpose",
    "q",
    "place",
    "lat",
    "lon",
    "radius_km",
    "from",
    "to",
    "min_quantity",
)
"""The search page's parameters a saved search keeps."""
ALERTS_FEED = SecretFeed(
    FeedPurpose.ALERTS,
    feed_route="alerts_feed",
    settings_route="searches",
    revoked=N_("The alerts feed URL was revoked: it no longer works."),
    missing=N_("You have no alerts feed URL."),
)


async def _searches_page(
    request: Request, member: LocalActor, new_url: str | None = None
) -> Response:
    _ = gettext(request)
    feed = await feed_state(member, FeedPurpose.ALERTS, new_url)
    context: dict[str, Any] = {
        "searches": [search_view(s, _) for s in await service.saved_searches(member)],
        "max_searches": service.MAX_SEARCHES,
        "feed": feed,
    }
    return form_page(request, "searches.html", context)


@page
async def searches_page(request: Request) -> Response:
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    return await _searches_page(request, member)


@page
async def save_search(request: Request) -> Response:
    """The search page's criteria, as hidden inputs of its "Save this search" form."""
    form = await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    query = {k: v for k in CRITERIA if isinstance(v := form.get(k), str)}
    name = form.get("name")
    await service.save_search(member, parse_search(query), name if isinstance(name, str) else "")
    flash(
        request, gettext(request)("Search saved: new offers it finds will show on your home page.")
    )
    return see_other(path_for("searches"))


@page
async def delete_search(request: Request) -> Response:
    await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    await service.delete_search(member, int(request.path_params["id"]))
    flash(request, gettext(request)("Saved search deleted."))
    return see_other(path_for("searches"))


@page
async def new_alerts_feed(request: Request) -> Response:
    return await make_feed_url(request, ALERTS_FEED, _searches_page)


@page
async def revoke_alerts_feed(request: Request) -> Response:
    return await revoke_feed_url(request, ALERTS_FEED)
