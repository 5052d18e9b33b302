"""An incoming AS2 offer (a ``Note`` or FEP-0837 ``Proposal``) → the fields of a remote ``Offer``.

Two steps, both on the trust boundary: the envelope is checked (type, id on the author's host,
``attributedTo`` the sender, a public audience, a known kind and purpose, a primary intent);
then the wire terms are read into the same description local offers use and validated against
it, so a remote offer is held to the same limits (seats, coordinates, prices…). Texts are cut
to their limits rather than refused; remote HTML is kept as plain text only.
"""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime
from typing import Any

import nh3
from pydantic import ValidationError

from activitypub.apobject import first_id, types_of
from activitypub.jsonld import compact
from activitypub.offer_input import problems_of
from activitypub.offer_model import offer_fields
from activitypub.offer_schema import OFFER_DESCRIPTION, SECTION
from activitypub.offer_to_as import WIRE_KIND
from activitypub.urls import PUBLIC_ALIASES, host_of, link_on_host
from activitypub.wire import MAX_URL, reading
from models.errors import Malformed
from models.offers import Offer, OfferKind, OfferStatus, Purpose

KIND_OF_WIRE = {v: k for k, v in WIRE_KIND.items()}
MAX_AVAILABLE = 100
"""What is left of an offer without a total (a delivery job): at most what a total may be."""


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _many(value: Any) -> list[Any]:
    return value if isinstance(value, list) else ([] if value is None else [value])


def _num(value: Any) -> float | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("@value", value.get("hasNumericalValue"))
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int past 1e308
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _num(value)
    return int(number) if number is not None and number.is_integer() else None


def _text(value: Any, limit: int) -> str:
    """Text cut at ``limit``; a value that is not text (a number, an object) is absent."""
    value = _first(value)
    if isinstance(value, dict):  # a JSON-LD value object ({"@value": …, "@language": …})
        value = value.get("@value")
    return value[:limit] if isinstance(value, str) else ""


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
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # OverflowError: year 9999 at UTC-23:59
        raise Malformed(f"bad {name}: {str(value)[:100]!r}") from exc


def _present(**values: Any) -> dict[str, Any]:
    """Absent values are left out, so the description says "required" rather than "null"."""
    return {k: v for k, v in values.items() if v is not None}


def _place(value: Any, name: str) -> dict[str, Any] | None:
    value = _first(value)
    if not isinstance(value, dict):
        return None
    return _present(
        name=_text(value.get("name"), 200),
        latitude=_num(value.get("latitude")),
        longitude=_num(value.get("longitude")),
        address=value["address"][:500] if isinstance(value.get("address"), str) else None,
        after=_time(value.get("startTime"), f"{name}.startTime"),
        before=_time(value.get("endTime"), f"{name}.endTime"),
    )


def is_offer_document(raw: Any) -> bool:
    """Cheap test before the JSON-LD work: does this object claim to be a proposal?"""
    return isinstance(raw, dict) and (
        "Proposal" in types_of(raw.get("type")) or ("purpose" in raw and "publishes" in raw)
    )


def served_offer(raw: Any, uri: str) -> tuple[dict[str, Any], str]:
    """An offer fetched from ``uri``, and its author's id: it must be served at its own id, by
    an author on its host (an announced offer is fetched, never trusted from the announcer)."""
    if not isinstance(raw, dict) or raw.get("id") != uri or not is_offer_document(raw):
        raise Malformed(f"{uri} is not an offer served at its own id")
    author_uri = first_id(raw.get("attributedTo"))
    if not author_uri or host_of(author_uri) != host_of(uri):
        raise Malformed(f"{uri}: author not on the offer's host")
    return raw, author_uri


def offer_url(offer: Offer) -> str:
    """The HTML page: local offers live at their id; remote ones link to their origin's page,
    kept only when it is an http(s) URL on the offer's own host (pages render it as a link)."""
    if offer.local_uuid:
        return offer.ap_id
    document = offer.document if isinstance(offer.document, dict) else {}
    return link_on_host(first_id(document.get("url")), host_of(offer.ap_id)) or offer.ap_id


def _ids(value: Any) -> list[str]:
    return [i for i in (first_id(v) for v in _many(value)) if i]


def _envelope(doc: dict[str, Any], author_uri: str) -> tuple[str, OfferKind, Purpose]:
    """The offer's id, kind and purpose, once what makes it acceptable at all is checked."""
    types = types_of(doc.get("type"))
    if not {"Note", "Proposal"} & set(types):
        raise Malformed(f"offer type {types} is neither Note nor Proposal")
    offer_id = doc.get("id")
    if not isinstance(offer_id, str) or len(offer_id) > MAX_URL:
        raise Malformed("offer id missing or over 500 characters")
    if host_of(offer_id) != host_of(author_uri):
        raise Malformed("offer id not on its author's host")
    if first_id(doc.get("attributedTo")) != author_uri:
        raise Malformed("offer attributedTo is not the sender")
    if not {*_ids(doc.get("to")), *_ids(doc.get("cc"))} & PUBLIC_ALIASES:
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
    return offer_id, kind, purpose


def _available(doc: dict[str, Any]) -> int | None:
    primary = _first(doc.get("publishes"))
    return _int(_first(primary.get("availableQuantity")) if isinstance(primary, dict) else None)


def _price(doc: dict[str, Any]) -> int | None:
    price = _int(doc.get("priceCents"))
    reciprocal = _first(doc.get("reciprocal"))
    if price is None and isinstance(reciprocal, dict):
        amount = _num(reciprocal.get("resourceQuantity"))
        price = round(amount * 100) if amount is not None else None
    return price


def _ride(doc: dict[str, Any], available: int | None) -> dict[str, Any]:
    total = _int(doc.get("seatsTotal"))
    days = _many(doc.get("regularWeekdays"))
    return _present(
        origin=_place(doc.get("origin") or doc.get("location"), "origin"),
        destination=_place(doc.get("destination"), "destination"),
        waypoints=[p for p in (_place(w, "waypoint") for w in _many(doc.get("waypoints"))) if p],
        flexibility_minutes=_int(doc.get("flexibilityMinutes")) or 0,
        seats_total=total if total is not None else available,
        seats_available=available,
        schedule={"weekdays": days, "time": _text(doc.get("regularTime"), 16)} if days else None,
        return_trip=first_id(doc.get("returnTrip")),
    )


def _delivery(doc: dict[str, Any]) -> dict[str, Any]:
    packages = [
        {"type": _text(p.get("packageType"), 50), "quantity": _int(p.get("quantity")) or 1}
        for p in _many(doc.get("packages"))
        if isinstance(p, dict)
    ]
    return _present(
        pickup=_place(doc.get("pickup") or doc.get("location"), "pickup"),
        dropoff=_place(doc.get("dropoff"), "dropoff"),
        packages=packages,
        weight_grams=_int(doc.get("weightGrams")),
        vehicle=_first(doc.get("vehicle")),
    )


def _stay(doc: dict[str, Any], available: int | None) -> dict[str, Any]:
    total = _int(doc.get("maxGuests"))
    cond = _first(doc.get("conditions"))
    cond = cond if isinstance(cond, dict) else {}
    return _present(
        location=_place(doc.get("location"), "location"),
        max_guests=total if total is not None else available,
        max_nights=_int(doc.get("maxNights")),
        conditions={
            "text": _text(cond.get("content"), 2000),
            "pets": bool(cond.get("petsAllowed")),
            "smoking": bool(cond.get("smokingAllowed")),
            "step_free": bool(cond.get("stepFreeAccess")),
        },
    )


def _description(doc: dict[str, Any], kind: OfferKind, purpose: Purpose) -> dict[str, Any]:
    """The wire terms in the shape of the offer description (not yet validated)."""
    available = _available(doc)
    section = {
        OfferKind.RIDE: lambda: _ride(doc, available),
        OfferKind.DELIVERY_JOB: lambda: _delivery(doc),
        OfferKind.STAY: lambda: _stay(doc, available),
    }[kind]()
    return _present(
        kind=kind,
        purpose=purpose,
        title=_title(doc),
        description=_description_text(doc),
        language=_language(doc),
        timezone=_text(doc.get("timezone"), 64) or "UTC",
        starts_at=_time(doc.get("startTime"), "startTime", required=True),
        ends_at=_time(doc.get("endTime"), "endTime"),
        price_cents=_price(doc),
        currency=_text(doc.get("currency"), 3).upper() or "EUR",
        **{SECTION[kind]: section},
    )


def as_to_offer_fields(raw: dict[str, Any], author_uri: str) -> dict[str, Any]:
    """Fields of a remote ``Offer`` from an incoming Note/Proposal; Malformed says why not."""
    with reading("offer"):
        return _offer_fields(raw, author_uri)


def _offer_fields(raw: dict[str, Any], author_uri: str) -> dict[str, Any]:
    doc = compact(raw)
    offer_id, kind, purpose = _envelope(doc, author_uri)
    try:
        offer = OFFER_DESCRIPTION.validate_python(_description(doc, kind, purpose))
    except ValidationError as exc:
        problems = "; ".join(f"{p.field}: {p.message()}" for p in problems_of(exc))
        raise Malformed(f"offer refused: {problems}") from exc
    fields = offer_fields(offer, language="und", local=False)
    available = _available(doc)
    most = fields["quantity_total"] or MAX_AVAILABLE
    if available is not None and not 0 <= available <= most:  # it goes into an int column
        raise Malformed(f"available quantity {str(available)[:30]} outside 0..{most}")
    now = datetime.now(UTC)
    try:
        status = OfferStatus(str(_first(doc.get("status")) or "open"))
    except ValueError:
        status = OfferStatus.OPEN
    fields.update(
        ap_id=offer_id,
        author_uri=author_uri,
        instance_domain=host_of(offer_id),
        status=status,
        document=raw,
        published_at=_time(doc.get("published"), "published") or now,
        updated_at=_time(doc.get("updated"), "updated") or now,
        expires_at=_time(doc.get("expires"), "expires") or offer.ends_at or offer.starts_at,
    )
    if available is not None:  # what is left, as the origin says (a stay's free places)
        fields["quantity_available"] = available
        if fields["quantity_total"] is None:
            fields["quantity_total"] = available
    return fields


def _title(doc: dict[str, Any]) -> str:
    """Our ``title`` term; else ``name``, as FEP-0837 proposals and older coopub instances send
    it (no longer sent by us: GoToSocial shows a ``Note``'s ``name`` as a content warning)."""
    return _text(doc.get("title"), 200) or _text(doc.get("name"), 200) or "—"


def _description_text(doc: dict[str, Any]) -> str:
    """Our ``description`` term (plain text, as written); else, from a FEP-0837 proposal or an
    older coopub, the text of ``content``."""
    if "description" in doc:
        return _text(doc.get("description"), 10_000)
    return _plain_text(doc)


def _language(doc: dict[str, Any]) -> str:
    """The language whose text is ``content`` (a map in French and English, or compacted
    JSON-LD, has its keys in any order); else the map's first."""
    content_map = doc.get("contentMap")
    if not isinstance(content_map, dict) or not content_map:
        return "und"
    content, first = _first(doc.get("content")), next(iter(content_map))
    same = [lang for lang, text in content_map.items() if _first(text) == content]
    return str(first if first in same or not same else same[0])[:16]


def _plain_text(doc: dict[str, Any]) -> str:
    """The description is kept as text; remote HTML is never rendered as HTML here."""
    content = _first(doc.get("content"))
    if isinstance(content, dict):
        content = content.get("@value")
    if not isinstance(content, str):
        return ""
    return html.unescape(nh3.clean(content, tags=set()))[:10_000]
