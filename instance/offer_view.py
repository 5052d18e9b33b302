"""Offers as the JSON API and the pages show them (the same shape the API accepts)."""

from __future__ import annotations

from typing import Any

from federation.context import Federation
from federation.services.offers import offer_url
from models.offers import Offer, OfferKind


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def offer_to_api(fed: Federation, offer: Offer, *, owner: bool = False) -> dict[str, Any]:
    """A local or remote offer; ``owner`` adds what only its author may see (a stay's address)."""
    d = offer.details or {}
    place = {"name": offer.place_name, "latitude": offer.latitude, "longitude": offer.longitude}
    out: dict[str, Any] = {
        "id": offer.local_uuid,
        "ap_id": offer.ap_id,
        "url": offer_url(offer),
        "local": offer.local_uuid is not None,
        "instance": offer.instance_domain,
        "author": {"id": offer.author_uri, "name": offer.author_name},
        "kind": offer.kind.value if hasattr(offer.kind, "value") else offer.kind,
        "purpose": str(offer.purpose),
        "status": str(offer.status),
        "title": offer.title,
        "description": offer.description,
        "language": offer.language,
        "starts_at": _iso(offer.starts_at),
        "ends_at": _iso(offer.ends_at),
        "timezone": offer.timezone,
        "expires_at": _iso(offer.expires_at),
        "price_cents": offer.price_cents,
        "currency": offer.currency,
        "quantity_total": offer.quantity_total,
        "quantity_available": offer.quantity_available,
        "published_at": _iso(offer.published_at),
        "updated_at": _iso(offer.updated_at),
    }
    kind = OfferKind(offer.kind)
    if kind == OfferKind.RIDE:
        out["ride"] = {
            "origin": d.get("place", place),
            "destination": d.get("destination"),
            "waypoints": d.get("waypoints", []),
            "flexibility_minutes": d.get("flexibility_minutes", 0),
            "seats_total": offer.quantity_total,
            "seats_available": offer.quantity_available,
            "schedule": d.get("schedule"),
            "return_trip": d.get("return_trip"),
        }
    elif kind == OfferKind.DELIVERY_JOB:
        out["delivery"] = {
            "pickup": d.get("place", place),
            "dropoff": d.get("destination"),
            "packages": d.get("packages", []),
            "weight_grams": d.get("weight_grams"),
            "vehicle": d.get("vehicle"),
        }
    else:
        location = dict(place)
        if owner and offer.private:
            location.update(offer.private)
        out["stay"] = {
            "location": location,
            "public_location": place,
            "max_guests": offer.quantity_total,
            "max_nights": d.get("max_nights"),
            "conditions": d.get("conditions"),
        }
    return out
