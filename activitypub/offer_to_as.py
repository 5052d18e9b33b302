"""A stored offer → its public AS2 object: a ``Note`` with FEP-0837 terms and our namespace.

``Note`` so that Mastodon and GoToSocial show a readable post (its text, in French and English,
and hashtags: ``offer_text``); ``purpose``/``publishes``/``reciprocal``/``unitBased``/
``location`` for marketplaces that speak FEP-0837 (Mitra); our ``coopub:`` terms for the title,
the description and the kind-specific facts, read from the offer's typed description. No
``name``: GoToSocial shows it as a content warning (FEP-0837 only recommends it). A stay's
exact address never appears here: only its fuzzed location.
"""

from __future__ import annotations

from typing import Any

from activitypub.jsonld import offer_context
from activitypub.offer_model import describe
from activitypub.offer_schema import (
    DeliveryDetails,
    Place,
    RideDetails,
    StayDetails,
    details_of,
)
from activitypub.offer_text import STATUS_TEXT, offer_content_html, offer_post
from activitypub.urls import PUBLIC, replies_collection_of
from activitypub.wire import iso
from models.offers import Offer, OfferKind, OfferStatus, Purpose

__all__ = ["CURRENCY_IRI", "STATUS_TEXT", "WIRE_KIND", "offer_content_html", "offer_to_as"]

WIRE_KIND = {OfferKind.RIDE: "Ride", OfferKind.DELIVERY_JOB: "DeliveryJob", OfferKind.STAY: "Stay"}
ACTION = {
    OfferKind.RIDE: "deliverService",
    OfferKind.DELIVERY_JOB: "deliverService",
    OfferKind.STAY: "use",
}
CURRENCY_IRI = {
    "EUR": "https://www.wikidata.org/wiki/Q4916",
    "CHF": "https://www.wikidata.org/wiki/Q25344",
}


def _place(place: Place) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "Place",
        "name": place.name,
        "latitude": place.latitude,
        "longitude": place.longitude,
    }
    if place.address:
        out["address"] = place.address
    if place.after:
        out["startTime"] = place.after.isoformat()
    if place.before:
        out["endTime"] = place.before.isoformat()
    return out


def _quantity(value: float | int) -> dict[str, str]:
    return {
        "hasUnit": "one",
        "hasNumericalValue": f"{value:g}" if isinstance(value, float) else str(value),
    }


def _proposal(offer: Offer, kind: OfferKind) -> dict[str, Any]:
    """The FEP-0837 terms: the primary intent, and the reciprocal one when there is a price."""
    primary: dict[str, Any] = {
        "type": "Intent",
        "id": f"{offer.ap_id}#primary",
        "action": ACTION[kind],
        "resourceQuantity": _quantity(1),
    }
    if offer.quantity_available is not None:
        primary["availableQuantity"] = _quantity(offer.quantity_available)
    terms: dict[str, Any] = {
        "purpose": Purpose(offer.purpose).value,
        "publishes": primary,
        "unitBased": kind != OfferKind.DELIVERY_JOB,
    }
    if offer.price_cents is not None:
        terms["priceCents"] = offer.price_cents
        terms["currency"] = offer.currency
        terms["reciprocal"] = {
            "type": "Intent",
            "id": f"{offer.ap_id}#reciprocal",
            "action": "transfer",
            "resourceConformsTo": CURRENCY_IRI.get(offer.currency, offer.currency),
            "resourceQuantity": _quantity(offer.price_cents / 100),
        }
    return terms


def _ride(ride: RideDetails) -> dict[str, Any]:
    terms: dict[str, Any] = {
        "origin": _place(ride.origin),
        "destination": _place(ride.destination),
        "waypoints": [_place(w) for w in ride.waypoints],
        "flexibilityMinutes": ride.flexibility_minutes,
        "seatsTotal": ride.seats_total,
    }
    if ride.schedule:
        terms["regularWeekdays"] = list(ride.schedule.weekdays)
        terms["regularTime"] = ride.schedule.time
    if ride.return_trip:
        terms["returnTrip"] = ride.return_trip
    return terms


def _delivery(job: DeliveryDetails) -> dict[str, Any]:
    terms: dict[str, Any] = {
        "pickup": _place(job.pickup),
        "dropoff": _place(job.dropoff),
        "packages": [{"packageType": p.type, "quantity": p.quantity} for p in job.packages],
    }
    if job.weight_grams is not None:
        terms["weightGrams"] = job.weight_grams
    if job.vehicle:
        terms["vehicle"] = job.vehicle
    return terms


def _stay(stay: StayDetails) -> dict[str, Any]:
    terms: dict[str, Any] = {"maxGuests": stay.max_guests}
    if stay.max_nights:
        terms["maxNights"] = stay.max_nights
    terms["conditions"] = {
        "content": stay.conditions.text,
        "petsAllowed": stay.conditions.pets,
        "smokingAllowed": stay.conditions.smoking,
        "stepFreeAccess": stay.conditions.step_free,
    }
    return terms


def offer_to_as(
    offer: Offer, *, followers: str, url: str, coop_uri: str | None = None
) -> dict[str, Any]:
    """The public object for an offer. Pinned by tests/test_offer_wire.py."""
    kind = OfferKind(offer.kind)
    details = details_of(describe(offer))
    post = offer_post(offer, url)
    doc: dict[str, Any] = {
        "@context": offer_context(),
        "id": offer.ap_id,
        "type": "Note",
        "attributedTo": offer.author_uri,
        "content": post.content,
        "contentMap": post.content_map,
        "tag": post.tags,
        "url": url,
        "replies": replies_collection_of(offer.ap_id),
        "published": iso(offer.published_at),
        "updated": iso(offer.updated_at),
        "startTime": iso(offer.starts_at),
        "to": [PUBLIC],
        "cc": [followers] + ([coop_uri] if coop_uri else []),
        "title": offer.title,
        "description": offer.description,
        "kind": WIRE_KIND[kind],
        "status": OfferStatus(offer.status).value,
        "timezone": offer.timezone,
        "expires": iso(offer.expires_at),
        "location": {
            "type": "Place",
            "name": offer.place_name,
            "latitude": offer.latitude,
            "longitude": offer.longitude,
        },
        **_proposal(offer, kind),
    }
    if offer.ends_at:
        doc["endTime"] = iso(offer.ends_at)
    if isinstance(details, RideDetails):
        doc.update(_ride(details))
    elif isinstance(details, DeliveryDetails):
        doc.update(_delivery(details))
    else:
        doc.update(_stay(details))
    return doc
