"""Offers as the JSON API and the pages show them: the description the API accepts, plus what
only the server knows (ids, author, status, times). ``OfferMeta`` documents that part in the
OpenAPI document."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field

from activitypub.offer_model import UnreadableOffer, describe, public_location, stored
from activitypub.offer_schema import SECTION, SECTION_MODEL, Moment
from activitypub.offers import offer_url
from federation.context import Federation
from models.offers import Offer, OfferKind, OfferStatus

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
