"""A member's archive as JSON-LD: the collections of ``coopub member export`` and the
settings page's download (``federation/services/export``, ``instance/export_archive``).

Laid out as Mastodon's archive (``app/services/backup_service.rb``) where it fits: each file
is an ``OrderedCollection`` whose id is its own file name (``outbox.json``), with the objects as
this instance serves them. What Mastodon has no file for (bookings, follows, saved searches)
uses the terms coopub already sends: ValueFlows ``Agreement``s and ``Commitment``s with
coopub's booking terms, ``Follow`` activities, AS2 ``Place``s. Every ``@context`` names the
bundled contexts by their URLs (``activitypub/jsonld``), so the files expand offline.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from activitypub.bookings import BOOKING_TERMS, PrivateDetails
from activitypub.bookings_build import Terms, agreement, as_html
from activitypub.jsonld import AS2, COOPUB_NS, VALUEFLOWS
from activitypub.wire import iso
from models.alerts import SavedSearch
from models.bookings import Booking, BookingMessage, BookingState
from models.follows import Follow

ARCHIVE_TERMS: dict[str, Any] = {
    "role": "coopub:role",
    "reason": "coopub:reason",
    "via": "coopub:via",
    "progress": "coopub:progress",
    "progressNote": "coopub:progressNote",
    "booker": {"@id": "coopub:booker", "@type": "@id"},
    "author": {"@id": "coopub:author", "@type": "@id"},
    "request": {"@id": "coopub:request", "@type": "@id"},
    "messages": {"@id": "coopub:messages", "@container": "@list"},
    "SavedSearch": "coopub:SavedSearch",
    "query": "coopub:query",
    "minQuantity": "coopub:minQuantity",
    "matches": {"@id": "coopub:matches", "@type": "@id"},
}
"""What only the archive says (a booking's state and parties, a saved search), in coopub's
namespace; ``status`` (``coopub:status``) comes with the booking terms."""

SHOWS_PRIVATE = frozenset({BookingState.ACCEPTED, BookingState.DONE, BookingState.NOT_HAPPENED})
"""A booking's private details are in the archive when its page shows them."""


def archive_context() -> list[Any]:
    """AS2, ValueFlows and coopub by URL (bundled, served at ``/contexts/``), then the booking
    terms and the archive's own inline."""
    return [AS2, VALUEFLOWS, COOPUB_NS, {**BOOKING_TERMS, **ARCHIVE_TERMS}]


def collection(name: str, items: list[Any]) -> dict[str, Any]:
    """One archive file: ``OrderedCollection`` named by its file, items in order."""
    return {
        "@context": archive_context(),
        "id": name,
        "type": "OrderedCollection",
        "totalItems": len(items),
        "orderedItems": items,
    }


def _party(uri: str, name: str) -> dict[str, Any]:
    return {"id": uri, "name": name} if name else {"id": uri}


def _terms(booking: Booking) -> Terms:
    return Terms(
        offer_id=booking.offer_uri,
        quantity=booking.quantity,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
    )


def message_to_as(message: BookingMessage, conversation: str, to: str) -> dict[str, Any]:
    """A message as the private ``Note`` it travelled as (HTML paragraphs, FEP-7888
    ``context``)."""
    return {
        "id": message.ap_id,
        "type": "Note",
        "attributedTo": message.author_uri,
        "to": [to],
        "context": conversation,
        "content": as_html(message.content),
        "published": iso(message.created_at),
    }


def booking_to_as(
    booking: Booking, member_uri: str, page_url: str, messages: Iterable[BookingMessage]
) -> dict[str, Any]:
    """A booking the member made or received: the ``Agreement`` (accepted: its id on the
    author's host; else the booker's proposal, ``<request>#agreement``), its parties, state and
    conversation. The private details only when the booking's page shows them."""
    details = None
    if booking.state in SHOWS_PRIVATE and booking.private:
        details = PrivateDetails.from_stored(booking.private)
    agreement_id = booking.agreement_id or f"{booking.ap_id}#agreement"
    built = agreement(
        _terms(booking),
        agreement_id=agreement_id,
        message=booking.message,
        details=details,
        final=booking.agreement_id is not None,
    ).model_dump(mode="json", exclude_none=True)
    parties = {booking.booker_uri: booking.author_uri, booking.author_uri: booking.booker_uri}
    doc: dict[str, Any] = {
        **built,
        "id": agreement_id,
        "name": booking.title,
        "url": page_url,
        "request": booking.ap_id,
        "role": "booker" if booking.booker_uri == member_uri else "author",
        "booker": _party(booking.booker_uri, booking.booker_name),
        "author": _party(booking.author_uri, booking.author_name),
        "status": booking.state.value,
        "via": booking.via.value,
        "published": iso(booking.created_at),
        "updated": iso(booking.updated_at),
        "messages": [
            message_to_as(m, agreement_id, parties.get(m.author_uri, member_uri)) for m in messages
        ],
    }
    if booking.reason:
        doc["reason"] = booking.reason
    if booking.progress:
        doc["progress"] = booking.progress.value
        doc["progressNote"] = booking.progress_note
    return doc


def follow_to_as(follow: Follow) -> dict[str, Any]:
    """A follow, as the ``Follow`` activity it was, with its state (accepted or pending)."""
    return {
        "id": follow.ap_id,
        "type": "Follow",
        "actor": follow.follower_uri,
        "object": follow.target_uri,
        "published": iso(follow.created_at),
        "status": follow.state.value,
    }


def _moment(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def search_to_as(search: SavedSearch, matches: list[str]) -> dict[str, Any]:
    """A saved search: its criteria (the place as an AS2 ``Place`` with its radius in km) and
    the offers it matched."""
    doc: dict[str, Any] = {"type": "SavedSearch", "published": iso(search.created_at)}
    optional = {
        "name": search.name or None,
        "kind": search.kind,
        "purpose": search.purpose,
        "query": search.text,
        "minQuantity": search.min_quantity,
        "startTime": _moment(search.date_from),
        "endTime": _moment(search.date_to),
    }
    doc.update({k: v for k, v in optional.items() if v is not None})
    if search.place or search.latitude is not None:
        place: dict[str, Any] = {"type": "Place", "radius": search.radius_km, "units": "km"}
        if search.place:
            place["name"] = search.place
        if search.latitude is not None and search.longitude is not None:
            place.update(latitude=search.latitude, longitude=search.longitude)
        doc["location"] = place
    doc["matches"] = matches
    return doc
