"""An offer's description ↔ the ``Offer`` model's columns and its ``details`` JSON.

Searchable facts go to columns (the first and last place, the seats or guests, times, price);
the kind's section (``RideDetails``, ``DeliveryDetails``, ``StayDetails``) is stored in
``details`` as its JSON dump, without what the columns already hold, and read back through the
same model. A local stay's exact place goes to ``private``; its public position is fuzzed once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from activitypub.offer_geo import fuzz_location
from activitypub.offer_schedule import schedule_end
from activitypub.offer_schema import (
    OFFER_DESCRIPTION,
    SECTION,
    DeliveryOffer,
    OfferDescription,
    Place,
    RideOffer,
    details_of,
)
from models.errors import CoopubError
from models.offers import Offer, OfferKind

IN_COLUMNS = {
    OfferKind.RIDE: {"seats_total", "seats_available"},
    OfferKind.DELIVERY_JOB: set(),
    OfferKind.STAY: {"location", "max_guests"},
}
# ``details`` keys written before the sections were typed: the first and last place
LEGACY_KEYS = {
    OfferKind.RIDE: {"place": "origin"},
    OfferKind.DELIVERY_JOB: {"place": "pickup", "destination": "dropoff"},
    OfferKind.STAY: {},
}


class UnreadableOffer(CoopubError):
    """A stored offer that does not pass its description: a remote copy stored before remote
    offers were held to it, or a row written by hand."""


def _expiry(offer: OfferDescription) -> datetime:
    """The expiry given, else a regular ride's last day (``offer_schedule``), else the
    offer's end, else 6 hours after its start."""
    if offer.expires_at is not None:
        return offer.expires_at
    if isinstance(offer, RideOffer) and offer.ride.schedule is not None:
        return schedule_end(offer.starts_at, offer.ride.schedule, offer.timezone)
    if offer.ends_at is not None:
        return offer.ends_at
    return offer.starts_at + timedelta(hours=6)


def _common(offer: OfferDescription, language: str) -> dict[str, Any]:
    ends_at = offer.ends_at
    expires_at = _expiry(offer)
    return {
        "kind": offer.kind,
        "purpose": offer.purpose,
        "title": offer.title,
        "description": offer.description,
        "language": offer.language or language,
        "starts_at": offer.starts_at,
        "ends_at": ends_at,
        "timezone": offer.timezone,
        "expires_at": expires_at,
        "price_cents": offer.price_cents,
        "currency": offer.currency,
    }


def _route(first: Place, last: Place | None) -> dict[str, Any]:
    return {
        "place_name": first.name,
        "latitude": first.latitude,
        "longitude": first.longitude,
        "dest_name": last.name if last else "",
        "dest_latitude": last.latitude if last else None,
        "dest_longitude": last.longitude if last else None,
    }


def offer_fields(
    offer: OfferDescription,
    *,
    language: str = "und",
    previous: Offer | None = None,
    local: bool = True,
) -> dict[str, Any]:
    """The model's fields for this description. ``language`` is used when the description has
    none. For a local stay, the exact place goes to ``private`` and the public position is
    fuzzed, or kept as it was when an edit leaves the exact place where it was."""
    fields = _common(offer, language)
    kind = OfferKind(offer.kind)
    fields["details"] = details_of(offer).model_dump(mode="json", exclude=IN_COLUMNS[kind])
    fields["private"] = {}
    if isinstance(offer, RideOffer):
        ride = offer.ride
        fields.update(_route(ride.origin, ride.destination))
        fields.update(quantity_total=ride.seats_total, quantity_available=ride.seats_available)
    elif isinstance(offer, DeliveryOffer):
        fields.update(_route(offer.delivery.pickup, offer.delivery.dropoff))
        fields.update(quantity_total=None, quantity_available=None)
    else:
        stay = offer.stay
        fields.update(_route(stay.location, None))
        fields.update(quantity_total=stay.max_guests, quantity_available=stay.max_guests)
        if local:
            fields.update(_private_place(stay.location, previous))
    return fields


def _private_place(place: Place, previous: Offer | None) -> dict[str, Any]:
    exact = {
        "address": place.address or "",
        "latitude": place.latitude,
        "longitude": place.longitude,
    }
    before = previous.private if previous is not None else {}
    if previous is not None and (before.get("latitude"), before.get("longitude")) == (
        place.latitude,
        place.longitude,
    ):
        lat, lon = previous.latitude, previous.longitude
    else:
        lat, lon = fuzz_location(place.latitude, place.longitude)
    return {"latitude": lat, "longitude": lon, "private": exact}


def _without_addresses(section: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Drop the street address of each place (or list of places) under ``keys``."""

    def bare(place: Any) -> Any:
        if isinstance(place, dict):
            return {k: v for k, v in place.items() if k != "address"}
        return place

    for key in keys:
        if key in section:
            value = section[key]
            section[key] = [bare(p) for p in value] if isinstance(value, list) else bare(value)


def stored(offer: Offer, *, owner: bool = False) -> dict[str, Any]:
    """The stored offer in the description's shape, not yet checked: its columns, and its
    section as stored (with the keys of older rows renamed). A stay's location is the
    published (fuzzed) one, or with ``owner`` the exact one with its address; the places of a
    ride (its meeting point) and of a delivery job carry their street addresses only with
    ``owner``: the confirmed party receives them in the acceptance, nobody else."""
    kind = OfferKind(offer.kind)
    section = {LEGACY_KEYS[kind].get(k, k): v for k, v in (offer.details or {}).items()}
    public = {"name": offer.place_name, "latitude": offer.latitude, "longitude": offer.longitude}
    if kind == OfferKind.RIDE:
        section.update(seats_total=offer.quantity_total, seats_available=offer.quantity_available)
        section.setdefault("origin", public)
        if not owner:
            _without_addresses(section, ("origin", "destination", "waypoints"))
    elif kind == OfferKind.DELIVERY_JOB:
        section.setdefault("pickup", public)
        if not owner:
            _without_addresses(section, ("pickup", "dropoff"))
    else:
        exact = {**public, **offer.private} if owner and offer.private else public
        section.update(location=exact, max_guests=offer.quantity_total)
    return {
        "kind": kind,
        "purpose": offer.purpose,
        "title": offer.title,
        "description": offer.description,
        "language": offer.language,
        "timezone": offer.timezone,
        "starts_at": offer.starts_at,
        "ends_at": offer.ends_at,
        "expires_at": offer.expires_at,
        "price_cents": offer.price_cents,
        "currency": offer.currency,
        SECTION[kind]: section,
    }


def describe(offer: Offer, *, owner: bool = False) -> OfferDescription:
    """The stored offer as its checked description (for the API, the pages, the form and
    the wire); ``UnreadableOffer`` when a stored copy does not pass it."""
    try:
        return OFFER_DESCRIPTION.validate_python(stored(offer, owner=owner))
    except ValidationError as exc:
        raise UnreadableOffer(f"stored offer {offer.ap_id} does not read back: {exc}") from exc


def public_location(offer: Offer) -> Place:
    """Where a stay is shown to everyone: the fuzzed position, without the address."""
    return Place(name=offer.place_name, latitude=offer.latitude, longitude=offer.longitude)
