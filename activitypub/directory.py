"""The directory's listing on the wire: each listed instance, and the listing that holds them.

The same view is built from our rows (the listing we serve) and from another directory's listing
(mirroring): what we would refuse to read, we do not publish. Identifiers and coordinates are
checked (an entry failing them is refused as a whole); free text is cut to the lengths we store;
a link to the instance is kept only when it is http(s) on the instance's own host.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from activitypub.urls import link_on_host
from activitypub.wire import AS2_CONTEXT, MAX_URL, Finite, Flag, HttpUrl, View, host_or_none, prose
from models.directory import DirectoryEntry
from models.errors import Malformed

log = logging.getLogger(__name__)

LISTING_CONTEXT: list[Any] = [
    AS2_CONTEXT,
    {
        "coopub": "https://w3id.org/coopub/ns#",
        "kinds": "coopub:kinds",
        "openRegistrations": "coopub:openRegistrations",
        "chatonsMember": "coopub:chatonsMember",
        "software": "coopub:software",
        "lastSeen": "coopub:lastSeen",
        "source": {"@id": "coopub:source", "@type": "@id"},
        "domain": "coopub:domain",
        "country": "coopub:country",
        "unreachable": "coopub:unreachable",
    },
]
MAX_KINDS = 10
DOMAIN_PATTERN = r"^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:[0-9]{1,5})?$"


def web_url(value: Any, domain: str) -> str:
    """A listed instance's address, as a link we can render: http(s) on that domain only (and
    short enough to store), else its domain's home page."""
    link = link_on_host(value, domain)
    return link if link is not None and len(link) <= MAX_URL else f"https://{domain}"


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _country(value: Any) -> Any:
    if value == "" or value is None:
        return None
    return value.upper() if isinstance(value, str) else value


def _kinds(value: Any) -> Any:
    if value is None:
        return []
    return value[:MAX_KINDS] if isinstance(value, list) else value


Domain = Annotated[
    str, BeforeValidator(_lower), StringConstraints(max_length=253, pattern=DOMAIN_PATTERN)
]
Country = Annotated[
    Annotated[str, StringConstraints(pattern="^[A-Z]{2}$")] | None, BeforeValidator(_country)
]
Kind = Annotated[str, StringConstraints(min_length=1, max_length=50)]


class Place(View):
    type: Literal["Place"] = "Place"
    name: Annotated[str, BeforeValidator(prose(200))] = ""
    latitude: Annotated[Finite, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[Finite, Field(ge=-180, le=180)] | None = None
    country: Country = None


class Software(View):
    name: Annotated[str, BeforeValidator(prose(100))] = ""
    version: Annotated[str, BeforeValidator(prose(100))] = ""


class ListedInstance(View):
    """One instance in a directory's listing (a ``Service`` with our ``coopub:`` terms)."""

    type: Literal["Service"] = "Service"
    id: HttpUrl
    name: Annotated[str, BeforeValidator(prose(200))] = ""
    url: str
    summary: Annotated[str, BeforeValidator(prose(2000))] = ""
    domain: Domain
    location: Place | None = None
    kinds: Annotated[list[Kind], BeforeValidator(_kinds)] = Field(default_factory=list)
    openRegistrations: bool | None = None
    chatonsMember: Flag = False
    software: Annotated[Software, BeforeValidator(lambda v: {} if v is None else v)] = Software()
    lastSeen: Annotated[str, StringConstraints(max_length=64)] | None = None
    unreachable: Flag = False
    source: HttpUrl

    @model_validator(mode="before")
    @classmethod
    def _link_on_its_host(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and isinstance(raw.get("domain"), str):
            return {**raw, "url": web_url(raw.get("url"), raw["domain"].lower())}
        return raw

    @model_validator(mode="after")
    def _id_on_its_host(self) -> ListedInstance:
        if host_or_none(self.id) != self.domain:
            raise ValueError("the instance's actor is not on its domain")
        return self

    @classmethod
    def read(cls, raw: Any, default_source: str) -> ListedInstance:
        """An entry of another directory's listing; one without a source is that directory's."""
        if isinstance(raw, dict) and not raw.get("source"):
            raw = {**raw, "source": default_source}
        return cls.parse(raw)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump()


def entry_view(entry: DirectoryEntry, own_directory: str) -> ListedInstance:
    """An entry of our listing; Malformed when the row holds what a mirror would refuse."""
    located = entry.latitude is not None or bool(entry.country_code)
    place = {
        "name": entry.city or "",
        "latitude": entry.latitude,
        "longitude": entry.longitude,
        "country": entry.country_code,
    }
    return ListedInstance.parse(
        {
            "id": entry.actor_uri,
            "name": entry.name,
            "url": entry.url,
            "summary": entry.description,
            "domain": entry.domain,
            "location": place if located else None,
            "kinds": entry.kinds,
            "openRegistrations": entry.open_registrations,
            "chatonsMember": entry.chatons_member,
            "software": {"name": entry.software_name, "version": entry.software_version},
            "lastSeen": entry.last_seen_at.isoformat() if entry.last_seen_at else None,
            "unreachable": entry.unreachable,
            "source": entry.source or own_directory,
        }
    )


def entry_views(entries: list[DirectoryEntry], own_directory: str) -> list[ListedInstance]:
    """The listing's entries; a row that does not validate is left out, with a log line."""
    listed = []
    for entry in entries:
        try:
            listed.append(entry_view(entry, own_directory))
        except Malformed as exc:
            error = str(exc)
            log.warning(
                "directory entry not listed", extra={"domain": entry.domain, "error": error}
            )
    return listed


def as_to_entry_fields(item: ListedInstance) -> dict[str, Any]:
    """The fields of a mirrored ``DirectoryEntry`` (the caller keys it by domain and source)."""
    place = item.location or Place()
    return {
        "actor_uri": item.id,
        "name": item.name,
        "url": item.url,
        "description": item.summary,
        "kinds": list(item.kinds),
        "open_registrations": item.openRegistrations,
        "chatons_member": item.chatonsMember,
        "software_name": item.software.name,
        "software_version": item.software.version,
        "country_code": place.country,
        "city": place.name or None,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "last_seen_at": datetime.now(UTC),
    }


# --- the listing ----------------------------------------------------------------------------


class Listing(View):
    """A directory's listing, an ``OrderedCollection`` with every entry inline (a directory is
    small). Read back, its entries are left raw: each is read on its own, so one bad entry is
    skipped rather than the listing."""

    id: HttpUrl
    name: str
    summary: str
    attributedTo: HttpUrl
    orderedItems: list[ListedInstance]

    def to_json(self) -> dict[str, Any]:
        return {
            "@context": LISTING_CONTEXT,
            "id": self.id,
            "type": "OrderedCollection",
            "name": self.name,
            "summary": self.summary,
            "attributedTo": self.attributedTo,
            "totalItems": len(self.orderedItems),
            "orderedItems": [item.to_json() for item in self.orderedItems],
        }


class RemoteListing(View):
    """Another directory's listing, as read before its entries are: they must be a list."""

    orderedItems: list[Any]
