"""The listing: the admitted instances, first-hand and mirrored, filtered for a reader, and the
document that serves them (``activitypub.directory`` decides its shape)."""

from __future__ import annotations

from typing import Any

from activitypub.directory import ListedInstance, Listing, entry_views
from activitypub.urls import DIRECTORY_USERNAME
from federation.context import Federation
from models.actors import ActorKind
from models.directory import DirectoryEntry, EntryState


def directory_id(fed: Federation) -> str:
    return fed.urls.actor_for(ActorKind.DIRECTORY, DIRECTORY_USERNAME)


async def listing(
    *,
    kind: str | None = None,
    country: str | None = None,
    chatons: bool | None = None,
    open_registrations: bool | None = None,
) -> list[DirectoryEntry]:
    query = DirectoryEntry.filter(state=EntryState.ADMITTED)
    if country:
        query = query.filter(country_code=country.upper()[:2])
    if chatons is not None:
        query = query.filter(chatons_member=chatons)
    if open_registrations is not None:
        query = query.filter(open_registrations=open_registrations)
    entries = await query.order_by("name", "domain")
    if kind:
        entries = [e for e in entries if kind in (e.kinds or [])]
    return entries


def listed(fed: Federation, entries: list[DirectoryEntry]) -> list[ListedInstance]:
    """The entries as listed (a row that would not validate is left out, with a log line)."""
    return entry_views(entries, directory_id(fed))


def listing_document(fed: Federation, items: list[ListedInstance]) -> dict[str, Any]:
    """The listing as served at ``…/directory/instances`` (where mirrors read it)."""
    listing_view = Listing(
        id=fed.urls.url("directory_listing"),
        name=fed.directory.name or "Directory",
        summary=fed.directory.description,
        attributedTo=directory_id(fed),
        orderedItems=items,
    )
    return listing_view.to_json()
