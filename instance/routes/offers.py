"""The offer page: HTML for people, the AS2 ``Note`` for servers, on the offer's id."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from activitypub.jsonld import PUBLIC_NAMES, bundled
from federation.services import offers as service
from instance.negotiation import AS2Response, wants_as2
from instance.routes.actors import require_signed_fetch
from instance.routes.bookings_web import offer_html
from models.errors import NotFound


async def offer_page(request: Request) -> Response:
    fed = request.app.state.fed
    offer = await service.local_offer(None, request.path_params["uuid"])
    if wants_as2(request):
        await require_signed_fetch(request)
        return AS2Response(await service.offer_document(fed, offer))
    return await offer_html(request, offer)  # with the booking form, for members


async def contexts(request: Request) -> Response:
    """The bundled JSON-LD contexts, at stable URLs (never fetched by us, served for others)."""
    name = request.path_params["name"].removesuffix(".jsonld")
    if name not in PUBLIC_NAMES:
        raise NotFound(f"no context {name}")
    return AS2Response(bundled(PUBLIC_NAMES[name]))
