"""The offer page: HTML for people, the AS2 ``Note`` for servers, on the offer's id."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from activitypub.jsonld import PUBLIC_NAMES, bundled
from activitypub.posts import note_tombstone
from federation.services import offers as service
from federation.services.limited import check_author_shown
from federation.services.tombstones import deleted_at
from instance.errors import error_response
from instance.negotiation import AS2Response, wants_as2
from instance.page_cache import kept_for_visitors
from instance.routes.actors import require_signed_fetch
from instance.routes.bookings_web import offer_html
from instance.routes.web import gettext
from models.errors import NotFound


@kept_for_visitors
async def offer_page(request: Request) -> Response:
    fed = request.app.state.fed
    local_uuid = request.path_params["uuid"]
    try:
        offer = await service.local_offer(None, local_uuid)
    except NotFound:
        when = await deleted_at(fed, "offer", local_uuid)
        if when is None:
            raise
        return _gone(request, local_uuid, when)
    await check_author_shown(offer)  # 404 while its author is suspended
    if wants_as2(request):
        await require_signed_fetch(request)
        return AS2Response(await service.offer_document(fed, offer))
    return await offer_html(request, offer)  # with the booking form, for members


def _gone(request: Request, local_uuid: str, when: datetime) -> Response:
    """A deleted offer: 410 with a ``Tombstone`` for servers (it was a ``Note``), a page for
    people."""
    fed = request.app.state.fed
    if wants_as2(request):
        tombstone = note_tombstone(fed.urls.url("offer", uuid=local_uuid), when)
        response: Response = AS2Response(tombstone, status_code=410)
    else:
        response = error_response(request, 410, gettext(request)("This offer has been deleted."))
    response.headers["Vary"] = "Accept"
    return response


async def contexts(request: Request) -> Response:
    """The bundled JSON-LD contexts, at stable URLs (never fetched by us, served for others)."""
    name = request.path_params["name"].removesuffix(".jsonld")
    if name not in PUBLIC_NAMES:
        raise NotFound(f"no context {name}")
    return AS2Response(bundled(PUBLIC_NAMES[name]))
