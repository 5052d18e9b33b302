"""The directory listing (HTML and AS2 on one URL) and our own ChatonsInfos files."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from activitypub.chatonsinfos_files import organization_properties, service_properties
from federation.http import VERSION
from federation.nodeinfo import REPOSITORY
from federation.services import directory
from instance.negotiation import AS2Response, wants_as2
from instance.templating import render
from models.errors import NotFound


def _flag(value: str | None) -> bool | None:
    return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}.get(
        (value or "").lower()
    )


async def listing(request: Request) -> Response:
    fed = request.app.state.fed
    if not fed.directory.enabled:
        raise NotFound("directory mode is off", "This instance runs no directory")
    q = request.query_params
    entries = await directory.listing(
        kind=q.get("kind") or None,
        country=q.get("country") or None,
        chatons=_flag(q.get("chatons")),
        open_registrations=_flag(q.get("open")),
    )
    items = directory.listed(fed, entries)
    if wants_as2(request):
        return AS2Response(directory.listing_document(fed, items))
    return render(
        request,
        "directory.html",
        {
            "entries": [item.to_json() for item in items],
            "filters": q,
            "name": fed.directory.name,
            "description": fed.directory.description,
        },
        headers={"Vary": "Accept, Accept-Language, Cookie"},
    )


async def chatonsinfos(request: Request) -> Response:
    """``/.well-known/chatonsinfos/service.properties``: what this instance is, for CHATONS
    statistics and for directories checking a candidate."""
    fed = request.app.state.fed
    name = request.path_params["name"]
    if name == "organization.properties":
        return _organization(request)
    if name != "service.properties":
        raise NotFound("no such ChatonsInfos file")
    text = service_properties(
        name=fed.site.title,
        description=fed.site.description,
        website=fed.urls.base,
        version=VERSION,
        registration_open=fed.site.open_registrations,
        source_url=REPOSITORY,
        now=datetime.now(UTC),
    )
    return PlainTextResponse(text, media_type="text/plain; charset=utf-8")


def _organization(request: Request) -> Response:
    fed = request.app.state.fed
    org = request.app.state.config.organization
    if not org.name:
        raise NotFound("no [organization] configured", "No organization.properties here")
    text = organization_properties(
        name=org.name,
        description=org.description,
        website=org.website or fed.urls.base,
        email=org.email,
        country_code=org.country_code or None,
        city=org.city or None,
        latitude=org.latitude,
        longitude=org.longitude,
        chatons_member_since=org.chatons_member_since or None,
        service_url=fed.urls.url("chatonsinfos", name="service.properties"),
        now=datetime.now(UTC),
    )
    return PlainTextResponse(text, media_type="text/plain; charset=utf-8")
