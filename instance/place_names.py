"""Place names for a request: the lookup with this instance's geocoder settings, and the API's
places given by name only.

In ``POST``/``PUT /api/v1/offers``, a place may carry a ``name`` and no ``latitude`` nor
``longitude``: it is looked up (``federation.services.geocoder.lookup``) and filled in when the
name leaves no doubt (one place of that very name or postcode: "Grenoble", "38000",
"Saint-Denis (93)", "Paris, FR"). Otherwise the offer is refused, ``422``, with a problem at the
place's ``name``: ``unknown_place``, or ``ambiguous_place`` with its ``candidates`` (name,
label, latitude, longitude…) for the client to choose from and send as coordinates.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request

from activitypub.offer_errors import InvalidOffer, OfferError
from federation.services.geocoder import GeocoderSettings, lookup
from federation.services.places import Lookup, Place, norm
from instance.forms.places import Finder
from instance.i18n import negotiate

PLACES = {
    "ride": ("origin", "destination", "waypoints"),
    "delivery": ("pickup", "dropoff"),
    "stay": ("location",),
}
"""Where an offer description holds places (a list: one place per item)."""


def finder(request: Request) -> Finder:
    """Looks names up with the instance's ``[geocoder]`` (if any), in the page's language."""
    config = getattr(request.app.state, "config", None)
    settings = getattr(config, "geocoder", None) or GeocoderSettings()
    user_agent = request.app.state.fed.http.user_agent
    language = negotiate(request)

    async def find(text: str) -> Lookup:
        return await lookup(text, settings, user_agent=user_agent, language=language)

    return find


def _named_only(data: Any) -> list[tuple[str, dict[str, Any]]]:
    """(path, place) of each place of an offer description given by name, without coordinates."""
    found: list[tuple[str, dict[str, Any]]] = []
    if not isinstance(data, dict):
        return found
    for section, keys in PLACES.items():
        part = data.get(section)
        if not isinstance(part, dict):
            continue
        for key in keys:
            value = part.get(key)
            items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
            for index, place in items[:20]:
                path = f"{section}.{key}" + (f".{index}" if index is not None else "")
                if (
                    isinstance(place, dict)
                    and isinstance(place.get("name"), str)
                    and place["name"].strip()
                    and place.get("latitude") is None
                    and place.get("longitude") is None
                ):
                    found.append((path, place))
    return found


def candidate(place: Place) -> dict[str, Any]:
    return {
        "name": place.name,
        "label": place.label,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "country": place.country,
        "postcodes": list(place.postcodes),
        "approximate": place.approximate,
        "source": place.source,
    }


async def resolve_json_places(request: Request, data: Any) -> None:
    """Fill in the coordinates of the places given by name only (``data`` is changed in
    place); ``InvalidOffer`` for a name unknown or shared by several places."""
    named = _named_only(data)
    if not named:
        return
    find = finder(request)
    found = await asyncio.gather(*(find(place["name"]) for _, place in named))
    problems = []
    for (path, place), lookup_ in zip(named, found, strict=True):
        best = lookup_.unique
        if best is not None:
            name = place["name"].strip()
            bare = name.replace(" ", "").isdigit() or norm(name) == norm(best.name)
            place.update(latitude=best.latitude, longitude=best.longitude)
            place["name"] = best.name if bare else name
        elif lookup_.places:
            choices = {"candidates": [candidate(p) for p in lookup_.places]}
            problems.append(OfferError(f"{path}.name", "ambiguous_place", choices))
        else:
            problems.append(OfferError(f"{path}.name", "unknown_place"))
    if problems:
        raise InvalidOffer(problems)
