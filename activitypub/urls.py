"""Where everything lives: the one table of named paths, and the URLs built from it.

Every local path is spelled once, in ``PATHS``. The application declares its routes from it
(``Route(PATHS[name], endpoint, name=name)``, in ``instance/app.py``); code and templates build
paths with ``path_for(name, **params)`` and absolute URLs with ``Urls.url(name, **params)``
(ActivityPub ids, links in documents, anything built without a request). A path, a page link,
a redirect and an id for the same thing can then never drift apart (GoToSocial's ``uris``).
Ids are derived from the configured base URL and never change.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from models.actors import ActorKind, LocalActor
from models.errors import Malformed

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})

DIRECTORY_USERNAME = "directory"
WELL_KNOWN = "/.well-known/"
"""RFC 8615: the prefix of the discovery documents, the same on every server."""

PATHS: dict[str, str] = {
    # pages for people
    "home": "/",
    "login": "/login",
    "logout": "/logout",
    "search": "/search",
    "my_offers": "/my/offers",
    "new_offer": "/offers/new",
    "offer_ics": "/offers/{uuid:str}.ics",  # the offer as iCalendar (before "offer")
    "offer": "/offers/{uuid:str}",  # an offer's ActivityPub id, and its page
    "edit_offer": "/offers/{uuid:str}/edit",
    "delete_offer": "/offers/{uuid:str}/delete",
    "close_offer": "/offers/{uuid:str}/close",
    "cancel_offer": "/offers/{uuid:str}/cancel",
    "offer_replies": "/offers/{uuid:str}/replies",  # its public replies (AS2 collection)
    "post_replies": "/posts/{uuid:str}/replies",
    "notifications": "/notifications",
    "notifications_read": "/notifications/read",  # POST: mark them all read
    "pin_offer": "/offers/{uuid:str}/pin",  # into the author's ``featured`` collection
    "unpin_offer": "/offers/{uuid:str}/unpin",
    "feed": "/home",  # a member's home feed: the posts of the accounts they follow
    "new_post": "/posts/new",
    "post": "/posts/{uuid:str}",  # an announcement's or a reply's ActivityPub id, and its page
    "delete_post": "/posts/{uuid:str}/delete",
    "reply": "/reply",  # GET ?to=<post or offer id>: the form; POST: the reply
    "tag": "/tags/{name:str}",  # where our hashtag links lead
    "my_bookings": "/my/bookings",
    "booking_requests": "/my/requests",  # requests on my offers
    "new_booking": "/bookings/new",  # ask for an offer (GET ?offer=<id>: a remote one's copy)
    "booking_ics": "/bookings/{uuid:str}.ics",  # for its two parties (before "booking")
    "booking": "/bookings/{uuid:str}",  # a booking's page; on the booker's side, its Offer's id
    "booking_action": "/bookings/{uuid:str}/{action:str}",  # accept, decline, cancel…
    "agreement": "/agreements/{uuid:str}",  # an accepted booking's agreement (author's side)
    "settings": "/settings",
    "edit_profile": "/settings/profile/{username:str}",  # a member's, or their coop's
    "new_token": "/settings/tokens",
    "revoke_token": "/settings/tokens/{id:int}/revoke",
    "calendar_settings": "/settings/calendar",  # the member's secret calendar URL
    "export_archive": "/settings/export",  # POST: the member's data, a ZIP download
    "new_calendar_feed": "/settings/calendar/new",  # POST: make one (replacing the old)
    "revoke_calendar_feed": "/settings/calendar/revoke",  # POST
    "calendar_feed": "/calendar/{token:str}.ics",  # a member's confirmed bookings, no session
    "searches": "/searches",  # GET: the member's saved searches; POST: save one
    "delete_search": "/searches/{id:int}/delete",
    "new_alerts_feed": "/searches/feed/new",  # POST: the secret alerts URL (replacing the old)
    "revoke_alerts_feed": "/searches/feed/revoke",  # POST
    "alerts_feed": "/alerts/{token:str}.atom",  # offers matching a member's searches, no session
    "coop_feed": "/c/{username:str}/feed.atom",  # a coop's public offers and announcements
    "authorize_interaction": "/authorize_interaction",
    "admin": "/admin",
    "join_directory": "/admin/directories/join",
    "leave_directory": "/admin/directories/leave",
    "admit_candidate": "/admin/directory/admit",
    "reject_candidate": "/admin/directory/reject",
    "admin_blocks": "/admin/blocks",  # GET: the domain blocks; POST: block one
    "admin_unblock": "/admin/blocks/remove",
    "admin_blocks_import": "/admin/blocks/import",  # POST: a Mastodon CSV file
    "admin_blocks_export": "/admin/blocks/export.csv",
    "about_blocks": "/about/blocks",  # the public list, if [moderation] public_blocklist
    "admin_accounts": "/admin/accounts",  # ?q=@name@host: find one; silenced, suspended, the log
    "admin_account": "/admin/accounts/account",  # GET ?uri=<actor id>: one account's page
    "admin_account_action": "/admin/accounts/action",  # POST uri, action, reason
    "admin_remove_offer": "/admin/offers/remove",  # POST offer (its id), reason
    "admin_remove_post": "/admin/posts/remove",  # POST post (its id), reason
    "report": "/report",  # GET ?offer=|post=|account=<id>: the form; POST: the report
    "admin_reports": "/admin/reports",  # ?state=open|resolved|dismissed
    "admin_report": "/admin/reports/{id:int}",  # GET: one report; POST: close it
    # joining (issue 12): sign-up, invitations, coop membership, passwords
    "signup": "/signup",  # GET ?invite=CODE: the form; POST: sign up or ask to
    "invitation": "/invite/{token:str}",  # an invitation link: the sign-up form with its code
    "signup_pending": "/signup/pending",
    "change_password": "/password",
    "forgot_password": "/password/forgot",
    "reset_password": "/password/reset/{token:str}",
    "join_coop": "/settings/coop",  # a member without a coop asks to join one
    "move_settings": "/settings/move",  # aliases and moving the account elsewhere
    "add_alias": "/settings/move/aliases",  # POST
    "remove_alias": "/settings/move/aliases/remove",  # POST
    "move_account": "/settings/move/account",  # POST: the Move, to the followers
    "cancel_move": "/settings/move/cancel",  # POST: move back
    "delete_account": "/settings/delete",  # GET: what happens, the form; POST: for good
    "join_admin": "/admin/join",  # invitations, sign-ups, membership requests, reset links
    "new_invitation": "/admin/join/invitations",
    "revoke_invitation": "/admin/join/invitations/{id:int}/revoke",
    "decide_signup": "/admin/join/signups/{id:int}/{action:str}",  # approve | reject
    "decide_membership": "/admin/join/memberships/{id:int}/{action:str}",
    "reset_link": "/admin/join/reset",  # POST username: a one-time link, shown once
    "dispatch_home": "/dispatch",  # the board of the member's own coop
    "dispatch": "/coops/{name:str}/dispatch",  # a coop's dispatch board
    "dispatch_assign": "/coops/{name:str}/dispatch/assign",
    "stylesheet": "/static/coopub.css",  # the pages' one stylesheet (no inline style: CSP)
    "favicon": "/favicon.ico",  # asked by browsers whatever the page links (instance/favicon.py)
    "favicon_svg": "/static/favicon.svg",  # the icon the pages link
    "media": "/media/{name:str}",  # an uploaded image, ``<uuid>.<png|jpg|webp>``
    # operations
    "healthz": "/healthz",
    "metrics": "/metrics",
    # discovery
    "webfinger": f"{WELL_KNOWN}webfinger",
    "host_meta": f"{WELL_KNOWN}host-meta",
    "nodeinfo_links": f"{WELL_KNOWN}nodeinfo",
    "nodeinfo": "/nodeinfo/{schema:str}",
    "chatonsinfos": f"{WELL_KNOWN}chatonsinfos/{{name:str}}",
    # ActivityPub
    "shared_inbox": "/inbox",
    "instance_actor": "/actor",
    "instance_actor_inbox": "/actor/inbox",
    "instance_actor_collection": "/actor/{collection:str}",
    "directory_actor": "/directory",
    "directory_actor_inbox": "/directory/inbox",
    "directory_listing": "/directory/instances",
    "directory_actor_collection": "/directory/{collection:str}",
    "activity": "/activities/{uuid:str}",
    "context": "/contexts/{name:str}",
    "actor": "/{prefix:str}/{username:str}",  # coops and members (ACTOR_PREFIX)
    "actor_inbox": "/{prefix:str}/{username:str}/inbox",
    "actor_collection": "/{prefix:str}/{username:str}/{collection:str}",
    # the JSON API
    "openapi": "/api/openapi.json",
    "api_offers": "/api/v1/offers",
    "api_offer": "/api/v1/offers/{uuid:str}",
    "api_offer_action": "/api/v1/offers/{uuid:str}/{action:str}",
    "api_bookings": "/api/v1/bookings",
    "api_booking_requests": "/api/v1/bookings/requests",
    "api_booking": "/api/v1/bookings/{uuid:str}",
    "api_booking_action": "/api/v1/bookings/{uuid:str}/{action:str}",
    "api_dispatch": "/api/v1/dispatch",
    "api_notifications": "/api/v1/notifications",
}
"""Name → path template, in Starlette's syntax (``{name:str}`` is any one segment, ``{id:int}``
digits; the template is also the route's label in the metrics). Listed here, a path is routed
by ``instance/app.py`` under the same name."""

ACTOR_PREFIX = {ActorKind.COOP: "c", ActorKind.MEMBER: "u"}
"""The ``{prefix}`` of ``/{prefix}/{username}`` for each kind of person-like actor."""
_ACTOR_ROUTE = {ActorKind.INSTANCE: "instance_actor", ActorKind.DIRECTORY: "directory_actor"}

_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
_SEGMENT = {None: "[^/]+", "str": "[^/]+", "int": "[0-9]+"}
_SAFE = "!$&'()*+,;=:@"
"""What a path segment may hold unencoded (RFC 3986 ``pchar``), ``/`` excepted."""
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _template(route: str) -> str:
    try:
        return PATHS[route]
    except KeyError:
        raise ValueError(f"no path named {route!r}") from None


def _segment(route: str, key: str, value: Any) -> str:
    text = str(value)
    if not text or "/" in text:
        raise ValueError(f"{route}: {key}={text!r} is not one path segment")
    return quote(text, safe=_SAFE)


def query_string(query: Mapping[str, Any]) -> str:
    """``a=1&next=/offers/new``: values percent-encoded, ``/`` kept (links stay readable)."""
    return urlencode(query, quote_via=quote, safe="/")


def path_for(route: str, /, query: Mapping[str, Any] | None = None, **params: Any) -> str:
    """The path named ``route`` with its parameters filled in (``ValueError`` for an unknown
    name, a missing or extra parameter); ``query`` adds a query string."""
    template = _template(route)
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        key = match[1]
        if key not in params:
            missing.append(key)
            return ""
        return _segment(route, key, params[key])

    path = _PARAM.sub(fill, template)
    extra = set(params) - {m[1] for m in _PARAM.finditer(template)}
    if missing or extra:
        raise ValueError(f"{route}: missing {missing}, unexpected {sorted(extra)}")
    return f"{path}?{query_string(query)}" if query else path


def path_template(route: str, /, **fixed: Any) -> str:
    """The OpenAPI form of a path: ``/api/v1/offers/{uuid}``, with ``fixed`` parameters filled
    in and the others left as ``{placeholders}``."""

    def fill(match: re.Match[str]) -> str:
        key = match[1]
        return _segment(route, key, fixed[key]) if key in fixed else f"{{{key}}}"

    return _PARAM.sub(fill, _template(route))


@cache
def _pattern(route: str) -> re.Pattern[str]:
    template = _template(route)
    parts, start = [], 0
    for match in _PARAM.finditer(template):
        parts.append(re.escape(template[start : match.start()]))
        parts.append(f"(?P<{match[1]}>{_SEGMENT.get(match[2], '[^/]+')})")
        start = match.end()
    parts.append(re.escape(template[start:]))
    return re.compile("^" + "".join(parts) + "$")


def match_path(route: str, path: str) -> dict[str, str] | None:
    """The parameters when ``path`` is one of the paths named ``route``, else None."""
    found = _pattern(route).match(path)
    return found.groupdict() if found else None


def is_uuid(value: str) -> bool:
    """The canonical form of a UUID (lowercase, hyphenated), as every local id is minted: any
    other ``{uuid}`` names nothing (and may not fit the column it would be looked up in)."""
    return bool(_UUID.match(value))


@dataclass(frozen=True)
class Urls:
    base: str
    """Scheme and authority, e.g. ``https://velos.example`` (no trailing slash)."""

    def url(self, route: str, /, query: Mapping[str, Any] | None = None, **params: Any) -> str:
        """The absolute URL of the path named ``route`` (see ``path_for``)."""
        return self.base + path_for(route, query, **params)

    @property
    def domain(self) -> str:
        return urlsplit(self.base).netloc

    @property
    def hostname(self) -> str:
        return urlsplit(self.base).hostname or self.domain

    def actor(self, actor: LocalActor) -> str:
        return self.actor_for(actor.kind, actor.username)

    def _actor_url(self, kind: ActorKind, username: str, suffix: str = "", /, **params: Any) -> str:
        if kind in _ACTOR_ROUTE:
            return self.url(_ACTOR_ROUTE[kind] + suffix, **params)
        return self.url("actor" + suffix, prefix=ACTOR_PREFIX[kind], username=username, **params)

    def actor_for(self, kind: ActorKind, username: str) -> str:
        return self._actor_url(kind, username)

    def key_id(self, actor: LocalActor) -> str:
        return f"{self.actor(actor)}#main-key"

    def inbox(self, actor: LocalActor) -> str:
        return self._actor_url(actor.kind, actor.username, "_inbox")

    def _collection(self, actor: LocalActor, collection: str) -> str:
        return self._actor_url(actor.kind, actor.username, "_collection", collection=collection)

    def outbox(self, actor: LocalActor) -> str:
        return self._collection(actor, "outbox")

    def followers(self, actor: LocalActor) -> str:
        return self._collection(actor, "followers")

    def following(self, actor: LocalActor) -> str:
        return self._collection(actor, "following")

    def featured(self, actor: LocalActor) -> str:
        """Its pinned offers and posts (Mastodon's ``featured``)."""
        return self._collection(actor, "featured")

    def media(self, filename: str) -> str:
        """An uploaded image (``models.media.Media.filename``)."""
        return self.url("media", name=filename)

    @property
    def shared_inbox(self) -> str:
        return self.url("shared_inbox")

    def new_activity_id(self) -> str:
        return self.activity(str(uuid.uuid4()))

    def activity(self, activity_uuid: str) -> str:
        return self.url("activity", uuid=activity_uuid)

    def offer(self, offer_uuid: str) -> str:
        return self.url("offer", uuid=offer_uuid)

    def booking(self, booking_uuid: str) -> str:
        return self.url("booking", uuid=booking_uuid)

    def agreement(self, booking_uuid: str) -> str:
        return self.url("agreement", uuid=booking_uuid)

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
        if match_path("instance_actor", parts.path) is not None:
            return ActorKind.INSTANCE, self.hostname
        if match_path("directory_actor", parts.path) is not None:
            return ActorKind.DIRECTORY, DIRECTORY_USERNAME
        found = match_path("actor", parts.path)
        for kind, prefix in ACTOR_PREFIX.items():
            if found is not None and found["prefix"] == prefix:
                return kind, found["username"]
        return None


def host_of(uri: str) -> str:
    """The authority (host[:port]) of an absolute URI, lowercased; Malformed if unparseable."""
    try:
        return urlsplit(uri).netloc.lower()
    except ValueError as exc:  # e.g. "https://[oops": an unclosed IPv6 bracket
        raise Malformed(f"unparseable URI {uri!r}") from exc


def listing_of(directory_id: str) -> str:
    """Where a directory serves its listing: beside its actor, as ours does (``…/directory`` →
    ``…/directory/instances``), wherever its actor lives."""
    return directory_id + PATHS["directory_listing"].removeprefix(PATHS["directory_actor"])


def replies_collection_of(object_id: str) -> str:
    """The ``replies`` collection of one of our offers or posts: beside its id (``…/offers/{uuid}``
    → ``…/offers/{uuid}/replies``), as the table routes it."""
    return object_id + PATHS["offer_replies"].removeprefix(PATHS["offer"])


def link_on_host(value: Any, host: str) -> str | None:
    """``value`` when it is an http(s) URL on ``host`` (host[:port], any case), else None.

    The one test for a link read from another server before we render it or store it: a
    ``javascript:`` URL, or a page on someone else's host, is never shown as theirs.
    """
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "https://[oops": an unclosed IPv6 bracket
        return None
    on_host = bool(parts.hostname) and parts.netloc.lower() == host.lower()
    return value if on_host and parts.scheme.lower() in ("https", "http") else None
