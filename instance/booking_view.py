"""Bookings as the JSON API (and the pages) show them to one of their two parties. The models
here document the answers in the OpenAPI document.

The private details (meeting point, contact, exact address) appear only once the booking is
accepted (and after, when it took place); never on a request, a refusal or a cancellation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

from activitypub.offer_schema import Moment
from activitypub.offers import offer_url
from federation.context import Federation
from models.bookings import Booking, BookingMessage, BookingState, BookingVia, Progress
from models.offers import Offer, OfferKind, OfferStatus

SHOWS_PRIVATE = (BookingState.ACCEPTED, BookingState.DONE, BookingState.NOT_HAPPENED)


class Person(BaseModel):
    id: str = Field(description="The ActivityPub id")
    name: str


class BookedOffer(BaseModel):
    ap_id: str = Field(description="The offer's ActivityPub id")
    id: str | None = Field(description="Local offers only: the id in /api/v1/offers/{id}")
    url: str | None = Field(description="The offer's page (null when the offer is gone)")
    title: str
    kind: OfferKind
    status: OfferStatus | None = Field(description="As known here; null when the offer is gone")
    quantity_available: int | None


class PrivateDetails(BaseModel):
    """Shared by the author with the confirmed party only."""

    meeting_point: str | None = None
    contact: str | None = None
    address: str | None = Field(None, description="Stays: the exact address")
    latitude: float | None = Field(None, description="Stays: the exact position")
    longitude: float | None = None
    pickup_address: str | None = Field(None, description="Delivery jobs")
    dropoff_address: str | None = Field(None, description="Delivery jobs")
    instructions: str | None = None


class Message(BaseModel):
    id: str = Field(description="The message's ActivityPub id")
    author: str = Field(description="Its author's ActivityPub id")
    mine: bool = Field(description="Written by the member reading")
    content: str = Field(description="Plain text")
    created_at: Moment


class BookingOut(BaseModel):
    """A booking, as one of its two parties sees it."""

    id: str = Field(description="The id in /api/v1/bookings/{id}")
    ap_id: str = Field(description="The request's id (the booker's Offer activity)")
    agreement_id: str | None = Field(description="The agreement's id, once accepted")
    url: str = Field(description="The booking's page")
    role: Literal["booker", "author"] = Field(description="The reader's side")
    offer: BookedOffer
    booker: Person
    author: Person
    quantity: int = Field(description="Seats, guests; 1 for a delivery job")
    starts_at: Moment | None = Field(description="Stays: arrival")
    ends_at: Moment | None = Field(description="Stays: departure")
    happens_at: Moment = Field(
        description="When it takes place: an unanswered request expires then; from then on, "
        "either side may say whether it happened"
    )
    message: str = Field(description="The booker's message with the request")
    state: BookingState
    reason: str = Field(description="Why it was declined, cancelled; the completion's note")
    via: BookingVia = Field(description="coopub, or a direct message from Mastodon")
    progress: Progress | None = Field(description="Delivery jobs: the courier's progress")
    progress_note: str
    courier: Literal["booker", "author"] | None = Field(
        description="Delivery jobs: the side that holds the job and reports its progress"
    )
    private: PrivateDetails | None = Field(
        description="Only once accepted: what the author shares with the booker"
    )
    created_at: Moment
    updated_at: Moment
    decided_at: Moment | None
    messages: list[Message] | None = Field(
        None, description="The conversation (when reading one booking)"
    )


def _offer(fed: Federation, booking: Booking, offer: Offer | None) -> BookedOffer:
    return BookedOffer(
        ap_id=booking.offer_uri,
        id=offer.local_uuid if offer else None,
        url=offer_url(offer) if offer else None,
        title=booking.title,
        kind=OfferKind(booking.kind),
        status=OfferStatus(offer.status) if offer else None,
        quantity_available=offer.quantity_available if offer else None,
    )


def booking_to_api(
    fed: Federation,
    booking: Booking,
    reader_id: int,
    offer: Offer | None,
    messages: Iterable[BookingMessage] | None = None,
) -> dict[str, Any]:
    """One booking for the member ``reader_id`` (its booker or its author)."""
    role: Literal["booker", "author"] = "booker" if booking.booker_id == reader_id else "author"
    me = booking.booker_uri if role == "booker" else booking.author_uri
    courier: Literal["booker", "author"] | None = None
    if booking.kind == OfferKind.DELIVERY_JOB:
        courier = "booker" if booking.courier_is_booker else "author"
    shown = booking.state in SHOWS_PRIVATE and booking.private
    out = BookingOut(
        id=booking.local_uuid,
        ap_id=booking.ap_id,
        agreement_id=booking.agreement_id,
        url=fed.urls.booking(booking.local_uuid),
        role=role,
        offer=_offer(fed, booking, offer),
        booker=Person(id=booking.booker_uri, name=booking.booker_name),
        author=Person(id=booking.author_uri, name=booking.author_name),
        quantity=booking.quantity,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        happens_at=booking.happens_at,
        message=booking.message,
        state=BookingState(booking.state),
        reason=booking.reason,
        via=BookingVia(booking.via),
        progress=Progress(booking.progress) if booking.progress else None,
        progress_note=booking.progress_note,
        courier=courier,
        private=PrivateDetails.model_validate(booking.private) if shown else None,
        created_at=booking.created_at,
        updated_at=booking.updated_at,
        decided_at=booking.decided_at,
        messages=None
        if messages is None
        else [
            Message(
                id=m.ap_id,
                author=m.author_uri,
                mine=m.author_uri == me,
                content=m.content,
                created_at=m.created_at,
            )
            for m in messages
        ],
    )
    dumped = out.model_dump(mode="json")
    if messages is None:
        dumped.pop("messages")
    return dumped


async def offers_of(bookings: Iterable[Booking]) -> dict[int, Offer]:
    """The offers of several bookings, in one query."""
    ids = {b.offer_id for b in bookings if b.offer_id is not None}
    return {o.id: o for o in await Offer.filter(id__in=ids)} if ids else {}
