"""Actors and their collections: HTML for browsers, AS2 for servers, on the same URLs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from activitypub.urls import ACTOR_PREFIX, is_uuid, path_for
from federation import collections
from federation.context import Federation
from federation.inbox import verify_request
from federation.services.account_moderation import AccountSuspended
from federation.services.directory import directory_actor as directory_actor_row
from federation.services.local import actor_counts, get_local_actor
from federation.services.pins import featured
from federation.services.profiles import actor_document, actor_images, coop_members, open_offers
from federation.services.removal import tombstone
from instance.errors import error_response
from instance.media import media_path
from instance.negotiation import AS2Response, wants_as2
from instance.offer_view import offer_to_api
from instance.post_view import announcements_context
from instance.profile_view import actor_path, profile_view
from instance.requests import target_uri
from instance.sessions import current_member
from instance.templating import render
from models.actors import ActorKind, LocalActor
from models.errors import Malformed, NotFound, SignatureInvalid
from models.i18n import N_

KINDS = {prefix: kind for kind, prefix in ACTOR_PREFIX.items()}
COLLECTIONS = {
    "outbox": collections.outbox,
    "followers": collections.followers,
    "following": collections.following,
    "featured": featured,
}


async def require_signed_fetch(request: Request) -> None:
    """In authorized-fetch mode, AS2 GETs must carry a valid signature (like GoToSocial)."""
    fed = request.app.state.fed
    if not fed.settings.authorized_fetch:
        return
    if "signature" not in request.headers and "signature-input" not in request.headers:
        raise SignatureInvalid("unsigned fetch in authorized-fetch mode", "Signed fetch required")
    await verify_request(fed, "GET", target_uri(request), request.headers, None)


async def local_actor_at(prefix: str, username: str, *, allow_deleted: bool = False) -> LocalActor:
    """The actor behind ``/c/{name}`` or ``/u/{name}`` (a deleted one is Gone)."""
    kind = KINDS.get(prefix)
    if kind is None:
        raise NotFound(f"no actor path /{prefix}/")
    return await get_local_actor(kind, username, allow_deleted=allow_deleted)


Find = Callable[[Request, bool], Awaitable[LocalActor]]
"""Which actor a route names: (request, allow_deleted) → the actor."""


async def _named(request: Request, allow_deleted: bool) -> LocalActor:
    params = request.path_params
    return await local_actor_at(params["prefix"], params["username"], allow_deleted=allow_deleted)


async def _instance(request: Request, allow_deleted: bool) -> LocalActor:
    fed: Federation = request.app.state.fed
    return await fed.instance_actor()


async def _directory(request: Request, allow_deleted: bool) -> LocalActor:
    return await directory_actor_row()


async def _actor_page(request: Request, find: Find) -> Response:
    fed = request.app.state.fed
    local = await find(request, True)
    if local.deleted_at is not None:
        return _gone(request, fed, local)
    if local.suspended_at is not None and not wants_as2(request):
        # Mastodon's way: the actor document stays served (flagged), the page does not.
        return error_response(request, 403, N_("This account has been suspended."))
    public = local.kind in (ActorKind.INSTANCE, ActorKind.DIRECTORY)
    if local.kind == ActorKind.DIRECTORY and not wants_as2(request):
        return RedirectResponse(path_for("directory_listing"), status_code=303)
    if wants_as2(request) or public:
        if not public:  # the instance and directory actors stay public: key fetches, joins
            await require_signed_fetch(request)
        return AS2Response(await actor_document(fed, local))
    context = await _page_context(fed, local)
    context.update(await announcements_context(local, await current_member(request)))
    return render(request, "actor.html", context)


async def _page_context(fed: Federation, local: LocalActor) -> dict[str, object]:
    """What a member's or a coop's page shows: its profile, its open offers, a coop's
    members."""
    counts = await actor_counts(fed, local)
    coop = await LocalActor.get_or_none(id=local.coop_id) if local.coop_id else None
    avatar, header = await actor_images(local)
    offers = [
        {**offer_to_api(fed, o), "pinned": o.pinned_at is not None}
        for o in await open_offers(fed, local)
    ]
    members = await coop_members(local) if local.kind == ActorKind.COOP else []
    return {
        "actor": local,
        "actor_id": fed.urls.actor(local),
        "domain": fed.urls.domain,
        "followers": counts.followers,
        "following": counts.following,
        "coop": coop,
        "coop_url": fed.urls.actor(coop) if coop else None,
        "avatar": media_path(avatar) if avatar else None,
        "header": media_path(header) if header else None,
        **profile_view(local),
        "offers": offers,
        "is_coop": local.kind == ActorKind.COOP,
        "members": [{"name": m.name or m.username, "path": actor_path(m)} for m in members],
    }


async def actor(request: Request) -> Response:
    """``/c/{name}``, ``/u/{name}``: a page for people, the actor document for servers."""
    return await _actor_page(request, _named)


async def instance_actor(request: Request) -> Response:
    return await _actor_page(request, _instance)


async def directory_actor(request: Request) -> Response:
    return await _actor_page(request, _directory)


def _gone(request: Request, fed: Federation, local: LocalActor) -> Response:
    """A deleted actor: 410 Gone, with a Tombstone for servers and a page for people."""
    if wants_as2(request):
        response: Response = AS2Response(tombstone(fed, local), status_code=410)
    else:
        response = error_response(request, 410, N_("This account has been deleted."))
    response.headers["Vary"] = "Accept"
    return response


MAX_PAGE_DIGITS = 9
"""Keeps the page's SQL offset within a 64-bit integer on every database."""


def _page(request: Request) -> int | None:
    raw = request.query_params.get("page")
    if raw is None:
        return None
    # isdigit() alone accepts "²", which int() refuses; "0" is not a page either.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_PAGE_DIGITS and int(raw) >= 1):
        raise Malformed(f"bad page {raw!r}", "page must be a positive integer")
    return int(raw)


async def _collection(request: Request, find: Find) -> Response:
    await require_signed_fetch(request)
    fed = request.app.state.fed
    local = await find(request, False)
    if local.suspended_at is not None:
        raise AccountSuspended(f"collection of suspended {local}")
    build = COLLECTIONS.get(request.path_params["collection"])
    if build is None:  # also a GET of an inbox, whose route takes only POST
        raise NotFound(f"no collection {request.path_params['collection']!r}")
    return AS2Response(await build(fed, local, _page(request)))


async def collection(request: Request) -> Response:
    return await _collection(request, _named)


async def instance_actor_collection(request: Request) -> Response:
    return await _collection(request, _instance)


async def directory_actor_collection(request: Request) -> Response:
    return await _collection(request, _directory)


async def activity(request: Request) -> Response:
    await require_signed_fetch(request)
    fed = request.app.state.fed
    activity_uuid = request.path_params["uuid"]
    if not is_uuid(activity_uuid):  # minted by us, so canonical; anything else names nothing
        raise NotFound(f"no activity {activity_uuid[:100]}")
    return AS2Response(await collections.public_activity(fed.urls.activity(activity_uuid)))
