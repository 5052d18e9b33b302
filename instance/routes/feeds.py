"""Atom feeds: a member's alerts at a secret URL (``/alerts/{token}.atom``: no session, the
token is the credential, an unknown or revoked one is 404), and a coop's public feed
(``/c/{name}/feed.atom``: its members' open offers and its public announcements).

Titles and texts are in the instance's first language: a feed reader rarely says which it
wants, and every reader of a feed sees the same document.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from federation.context import Federation
from federation.services.alerts import recent_alerts
from federation.services.feed import announcements_of
from federation.services.local import get_local_actor
from federation.services.profiles import open_offers
from instance.alerts_view import read_here
from instance.atom import CONTENT_TYPE, Entry, Feed, atom_bytes, latest, offer_entry, post_entry
from instance.feed_tokens import member_for_feed
from instance.i18n import SUPPORTED, translations
from instance.post_view import safe_html
from models.actors import ActorKind
from models.errors import NotFound
from models.feed_tokens import FeedPurpose
from models.posts import Visibility

log = logging.getLogger(__name__)

ALERTS_MAX = 50
PRIVATE = {"Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"}
PUBLIC = {"Cache-Control": "public, max-age=300"}


def _language(fed: Federation) -> str:
    return next((lang for lang in fed.site.languages if lang in SUPPORTED), SUPPORTED[0])


def atom_response(feed: Feed, headers: dict[str, str]) -> Response:
    return Response(atom_bytes(feed), media_type=CONTENT_TYPE, headers=headers)


async def alerts_feed(request: Request) -> Response:
    """The offers matching the member's saved searches, newest match first."""
    token = request.path_params["token"]
    member = await member_for_feed(token, FeedPurpose.ALERTS)
    if member is None:
        raise NotFound("unknown alerts token", "No such feed")
    fed: Federation = request.app.state.fed
    lang = _language(fed)
    _ = translations(lang).gettext
    entries = [
        offer_entry(alert.offer, read_here(fed, alert.offer), lang, alert.matched_at)
        for alert in await recent_alerts(member, ALERTS_MAX)
    ]
    now = datetime.now(UTC)
    feed = Feed(
        id=f"tag:{fed.urls.hostname},2026:alerts:{member.username}",
        title=f"{_('New offers for your saved searches')} · {fed.site.title}",
        self_url=fed.urls.url("alerts_feed", token=token),
        alternate=fed.urls.url("searches"),
        updated=latest(entries, now),
        language=lang,
        author=fed.site.title,
        entries=entries,
    )
    return atom_response(feed, PRIVATE)


async def coop_feed(request: Request) -> Response:
    """A coop's open offers (its members' and its own) and its public announcements, newest
    first; followers-only and unlisted posts stay out."""
    fed: Federation = request.app.state.fed
    coop = await get_local_actor(ActorKind.COOP, request.path_params["username"])
    lang = _language(fed)
    _ = translations(lang).gettext
    entries: list[Entry] = [
        offer_entry(offer, offer.ap_id if offer.local_uuid else read_here(fed, offer), lang)
        for offer in await open_offers(fed, coop)
    ]
    entries += [
        post_entry(post, post.ap_id, str(safe_html(post.content)))
        for post in await announcements_of(coop)
        if post.visibility == Visibility.PUBLIC
    ]
    entries.sort(key=lambda e: e.published or e.updated, reverse=True)
    name = coop.name or coop.username
    feed = Feed(
        id=fed.urls.url("coop_feed", username=coop.username),
        title=f"{name} · {fed.site.title}",
        subtitle=_("Offers and announcements of %(name)s") % {"name": name},
        self_url=fed.urls.url("coop_feed", username=coop.username),
        alternate=fed.urls.actor(coop),
        updated=latest(entries, coop.updated_at),
        language=lang,
        author=name,
        entries=entries,
    )
    return atom_response(feed, PUBLIC)
