"""Offers on the wire: a ``Note`` carrying FEP-0837 proposal terms and our own namespace.

``Note`` so that Mastodon and GoToSocial show a readable post; ``purpose``/``publishes``/
``reciprocal``/``unitBased``/``location`` for marketplaces that speak FEP-0837 (Mitra); our
``coopub:`` terms for the kind-specific facts. A stay's exact address never appears here: only
its fuzzed location.
"""

from __future__ import annotations

import html
import math
import random
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import nh3
from babel.dates import format_datetime
from babel.numbers import format_currency

from activitypub.apobject import first_id, types_of
from activitypub.convert import iso
from activitypub.jsonld import compact, offer_context
from activitypub.offer_input import OfferInput
from activitypub.urls import PUBLIC, PUBLIC_ALIASES, host_of
from models.errors import Malformed
from models.offers import Offer, OfferKind, OfferStatus, Purpose

WIRE_KIND = {OfferKind.RIDE: "Ride", OfferKind.DELIVERY_JOB: "DeliveryJob", OfferKind.STAY: "Stay"}
KIND_OF_WIRE = {v: k for k, v in WIRE_KIND.items()}
ACTION = {
    OfferKind.RIDE: "deliverService",
    OfferKind.DELIVERY_JOB: "deliverService",
    OfferKind.STAY: "use",
}
CURRENCY_IRI = {
    "EUR": "https://www.wikidata.org/wiki/Q4916",
    "CHF": "https://www.wikidata.org/wiki/Q25344",
}
EARTH_RADIUS_M = 6_371_000.0
WHEN = "d MMM y, HH:mm"


# --- location privacy ------------------------------------------------------------------------


def fuzz_location(lat: float, lon: float, rng: random.Random | None = None) -> tuple[float, float]:
    """Move a point 100 to 500 m in a random direction, then round to 3 decimals (~100 m).

    Done once when a stay is saved and stored: never recomputed, so reading the published
    position many times cannot average the noise away.
    """
    rng = rng or random.SystemRandom()
    distance = rng.uniform(100.0, 500.0)
    bearing = rng.uniform(0.0, 2 * math.pi)
    dlat = (distance * math.cos(bearing)) / EARTH_RADIUS_M
    dlon = (distance * math.sin(bearing)) / (EARTH_RADIUS_M * math.cos(math.radians(lat)))
    new_lat = max(-90.0, min(90.0, lat + math.degrees(dlat)))
    new_lon = ((lon + math.degrees(dlon) + 180.0) % 360.0) - 180.0
    return round(new_lat, 3), round(new_lon, 3)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a)) / 1000.0


# --- local input → model fields ----------------------------------------------------------


def input_to_offer_fields(inp: OfferInput, previous: Offer | None = None) -> dict[str, Any]:
    """Model fields for a local offer. A stay's exact place goes to ``private``; its public
    position is fuzzed once, and kept as is when an edit leaves the exact place unchanged."""
    fields: dict[str, Any] = {
        "kind": inp.kind,
        "purpose": inp.purpose,
        "title": inp.title,
        "description": inp.description,
        "language": inp.language,
        "starts_at": inp.starts_at,
        "ends_at": inp.ends_at,
        "timezone": inp.timezone,
        "expires_at": inp.expires_at,
        "price_cents": inp.price_cents,
        "currency": inp.currency,
        "quantity_total": inp.quantity_total,
        "quantity_available": inp.quantity_available,
        "details": inp.details,
        "place_name": inp.place.name,
        "dest_name": inp.destination.name if inp.destination else "",
        "dest_latitude": inp.destination.latitude if inp.destination else None,
        "dest_longitude": inp.destination.longitude if inp.destination else None,
    }
    if inp.kind != OfferKind.STAY:
        fields.update(latitude=inp.place.latitude, longitude=inp.place.longitude, private={})
        return fields
    exact = {
        "address": inp.place.address,
        "latitude": inp.place.latitude,
        "longitude": inp.place.longitude,
    }
    if (
        previous is not None
        and previous.private.get("latitude") == exact["latitude"]
        and (previous.private.get("longitude") == exact["longitude"])
    ):
        lat, lon = previous.latitude, previous.longitude
    else:
        lat, lon = fuzz_location(inp.place.latitude, inp.place.longitude)
    fields.update(latitude=lat, longitude=lon, private=exact)
    return fields


# --- model → AS2 ----------------------------------------------------------------------------


def _place(detail: dict[str, Any] | None, *, with_address: bool = True) -> dict[str, Any] | None:
    if not detail:
        return None
    out: dict[str, Any] = {
        "type": "Place",
        "name": detail.get("name", ""),
        "latitude": detail.get("latitude"),
        "longitude": detail.get("longitude"),
    }
    if with_address and detail.get("address"):
        out["address"] = detail["address"]
    if detail.get("after"):
        out["startTime"] = detail["after"]
    if detail.get("before"):
        out["endTime"] = detail["before"]
    return out


def _quantity(value: float | int) -> dict[str, str]:
    return {
        "hasUnit": "one",
        "hasNumericalValue": f"{value:g}" if isinstance(value, float) else str(value),
    }


def offer_to_as(
    offer: Offer, *, followers: str, url: str, coop_uri: str | None = None
) -> dict[str, Any]:
    """The public object for an offer (local or cached). Pinned by tests/test_offer_wire.py."""
    kind = OfferKind(offer.kind)
    d = offer.details or {}
    primary: dict[str, Any] = {
        "type": "Intent",
        "id": f"{offer.ap_id}#primary",
        "action": ACTION[kind],
        "resourceQuantity": _quantity(1),
    }
    if offer.quantity_available is not None:
        primary["availableQuantity"] = _quantity(offer.quantity_available)
    cc = [followers] + ([coop_uri] if coop_uri else [])
    doc: dict[str, Any] = {
        "@context": offer_context(),
        "id": offer.ap_id,
        "type": "Note",
        "attributedTo": offer.author_uri,
        "name": offer.title,
        "content": offer_content_html(offer, url),
        "contentMap": {offer.language: offer_content_html(offer, url)},
        "url": url,
        "published": iso(offer.published_at),
        "updated": iso(offer.updated_at),
        "startTime": iso(offer.starts_at),
        "to": [PUBLIC],
        "cc": cc,
        "kind": WIRE_KIND[kind],
        "status": OfferStatus(offer.status).value,
        "purpose": Purpose(offer.purpose).value,
        "publishes": primary,
        "unitBased": kind != OfferKind.DELIVERY_JOB,
        "timezone": offer.timezone,
        "expires": iso(offer.expires_at),
        "location": {
            "type": "Place",
            "name": offer.place_name,
            "latitude": offer.latitude,
            "longitude": offer.longitude,
        },
    }
    if offer.ends_at:
        doc["endTime"] = iso(offer.ends_at)
    if offer.price_cents is not None:
        doc["priceCents"] = offer.price_cents
        doc["currency"] = offer.currency
        doc["reciprocal"] = {
            "type": "Intent",
            "id": f"{offer.ap_id}#reciprocal",
            "action": "transfer",
            "resourceConformsTo": CURRENCY_IRI.get(offer.currency, offer.currency),
            "resourceQuantity": _quantity(offer.price_cents / 100),
        }
    if kind == OfferKind.RIDE:
        doc["origin"] = _place(d.get("place"))
        doc["destination"] = _place(d.get("destination"))
        doc["waypoints"] = [_place(w) for w in d.get("waypoints", [])]
        doc["flexibilityMinutes"] = d.get("flexibility_minutes", 0)
        doc["seatsTotal"] = offer.quantity_total
        if d.get("schedule"):
            doc["regularWeekdays"] = d["schedule"]["weekdays"]
            doc["regularTime"] = d["schedule"]["time"]
        if d.get("return_trip"):
            doc["returnTrip"] = d["return_trip"]
    elif kind == OfferKind.DELIVERY_JOB:
        doc["pickup"] = _place(d.get("place"))
        doc["dropoff"] = _place(d.get("destination"))
        doc["packages"] = [
            {"packageType": p["type"], "quantity": p["quantity"]} for p in d.get("packages", [])
        ]
        if d.get("weight_grams") is not None:
            doc["weightGrams"] = d["weight_grams"]
        if d.get("vehicle"):
            doc["vehicle"] = d["vehicle"]
    else:
        doc["maxGuests"] = offer.quantity_total
        if d.get("max_nights"):
            doc["maxNights"] = d["max_nights"]
        cond = d.get("conditions") or {}
        doc["conditions"] = {
            "content": cond.get("text", ""),
            "petsAllowed": bool(cond.get("pets")),
            "smokingAllowed": bool(cond.get("smoking")),
            "stepFreeAccess": bool(cond.get("step_free")),
        }
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
        "guests": "jusqu’à {n} personne(s)",
        "per_seat": "{p} par place",
        "price": "{p}",
        "free": "gratuit",
        "see": "Voir l’offre",
    },
}


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
        f"<p>{where}<br>{esc(when)} ({esc(offer.timezone)})</p>",
    ]
    facts: list[str] = []
    if offer.kind == OfferKind.RIDE and offer.quantity_available is not None:
        facts.append(t["seats"].format(n=offer.quantity_available))
    if offer.kind == OfferKind.STAY and offer.quantity_total is not None:
        facts.append(t["guests"].format(n=offer.quantity_total))
    if offer.price_cents is not None:
        price = (
            t["free"]
            if offer.price_cents == 0
            else format_currency(offer.price_cents / 100, offer.currency, locale=lang)
        )
        facts.append(t["per_seat" if offer.kind == OfferKind.RIDE else "price"].format(p=price))
    if facts:
        parts.append(f"<p>{esc(' · '.join(facts))}</p>")
    if offer.description:
        parts.append(f"<p>{esc(offer.description)}</p>")
    parts.append(f'<p><a href="{esc(url)}">{esc(t["see"])}</a></p>')
    return "".join(parts)


# --- AS2 → model fields (remote offers) ---------------------------------------------------


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _num(value: Any) -> float | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("@value", value.get("hasNumericalValue"))
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _num(value)
    return int(number) if number is not None and number.is_integer() else None


def _time(value: Any, name: str, *, required: bool = False) -> datetime | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("@value")
    if value is None:
        if required:
            raise Malformed(f"offer without {name}")
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise Malformed(f"bad {name}: {value!r}") from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _remote_place(value: Any, name: str, *, required: bool = True) -> dict[str, Any] | None:
    value = _first(value)
    if not isinstance(value, dict):
        if required:
            raise Malformed(f"offer without {name}")
        return None
    lat, lon = _num(value.get("latitude")), _num(value.get("longitude"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Malformed(f"{name}: latitude/longitude missing or out of range")
    out: dict[str, Any] = {
        "name": str(_first(value.get("name")) or "")[:200],
        "latitude": lat,
        "longitude": lon,
    }
    if isinstance(value.get("address"), str):
        out["address"] = value["address"][:500]
    for key, wire in (("after", "startTime"), ("before", "endTime")):
        moment = _time(value.get(wire), f"{name}.{wire}")
        if moment:
            out[key] = moment.isoformat()
    return out


def is_offer_document(raw: Any) -> bool:
    """Cheap test before the JSON-LD work: does this object claim to be a proposal?"""
    return isinstance(raw, dict) and (
        "Proposal" in types_of(raw.get("type")) or ("purpose" in raw and "publishes" in raw)
    )


def as_to_offer_fields(raw: dict[str, Any], author_uri: str) -> dict[str, Any]:
    """Fields of a remote ``Offer`` from an incoming Note/Proposal; Malformed says why not."""
    doc = compact(raw)
    types = types_of(doc.get("type"))
    if not {"Note", "Proposal"} & set(types):
        raise Malformed(f"offer type {types} is neither Note nor Proposal")
    offer_id = doc.get("id")
    if not isinstance(offer_id, str) or host_of(offer_id) != host_of(author_uri):
        raise Malformed("offer id missing or not on its author's host")
    if first_id(doc.get("attributedTo")) != author_uri:
        raise Malformed("offer attributedTo is not the sender")
    audience = {*(_ids(doc.get("to"))), *(_ids(doc.get("cc")))}
    if not audience & PUBLIC_ALIASES:
        raise Malformed("offer is not public")
    try:
        kind = KIND_OF_WIRE[str(_first(doc.get("kind")))]
        purpose = Purpose(str(_first(doc.get("purpose"))))
    except (KeyError, ValueError) as exc:
        raise Malformed(
            f"unknown kind or purpose: {doc.get('kind')!r} {doc.get('purpose')!r}"
        ) from exc
    if not isinstance(_first(doc.get("publishes")), dict):
        raise Malformed("proposal without a primary intent (publishes)")
    starts_at = _time(doc.get("startTime"), "startTime", required=True)
    ends_at = _time(doc.get("endTime"), "endTime")
    if ends_at and starts_at and ends_at < starts_at:
        raise Malformed("endTime before startTime")
    try:
        status = OfferStatus(str(_first(doc.get("status")) or "open"))
    except ValueError:
        status = OfferStatus.OPEN
    primary = _first(doc.get("publishes"))
    available = _int(
        _first(primary.get("availableQuantity")) if isinstance(primary, dict) else None
    )
    price = _int(doc.get("priceCents"))
    if price is None and isinstance(_first(doc.get("reciprocal")), dict):
        amount = _num(_first(doc["reciprocal"]).get("resourceQuantity"))
        price = round(amount * 100) if amount is not None else None
    details: dict[str, Any] = {}
    total: int | None = None
    if kind == OfferKind.RIDE:
        place = _remote_place(doc.get("origin") or doc.get("location"), "origin")
        dest = _remote_place(doc.get("destination"), "destination")
        waypoints = doc.get("waypoints") or []
        details["waypoints"] = [
            p
            for p in (
                _remote_place(w, "waypoint")
                for w in (waypoints if isinstance(waypoints, list) else [waypoints])
            )
            if p
        ]
        details["flexibility_minutes"] = _int(doc.get("flexibilityMinutes")) or 0
        total = _int(doc.get("seatsTotal"))
        days = doc.get("regularWeekdays")
        if days:
            details["schedule"] = {
                "weekdays": days if isinstance(days, list) else [days],
                "time": str(_first(doc.get("regularTime")) or ""),
            }
        details["return_trip"] = first_id(doc.get("returnTrip"))
    elif kind == OfferKind.DELIVERY_JOB:
        place = _remote_place(doc.get("pickup") or doc.get("location"), "pickup")
        dest = _remote_place(doc.get("dropoff"), "dropoff")
        packages = doc.get("packages") or []
        details["packages"] = [
            {
                "type": str(_first(p.get("packageType")) or "")[:50],
                "quantity": _int(p.get("quantity")) or 1,
            }
            for p in (packages if isinstance(packages, list) else [packages])
            if isinstance(p, dict)
        ]
        details["weight_grams"] = _int(doc.get("weightGrams"))
        details["vehicle"] = _first(doc.get("vehicle"))
    else:
        place = _remote_place(doc.get("location"), "location")
        dest = None
        total = _int(doc.get("maxGuests"))
        details["max_nights"] = _int(doc.get("maxNights"))
        cond = _first(doc.get("conditions")) or {}
        details["conditions"] = {
            "text": str(_first(cond.get("content")) or "")[:2000] if isinstance(cond, dict) else "",
            "pets": bool(cond.get("petsAllowed")) if isinstance(cond, dict) else False,
            "smoking": bool(cond.get("smokingAllowed")) if isinstance(cond, dict) else False,
            "step_free": bool(cond.get("stepFreeAccess")) if isinstance(cond, dict) else False,
        }
    assert place is not None
    if kind != OfferKind.STAY:
        details["place"] = place
    if dest:
        details["destination"] = dest
    if available is not None and available < 0:
        raise Malformed("negative available quantity")
    now = datetime.now(UTC)
    return {
        "ap_id": offer_id,
        "author_uri": author_uri,
        "instance_domain": host_of(offer_id),
        "kind": kind,
        "purpose": purpose,
        "status": status,
        "title": str(_first(doc.get("name")) or "")[:200] or "—",
        "description": _plain_text(doc),
        "language": _language(doc),
        "place_name": place["name"],
        "latitude": place["latitude"],
        "longitude": place["longitude"],
        "dest_name": dest["name"] if dest else "",
        "dest_latitude": dest["latitude"] if dest else None,
        "dest_longitude": dest["longitude"] if dest else None,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": str(_first(doc.get("timezone")) or "UTC")[:64],
        "quantity_total": total if total is not None else available,
        "quantity_available": available if available is not None else total,
        "price_cents": price,
        "currency": str(_first(doc.get("currency")) or "EUR")[:3].upper(),
        "details": details,
        "private": {},
        "document": raw,
        "published_at": _time(doc.get("published"), "published") or now,
        "updated_at": _time(doc.get("updated"), "updated") or now,
        "expires_at": _time(doc.get("expires"), "expires") or ends_at or starts_at,
    }


def _ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [i for i in (first_id(v) for v in items) if i]


def _language(doc: dict[str, Any]) -> str:
    content_map = doc.get("contentMap")
    if isinstance(content_map, dict) and content_map:
        return str(next(iter(content_map)))[:16]
    return "und"


def _plain_text(doc: dict[str, Any]) -> str:
    """The description is kept as text; remote HTML is never rendered as HTML here."""
    content = _first(doc.get("content"))
    if isinstance(content, dict):
        content = content.get("@value")
    return html.unescape(nh3.clean(str(content or ""), tags=set()))[:10_000]
