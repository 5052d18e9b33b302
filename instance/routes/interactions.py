"""What comes back from the Fediverse: a member's notifications (the page, the API) and the
``replies`` collections of our offers and posts.

The page lists a member's notifications newest first, twenty at a time; those it shows are
read once shown. The collections are AS2, for servers (signed fetch when the instance asks for
it, as for the actors' collections).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from activitypub.urls import path_for
from federation.services import notifications as service
from federation.services.offers import local_offer
from federation.services.replies import open_local_post, replies_collection
from instance import sessions
from instance.auth import member_for_request
from instance.interactions_view import notification_view, notification_views
from instance.nav_counts import UNREAD
from instance.negotiation import AS2Response
from instance.routes.actors import MAX_PAGE_DIGITS, require_signed_fetch
from instance.routes.settings import flash
from instance.routes.web import form_page, gettext, page, see_other, to_login
from models.errors import Malformed

MAX_LIMIT = 100
MAX_OFFSET = 10_000


def _number(request: Request, name: str, default: int | None, lowest: int) -> int | None:
    """A positive (or zero) integer query parameter; anything else is refused (400)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_PAGE_DIGITS and int(raw) >= lowest):
        raise Malformed(f"bad {name} {raw[:20]!r}", f"{name} must be an integer ≥ {lowest}")
    return int(raw)


# --- the page ---------------------------------------------------------------------------------


@page
async def notifications_page(request: Request) -> Response:
    member = await sessions.current_member(request)
    if member is None:
        return to_login(request)
    number = _number(request, "page", 1, 1) or 1
    size = service.PAGE_SIZE
    found = await service.notifications_of(member, (number - 1) * size, size)
    views = await notification_views(request.app.state.fed, found.items)
    marked = await service.mark_read(member, [n.id for n in found.items if n.read_at is None])
    request.scope[UNREAD] = max(0, found.unread - marked)  # the navigation's count, now
    here = path_for("notifications")
    context = {
        "notifications": views,
        "unread": found.unread,
        "page": number,
        "previous": path_for("notifications", query={"page": number - 1}) if number > 1 else None,
        "next": (
            path_for("notifications", query={"page": number + 1})
            if number * size < found.total
            else None
        ),
        "here": here,
    }
    return form_page(request, "notifications.html", context)


@page
async def mark_all_read(request: Request) -> Response:
    await sessions.checked_form(request)
    member = await sessions.current_member(request)
    if member is None:
        return to_login(request)
    await service.mark_read(member)
    flash(request, gettext(request)("Every notification is marked as read."))
    return see_other(path_for("notifications"))


# --- the API ----------------------------------------------------------------------------------


async def api_notifications(request: Request) -> Response:
    """``GET /api/v1/notifications?limit=&offset=``: newest first (reading them here does not
    mark them read; the page does)."""
    member = await member_for_request(request)
    fed = request.app.state.fed
    limit = min(_number(request, "limit", service.PAGE_SIZE, 1) or 1, MAX_LIMIT)
    offset = min(_number(request, "offset", 0, 0) or 0, MAX_OFFSET)
    found = await service.notifications_of(member, offset, limit)
    who = await service.who_did(fed, found.items)
    items = [
        notification_view(fed, n, who[n.actor_uri]).model_dump(mode="json") for n in found.items
    ]
    return JSONResponse(
        {
            "items": items,
            "count": found.total,
            "unread": found.unread,
            "offset": offset,
            "limit": limit,
        }
    )


# --- replies collections --------------------------------------------------------------------


async def offer_replies(request: Request) -> Response:
    """``<offer id>/replies``: the ids of the offer's public replies."""
    await require_signed_fetch(request)
    fed = request.app.state.fed
    offer = await local_offer(None, request.path_params["uuid"])
    collection_id = fed.urls.url("offer_replies", uuid=offer.local_uuid)
    page_number = _number(request, "page", None, 1)
    return AS2Response(await replies_collection(offer.ap_id, collection_id, page_number))


async def post_replies(request: Request) -> Response:
    """``<post id>/replies``: the ids of a public post's public replies."""
    await require_signed_fetch(request)
    fed = request.app.state.fed
    post = await open_local_post(request.path_params["uuid"])
    collection_id = fed.urls.url("post_replies", uuid=post.local_uuid)
    page_number = _number(request, "page", None, 1)
    return AS2Response(await replies_collection(post.ap_id, collection_id, page_number))
