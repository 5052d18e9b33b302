"""Offers as the JSON API and the pages show them: the description the API accepts, plus what
only the server knows (ids, author, status, times). ``OfferMeta`` documents that part in the
OpenAPI document."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel, Field

from activitypub.apobject import first_id
from activitypub.offer_model import (
    LEGACY_KEYS,
    UnreadableOffer,
    describe,
    public_location,
    stored,
)
from activitypub.offer_schema import SECTION, SECTION_MODEL, Moment
from activitypub.offers import offer_url
from activitypub.urls import host_of, link_on_host
from federation.context import Federation
from federation.services.offer_links import document_urls
from models.offers import Offer, OfferKind, OfferStatus, Purpose

log = logging.getLogger(__name__)


class Author(BaseModel):
    id: str = Field(description="The author's ActivityPub id")
    name: str


class OfferMeta(BaseModel):
    """What an offer read from the API has beside its description."""

    id: str | None = Field(description="Local offers only: the id in /api/v1/offers/{id}")
    ap_id: str = Field(description="The ActivityPub id")
    url: str = Field(description="The HTML page")
    local: bool
    instance: str = Field(description="The domain of the instance it was published on")
    author: Author
    status: OfferStatus
    quantity_total: int | None = Field(description="Seats offered, or guests at most")
    quantity_available: int | None = Field(description="Seats or places still free")
    published_at: Moment
    updated_at: Moment


def _as_stored(offer: Offer, owner: bool) -> dict[str, Any]:
    """An offer whose stored copy does not pass the description (an older remote copy, a row
    written by hand), shown as stored rather than left out."""
    log.info("offer shown as stored", extra={"offer": offer.ap_id})
    data = stored(offer, owner=owner)
    kind = OfferKind(offer.kind)
    for name in SECTION_MODEL[kind].model_fields:  # the same keys, null when unknown
        data[SECTION[kind]].setdefault(name, None)
    for key in ("starts_at", "ends_at", "expires_at"):
        data[key] = data[key].isoformat() if data[key] is not None else None
    return data


def offer_to_api(fed: Federation, offer: Offer, *, owner: bool = False) -> dict[str, Any]:
    """A local or remote offer; ``owner`` adds what only its author may see (a stay's exact
    place and address)."""
    try:
        out = describe(offer, owner=owner).model_dump(mode="json")
    except UnreadableOffer:
        out = _as_stored(offer, owner)
    meta = OfferMeta(
        id=offer.local_uuid,
        ap_id=offer.ap_id,
        url=offer_url(offer),
        local=offer.local_uuid is not None,
        instance=offer.instance_domain,
        author=Author(id=offer.author_uri, name=offer.author_name),
        status=OfferStatus(offer.status),
        quantity_total=offer.quantity_total,
        quantity_available=offer.quantity_available,
        published_at=offer.published_at,
        updated_at=offer.updated_at,
    )
    out.update(meta.model_dump(mode="json"))
    if offer.kind == OfferKind.STAY:
        out["stay"]["public_location"] = public_location(offer).model_dump(mode="json")
    return out


# --- lists of offers ----------------------------------------------------------------------------

SUMMARY_COLUMNS = (
    "ap_id",
    "local_uuid",
    "author_name",
    "instance_domain",
    "kind",
    "purpose",
    "status",
    "title",
    "place_name",
    "starts_at",
    "ends_at",
    "timezone",
    "quantity_total",
    "quantity_available",
    "price_cents",
    "currency",
    "details",
)
"""What ``offer_summary`` reads: a list selects these, never ``document`` nor ``private``."""


def _moment(value: datetime | None) -> str | None:
    """As the API writes it (``Moment``): UTC, ISO 8601."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _name(place: Any) -> SimpleNamespace | None:
    return SimpleNamespace(name=place.get("name")) if isinstance(place, dict) else None


def _section(offer: Offer, kind: OfferKind) -> SimpleNamespace:
    """The part of the kind's section a list shows (places by name only), as ``stored``
    reads it: older rows' keys renamed, the first place from the columns when absent."""
    details = {LEGACY_KEYS[kind].get(k, k): v for k, v in (offer.details or {}).items()}
    public = SimpleNamespace(name=offer.place_name)
    if kind == OfferKind.RIDE:
        return SimpleNamespace(
            origin=_name(details.get("origin")) or public,
            destination=_name(details.get("destination")),
            seats_total=offer.quantity_total,
            seats_available=offer.quantity_available,
        )
    if kind == OfferKind.DELIVERY_JOB:
        return SimpleNamespace(
            pickup=_name(details.get("pickup")) or public,
            dropoff=_name(details.get("dropoff")),
            vehicle=details.get("vehicle"),
        )
    return SimpleNamespace(location=public, max_guests=offer.quantity_total)


def offer_summary(offer: Offer, page: str) -> SimpleNamespace:
    """An offer as a list shows it (the search page): the keys of ``offer_to_api`` it uses,
    with the same values, from ``SUMMARY_COLUMNS`` alone; no description is checked (a list
    shows any stored copy, as ``offer_to_api`` does one it cannot read). ``page``: its HTML
    page (``pages_of``). Attributes, not a dict: a template reads them directly (a dict's
    keys cost it an ``AttributeError`` each, a fifth of a 50-result page's rendering)."""
    kind = OfferKind(offer.kind)
    sections: dict[str, SimpleNamespace | None] = {name: None for name in SECTION.values()}
    sections[SECTION[kind]] = _section(offer, kind)
    return SimpleNamespace(
        kind=kind.value,
        purpose=Purpose(offer.purpose).value,
        status=OfferStatus(offer.status).value,
        title=offer.title,
        starts_at=_moment(offer.starts_at),
        ends_at=_moment(offer.ends_at),
        timezone=offer.timezone,
        price_cents=offer.price_cents,
        currency=offer.currency,
        **sections,
        id=offer.local_uuid,
        ap_id=offer.ap_id,
        url=page,
        local=offer.local_uuid is not None,
        instance=offer.instance_domain,
        author=SimpleNamespace(name=offer.author_name),
    )


async def pages_of(offers: Sequence[Offer]) -> dict[int, str]:
    """Each offer's HTML page, as ``offer_url`` says: a local one's id; a remote one's ``url``
    when on its own host, read from its document by the database (one query, no document
    decoded here)."""
    remote = [o for o in offers if o.local_uuid is None]
    links = await document_urls([o.id for o in remote]) if remote else {}
    pages = {o.id: o.ap_id for o in offers}
    for offer in remote:
        link = link_on_host(first_id(links.get(offer.id)), host_of(offer.ap_id))
        pages[offer.id] = link or offer.ap_id
    return pages
