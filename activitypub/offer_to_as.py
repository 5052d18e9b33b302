"""A stored offer → its public AS2 object: a ``Note`` with FEP-0837 terms and our namespace.

``Note`` so that Mastodon and GoToSocial show a readable post; ``purpose``/``publishes``/
``reciprocal``/``unitBased``/``location`` for marketplaces that speak FEP-0837 (Mitra); our
``coopub:`` terms for the kind-specific facts, read from the offer's typed description. A
stay's exact address never appears here: only its fuzzed location.
"""

from __future__ import annotations

import html
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_currency

from activitypub.jsonld import offer_context
from activitypub.offer_model import describe
from activitypub.offer_schema import (
    DeliveryDetails,
    Place,
    RideDetails,
    StayDetails,
    details_of,
)
from activitypub.urls import PUBLIC
from activitypub.wire import iso
from models.offers import Offer, OfferKind, OfferStatus, Purpose

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
WHEN = "d MMM y, HH:mm"


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
    content = offer_content_html(offer, url)
    doc: dict[str, Any] = {
        "@context": offer_context(),
        "id": offer.ap_id,
        "type": "Note",
        "attributedTo": offer.author_uri,
        "name": offer.title,
        "content": content,
        "contentMap": {offer.language: content},
        "url": url,
        "published": iso(offer.published_at),
        "updated": iso(offer.updated_at),
        "startTime": iso(offer.starts_at),
        "to": [PUBLIC],
        "cc": [followers] + ([coop_uri] if coop_uri else []),
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


# --- readable content (Mastodon shows this) --------------------------------------------------

LABELS = {
    "en": {
        ("ride", "offer"): "Ride offered",
        ("ride", "request"): "Ride wanted",
        ("delivery_job", "request"): "Delivery job",
        ("delivery_job", "offer"): "Courier available",
        ("stay", "offer"): "Stay offered",
        ("stay", "request"): "Stay wanted",
        "seats": "{n} seat(s) available",
        "left": "{n} seat(s) left",
        "guests": "up to {n} guest(s)",
        "per_seat": "{p} per seat",
        "price": "{p}",
        "free": "free",
        "see": "See the offer",
    },
    "fr": {
        ("ride", "offer"): "Covoiturage proposé",
        ("ride", "request"): "Covoiturage recherché",
        ("delivery_job", "request"): "Course à livrer",
        ("delivery_job", "offer"): "Coursier·e disponible",
        ("stay", "offer"): "Hébergement proposé",
        ("stay", "request"): "Hébergement recherché",
        "seats": "{n} place(s) disponible(s)",
        "left": "plus que {n} place(s)",
        "guests": "jusqu’à {n} personne(s)",
        "per_seat": "{p} par place",
        "price": "{p}",
        "free": "gratuit",
        "see": "Voir l’offre",
    },
}


STATUS_TEXT = {
    "en": {
        "full": "Full",
        "closed": "Closed",
        "expired": "Expired",
        "cancelled": "Cancelled",
        "assigned": "Assigned to a courier",
        "picked_up": "Picked up, on its way",
        "delivered": "Delivered",
        "failed": "Delivery failed",
    },
    "fr": {
        "full": "Complet",
        "closed": "Fermée",
        "expired": "Expirée",
        "cancelled": "Annulée",
        "assigned": "Attribuée à un·e coursier·e",
        "picked_up": "Récupérée, en route",
        "delivered": "Livrée",
        "failed": "Livraison échouée",
    },
}
"""What a post says of an offer that is no longer simply open (Mastodon and GoToSocial show
only the text: the status must be in it)."""


def _seats(offer: Offer, t: dict[Any, str]) -> str | None:
    """What is left of a ride: all its seats, some ("1 seat(s) left"), or nothing (full)."""
    available, total = offer.quantity_available, offer.quantity_total
    if available is None or available <= 0 or offer.status != OfferStatus.OPEN:
        return None
    if total is not None and available < total:
        return t["left"].format(n=available)
    return t["seats"].format(n=available)


def _facts(offer: Offer, lang: str) -> list[str]:
    t = LABELS[lang]
    facts: list[str] = []
    seats = _seats(offer, t) if offer.kind == OfferKind.RIDE else None
    if seats:
        facts.append(seats)
    if offer.kind == OfferKind.STAY and offer.quantity_total is not None:
        facts.append(t["guests"].format(n=offer.quantity_total))
    if offer.price_cents is not None:
        price = (
            t["free"]
            if offer.price_cents == 0
            else format_currency(offer.price_cents / 100, offer.currency, locale=lang)
        )
        facts.append(t["per_seat" if offer.kind == OfferKind.RIDE else "price"].format(p=price))
    return facts


def offer_content_html(offer: Offer, url: str) -> str:
    lang = offer.language if offer.language in LABELS else "en"
    t = LABELS[lang]
    tz = ZoneInfo(offer.timezone) if offer.timezone else UTC
    esc = html.escape
    when = format_datetime(offer.starts_at, WHEN, tzinfo=tz, locale=lang)
    if offer.ends_at:
        when += f" – {format_datetime(offer.ends_at, WHEN, tzinfo=tz, locale=lang)}"
    where = esc(offer.place_name)
    if offer.dest_name:
        where += f" → {esc(offer.dest_name)}"
    parts = [
        f"<p><strong>{esc(t[(offer.kind, offer.purpose)])}</strong> · {esc(offer.title)}</p>",
    ]
    status = STATUS_TEXT[lang].get(OfferStatus(offer.status).value)
    if offer.kind == OfferKind.RIDE and offer.status == OfferStatus.OPEN:
        status = status or (STATUS_TEXT[lang]["full"] if offer.quantity_available == 0 else None)
    if status:
        parts.append(f"<p><strong>{esc(status)}</strong></p>")
    parts.append(f"<p>{where}<br>{esc(when)} ({esc(offer.timezone)})</p>")
    facts = _facts(offer, lang)
    if facts:
        parts.append(f"<p>{esc(' · '.join(facts))}</p>")
    if offer.description:
        parts.append(f"<p>{esc(offer.description)}</p>")
    parts.append(f'<p><a href="{esc(url)}">{esc(t["see"])}</a></p>')
    return "".join(parts)
