"""The secret feed URLs' settings (``instance.feed_tokens``): the calendar of bookings and the
alerts feed share the same three things, told here once: what the page shows of the URL, making
a new one (shown on that answer only: a redirect would carry it in the readable session
cookie), and revoking it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import path_for
from instance import sessions
from instance.feed_tokens import feed_token, new_feed_token, revoke_feed_token
from instance.routes.settings import flash, member_or_none
from instance.routes.web import gettext, see_other, to_login
from models.actors import LocalActor
from models.feed_tokens import FeedPurpose

log = logging.getLogger(__name__)

SettingsPage = Callable[[Request, LocalActor, str | None], Awaitable[Response]]
"""The settings page that shows a feed URL's state (and the new URL, once)."""


@dataclass(frozen=True)
class SecretFeed:
    purpose: FeedPurpose
    feed_route: str
    """The path name of the feed itself (its ``token`` parameter)."""
    settings_route: str
    revoked: str
    """The message once revoked (marked with ``N_``, translated when shown)."""
    missing: str
    """The message when there was nothing to revoke."""


async def feed_state(
    member: LocalActor, purpose: FeedPurpose, new_url: str | None
) -> dict[str, Any]:
    """What the settings page shows: whether a URL exists, when made and last read, and the new
    URL right after it was made (never again)."""
    token = await feed_token(member, purpose)
    return {
        "active": token is not None,
        "created": token.created_at.isoformat() if token else None,
        "last_used": token.last_used_at.isoformat() if token and token.last_used_at else None,
        "new_url": new_url,
    }


async def make_feed_url(request: Request, feed: SecretFeed, show: SettingsPage) -> Response:
    """A new secret URL replacing the member's previous one, shown on this answer only."""
    await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    token = await new_feed_token(member, feed.purpose)
    log.info("feed URL made", extra={"member": member.username, "purpose": feed.purpose.value})
    url = request.app.state.fed.urls.url(feed.feed_route, token=token)
    return await show(request, member, url)


async def revoke_feed_url(request: Request, feed: SecretFeed) -> Response:
    await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    _ = gettext(request)
    if await revoke_feed_token(member, feed.purpose):
        log.info(
            "feed URL revoked", extra={"member": member.username, "purpose": feed.purpose.value}
        )
        flash(request, _(feed.revoked))
    else:
        flash(request, _(feed.missing), "error")
    return see_other(path_for(feed.settings_route))
