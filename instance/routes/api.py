"""The JSON API (`/api/v1/offers`): what a coop's own tools use to push and read offers.

Offers are checked once, strictly, against the offer description; a refusal is ``422`` (or
``400`` for a status change or a search parameter) with one coded problem per field, rendered
by ``instance.errors`` like every refusal.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from activitypub.offer_errors import OfferError, OfferRefused
from activitypub.offer_input import parse_offer
from activitypub.offer_schema import OfferDescription
from activitypub.urls import path_for
from federation.services import offers as service
from federation.services.limited import check_author_shown
from federation.services.search import parse_search, search_offers
from instance.auth import member_for_request
from instance.offer_view import offer_to_api
from instance.openapi import openapi_document
from instance.place_names import resolve_json_places
from instance.requests import read_json
from models.errors import NotFound
from models.offers import OfferStatus

MAX_JSON = 256 * 1024


async def _json(request: Request) -> Any:
    return await read_json(request, MAX_JSON)


async def _offer(request: Request, default_language: str) -> OfferDescription:
    data = await _json(request)
    await resolve_json_places(request, data)  # places given by name only
    return parse_offer(data, default_language=default_language)


async def list_offers(request: Request) -> Response:
    fed = request.app.state.fed
    params = parse_search(dict(request.query_params))
    found = await search_offers(params)
    return JSONResponse(
        {
            "items": [offer_to_api(fed, o) for o in found],
            "count": len(found),
            "offset": params.offset,
            "limit": params.limit,
        }
    )


async def create_offer(request: Request) -> Response:
    fed = request.app.state.fed
    member = await member_for_request(request)
    offer = await service.create_offer(fed, member, await _offer(request, fed.site.languages[0]))
    return JSONResponse(
        offer_to_api(fed, offer, owner=True),
        status_code=201,
        headers={"Location": path_for("api_offer", uuid=offer.local_uuid)},
    )


async def get_offer(request: Request) -> Response:
    fed = request.app.state.fed
    offer = await service.local_offer(None, request.path_params["uuid"])
    await check_author_shown(offer)  # 404 while its author is suspended
    owner = False
    if "authorization" in request.headers:
        owner = (await member_for_request(request)).id == offer.author_id
    return JSONResponse(offer_to_api(fed, offer, owner=owner))


async def update_offer(request: Request) -> Response:
    fed = request.app.state.fed
    member = await member_for_request(request)
    offer = await service.local_offer(member, request.path_params["uuid"])
    offer = await service.update_offer(fed, member, offer, await _offer(request, offer.language))
    return JSONResponse(offer_to_api(fed, offer, owner=True))


async def change_status(request: Request) -> Response:
    fed = request.app.state.fed
    member = await member_for_request(request)
    offer = await service.local_offer(member, request.path_params["uuid"])
    action = request.path_params["action"]
    if action not in ("status", "close", "cancel"):
        raise NotFound(f"no action {action}")
    if action == "status":
        body = await _json(request)
        raw = body.get("status") if isinstance(body, dict) else None
    else:
        raw = {"close": "closed", "cancel": "cancelled"}.get(action)
    try:
        status = OfferStatus(str(raw))
    except ValueError as exc:
        choices = {"choices": [s.value for s in OfferStatus]}
        raise OfferRefused(OfferError("status", "not_a_choice", choices), "bad status") from exc
    offer = await service.set_status(fed, member, offer, status)
    return JSONResponse(offer_to_api(fed, offer, owner=True))


async def delete_offer(request: Request) -> Response:
    fed = request.app.state.fed
    member = await member_for_request(request)
    offer = await service.local_offer(member, request.path_params["uuid"])
    await service.delete_offer(fed, member, offer)
    return Response(status_code=204)


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document(request.app.state.fed.urls.base))
