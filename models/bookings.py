"""Bookings: a request for an offer (seats, nights, a delivery job) and what became of it.

Each instance keeps its own row for a booking it takes part in: the booker's instance (the
request it sent) and the author's instance (the request it received and decided), one row when
both are here. The offer's title, kind and time are copied, so that a booking still reads when
the offer (or our copy of a remote one) is gone. ``private`` holds the details only the two
parties see (meeting point, contact, exact address), stored on their two instances only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.actors import LocalActor
from models.json_column import read_json
from models.offers import Offer, OfferKind, Purpose


class BookingState(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    DONE = "done"
    NOT_HAPPENED = "not_happened"


class BookingVia(StrEnum):
    """How the request came: coopub's ``Offer(Agreement)``, or a direct message (Mastodon)."""

    COOPUB = "coopub"
    DIRECT_MESSAGE = "direct_message"


class Progress(StrEnum):
    """A delivery job's progress, reported by the courier's side, in this order."""

    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    FAILED = "failed"


class Booking(Model):
    id = fields.IntField(primary_key=True)
    local_uuid = fields.CharField(max_length=36, unique=True)
    """This instance's name for the booking, in its page and API paths."""
    ap_id = fields.CharField(max_length=500, unique=True)
    """The request's id: the booker's ``Offer`` activity (or the direct message's ``Note``)."""
    agreement_id = fields.CharField(max_length=500, null=True, unique=True)
    """The agreement's id on the author's instance, once accepted."""
    offer: fields.ForeignKeyNullableRelation[Offer] = fields.ForeignKeyField(
        "models.Offer", related_name="bookings", null=True, on_delete=fields.SET_NULL
    )
    offer_id: int | None
    offer_uri = fields.CharField(max_length=500)
    kind = fields.CharEnumField(OfferKind, max_length=16)
    purpose = fields.CharEnumField(Purpose, max_length=16)
    title = fields.CharField(max_length=200)
    booker: fields.ForeignKeyNullableRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="bookings_made", null=True, on_delete=fields.CASCADE
    )
    booker_id: int | None
    booker_uri = fields.CharField(max_length=500)
    booker_name = fields.CharField(max_length=200, default="")
    author: fields.ForeignKeyNullableRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="bookings_received", null=True, on_delete=fields.CASCADE
    )
    author_id: int | None
    author_uri = fields.CharField(max_length=500)
    author_name = fields.CharField(max_length=200, default="")
    quantity = fields.IntField()
    starts_at = fields.DatetimeField(null=True)
    """Stays: the arrival asked for."""
    ends_at = fields.DatetimeField(null=True)
    """Stays: the departure asked for."""
    happens_at = fields.DatetimeField()
    """When it takes place (departure, arrival, the job's start): an unanswered request expires
    then, and from then on either side may say whether it happened."""
    message = fields.TextField(default="")
    state = fields.CharEnumField(BookingState, max_length=16, default=BookingState.REQUESTED)
    reason = fields.TextField(default="")
    private: fields.JSONField[dict[str, Any]] = fields.JSONField(decoder=read_json, default=dict)
    via = fields.CharEnumField(BookingVia, max_length=16, default=BookingVia.COOPUB)
    progress = fields.CharEnumField(Progress, max_length=16, null=True)
    progress_note = fields.TextField(default="")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "booking"
        table_description = "Bookings of offers, requested here or received here"
        indexes = (
            Index(fields=("state", "happens_at")),
            Index(fields=("offer_id", "state")),
            Index(fields=("booker_id", "created_at")),
            Index(fields=("author_id", "created_at")),
        )

    @property
    def booker_is_local(self) -> bool:
        return self.booker_id is not None

    @property
    def author_is_local(self) -> bool:
        return self.author_id is not None

    @property
    def courier_is_booker(self) -> bool:
        """A posted delivery job (a request) is taken by a courier who books it; a courier's
        availability (an offer) is booked by the shop, and the author is the courier."""
        return self.purpose == Purpose.REQUEST


class BookingMessage(Model):
    """One message of a booking's conversation (a private ``Note`` between the two parties)."""

    id = fields.IntField(primary_key=True)
    booking: fields.ForeignKeyRelation[Booking] = fields.ForeignKeyField(
        "models.Booking", related_name="messages", on_delete=fields.CASCADE
    )
    booking_id: int
    ap_id = fields.CharField(max_length=500, unique=True)
    author_uri = fields.CharField(max_length=500)
    content = fields.TextField()
    """Plain text (remote HTML is reduced to its text on receipt)."""
    created_at = fields.DatetimeField()

    class Meta:
        table = "booking_message"
        table_description = "Messages exchanged about a booking"
        indexes = (Index(fields=("booking_id", "created_at")),)
