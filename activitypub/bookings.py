"""Bookings on the wire (FEP-0837): the request, its answer, cancellation, status, messages.

Every activity here is private: addressed to the other party alone, never to the public or to
followers. The request is ``Offer{Agreement}``; the author answers ``Accept{result: Agreement}``
(carrying the private details) or ``Reject``; the booker cancels with ``Undo`` of its ``Offer``,
the author with ``Reject`` of the agreement; completion and delivery progress are
``Update{Agreement{status}}``; the conversation is private ``Note``s grouped by ``context``
(FEP-7888). Each side updates only an agreement id on its own host: the author the finalized
agreement's id, the booker its proposal's, ``<Offer id>#agreement``.

Views validate on construction (what we send is well-formed by construction) and on reading
(incoming JSON is first compacted against our context, so any prefixes work; what does not fit
raises ``Malformed`` with the reason).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BeforeValidator, Field, PlainSerializer, model_validator

from activitypub.apobject import all_ids, first_id
from activitypub.jsonld import AS2, bundled, compact
from activitypub.urls import PUBLIC_ALIASES, host_of
from activitypub.wire import Audience, Finite, HttpUrl, View, iso
from models.errors import Malformed

PRIMARY = "#primary"
RECIPROCAL = "#reciprocal"
PROPOSAL = "#agreement"
"""The booker's name for the agreement it proposes: ``<Offer id>#agreement``."""
BOOKING_TERMS: dict[str, Any] = {
    "coopub": "https://w3id.org/coopub/ns#",
    "status": "coopub:status",
    "privateDetails": "coopub:privateDetails",
    "meetingPoint": "coopub:meetingPoint",
    "contact": "coopub:contact",
    "address": "coopub:address",
    "pickupAddress": "coopub:pickupAddress",
    "dropoffAddress": "coopub:dropoffAddress",
    "instructions": "coopub:instructions",
}
AgreementStatus = Literal["done", "not_happened", "picked_up", "delivered", "failed"]
DETAIL_NAMES = {
    "meetingPoint": "meeting_point",
    "contact": "contact",
    "address": "address",
    "pickupAddress": "pickup_address",
    "dropoffAddress": "dropoff_address",
    "instructions": "instructions",
    "latitude": "latitude",
    "longitude": "longitude",
}
"""Private details: wire name → the name stored and shown by the API."""


READ_TERMS = {"satisfies": "vf:satisfies", "resourceConformsTo": "vf:resourceConformsTo"}
"""Read without type coercion: FEP-0837's own context (Mitra's) gives these as plain strings,
ours as ids; both come out as a value ``first_id`` reads."""


def booking_context(*, reading: bool = False) -> list[Any]:
    """AS2 by URL, the ValueFlows terms and ours inline (no peer has to fetch anything)."""
    terms = {**bundled("valueflows.jsonld")["@context"], **BOOKING_TERMS}
    return [AS2, {**terms, **READ_TERMS} if reading else terms]


def _moment(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("not a date and time (ISO 8601)") from None
    if isinstance(value, datetime):
        try:
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        except OverflowError:  # year 1 or 9999 pushed out of range by its offset
            raise ValueError("not a date and time (ISO 8601)") from None
    return value


def _count(value: Any) -> Any:
    """``"2"``, ``2`` or ``2.0`` → 2; anything else is left for the type check to refuse."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _decimal(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}"
    return value


def _text(limit: int) -> Any:
    def check(value: Any) -> Any:
        return value[:limit] if isinstance(value, str) else value

    return BeforeValidator(check)


Moment = Annotated[
    datetime, BeforeValidator(_moment), PlainSerializer(iso, return_type=str, when_used="json")
]
Ids = Annotated[list[Audience], BeforeValidator(all_ids)]
Ref = Annotated[HttpUrl, BeforeValidator(first_id)]
Count = Annotated[
    int,
    BeforeValidator(_count),
    Field(ge=1, le=1000),
    PlainSerializer(str, return_type=str, when_used="json"),
]
"""A number of units; sent as a string, as FEP-0837's examples do."""
Decimal = Annotated[str, BeforeValidator(_decimal), Field(pattern=r"^[0-9]{1,9}(\.[0-9]{1,4})?$")]


class Quantity(View):
    hasUnit: Literal["one"] = "one"
    hasNumericalValue: Count


class Amount(View):
    hasUnit: Annotated[str, Field(max_length=100)] = "one"
    hasNumericalValue: Decimal


class Commitment(View):
    """The primary commitment: how many units of the offer's primary intent."""

    type: Literal["Commitment"] = "Commitment"
    id: HttpUrl | None = None
    satisfies: Ref
    resourceQuantity: Quantity

    @model_validator(mode="after")
    def _primary(self) -> Commitment:
        if not self.satisfies.endswith(PRIMARY):
            raise ValueError("the commitment must satisfy the offer's primary intent")
        return self


class Reciprocal(View):
    """What is given in return (the offer's price), when the offer has one."""

    type: Literal["Commitment"] = "Commitment"
    id: HttpUrl | None = None
    satisfies: Ref
    resourceConformsTo: Annotated[str | None, BeforeValidator(first_id), Field(max_length=500)] = (
        None
    )
    resourceQuantity: Amount


class PrivateDetails(View):
    """What only the confirmed party sees: where to meet, how to reach the author, the exact
    address (stays), the pickup and dropoff addresses (delivery jobs)."""

    meetingPoint: Annotated[str | None, _text(500)] = None
    contact: Annotated[str | None, _text(500)] = None
    address: Annotated[str | None, _text(500)] = None
    pickupAddress: Annotated[str | None, _text(500)] = None
    dropoffAddress: Annotated[str | None, _text(500)] = None
    instructions: Annotated[str | None, _text(2000)] = None
    latitude: Annotated[Finite, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[Finite, Field(ge=-180, le=180)] | None = None

    def stored(self) -> dict[str, Any]:
        """As stored and shown by the API (``meeting_point``…), only what is set."""
        dumped = self.model_dump(exclude_none=True)
        return {DETAIL_NAMES[k]: v for k, v in dumped.items() if v != ""}

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> PrivateDetails:
        wire = {k: stored[v] for k, v in DETAIL_NAMES.items() if stored.get(v) not in (None, "")}
        return cls.model_validate(wire)


class Agreement(View):
    type: Literal["Agreement"] = "Agreement"
    id: HttpUrl | None = None
    stipulates: Commitment | None = None
    stipulatesReciprocal: Reciprocal | None = None
    startTime: Moment | None = None
    endTime: Moment | None = None
    content: Annotated[str | None, _text(5000)] = None
    status: AgreementStatus | None = None
    privateDetails: PrivateDetails | None = None

    @property
    def offer_id(self) -> str:
        """The offer the agreement is about (its primary intent, without ``#primary``)."""
        return self.stipulates.satisfies.removesuffix(PRIMARY) if self.stipulates else ""

    @property
    def quantity(self) -> int:
        return self.stipulates.resourceQuantity.hasNumericalValue if self.stipulates else 0

    @model_validator(mode="after")
    def _dates(self) -> Agreement:
        if self.startTime and self.endTime and self.endTime <= self.startTime:
            raise ValueError("endTime must be after startTime")
        return self


class BookingActivity(View):
    """What every booking activity has; addressed to one party, never public."""

    id: HttpUrl
    actor: HttpUrl
    to: Ids
    cc: Ids = Field(default_factory=list)
    published: Moment | None = None

    @model_validator(mode="after")
    def _private(self) -> BookingActivity:
        if PUBLIC_ALIASES.intersection([*self.to, *self.cc]):
            raise ValueError("a booking activity must not be public")
        if not self.to:
            raise ValueError("a booking activity is addressed to the other party")
        return self

    def to_json(self) -> dict[str, Any]:
        dumped = self.model_dump(mode="json", exclude_none=True)
        if not dumped.get("cc"):
            dumped.pop("cc", None)
        order = ("id", "type", "actor", "object", "result", "content", "to", "cc", "published")
        return {"@context": booking_context(), **{k: dumped[k] for k in order if k in dumped}}


class RequestActivity(BookingActivity):
    """``Offer{Agreement}``: the booker asks the offer's author."""

    type: Literal["Offer"] = "Offer"
    object: Agreement

    @model_validator(mode="after")
    def _terms(self) -> RequestActivity:
        if self.object.stipulates is None:
            raise ValueError("the agreement stipulates nothing")
        return self


class AcceptActivity(BookingActivity):
    """``Accept{object: <Offer id>, result: Agreement}``: the finalized agreement."""

    type: Literal["Accept"] = "Accept"
    object: Ref
    result: Agreement

    @model_validator(mode="after")
    def _finalized(self) -> AcceptActivity:
        if self.result.id is None or self.result.stipulates is None:
            raise ValueError("the accepted agreement needs an id and its terms")
        if host_of(self.result.id) != host_of(self.actor):
            raise ValueError("the agreement is not on the author's host")
        return self


class RejectActivity(BookingActivity):
    """``Reject`` of a request (``<Offer id>``) or of an accepted agreement, with a reason."""

    type: Literal["Reject"] = "Reject"
    object: Ref
    content: Annotated[str | None, _text(2000)] = None


class UndoActivity(BookingActivity):
    """``Undo`` of the booker's own ``Offer``: the request withdrawn, or the booking cancelled."""

    type: Literal["Undo"] = "Undo"
    object: Ref
    content: Annotated[str | None, _text(2000)] = None


class StatusActivity(BookingActivity):
    """``Update{Agreement{id, status}}``: done, not happened, or a delivery job's progress."""

    type: Literal["Update"] = "Update"
    object: Agreement

    @model_validator(mode="after")
    def _status(self) -> StatusActivity:
        if self.object.id is None or self.object.status is None:
            raise ValueError("a status update names the agreement and its status")
        if host_of(self.object.id) != host_of(self.actor):
            raise ValueError("an agreement is updated only from its own host")
        return self


class Mention(View):
    type: Literal["Mention"] = "Mention"
    href: HttpUrl
    name: Annotated[str, Field(max_length=500)] | None = None


def _mentions(value: Any) -> Any:
    """Only the mentions of a note's tags (hashtags and emoji are not ours to read)."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    return [
        t
        for t in items
        if isinstance(t, Mention) or (isinstance(t, dict) and t.get("type") == "Mention")
    ]


class PrivateNote(View):
    """A message between the two parties (or a direct message to a Mastodon user)."""

    type: Literal["Note"] = "Note"
    id: HttpUrl
    attributedTo: Ref
    to: Ids
    cc: Ids = Field(default_factory=list)
    context: Ref | None = None
    inReplyTo: Ref | None = None
    content: Annotated[str, _text(20_000)] = ""
    published: Moment | None = None
    tag: Annotated[list[Mention], BeforeValidator(_mentions)] = Field(default_factory=list)


class MessageActivity(BookingActivity):
    """``Create`` of a ``PrivateNote``."""

    type: Literal["Create"] = "Create"
    object: PrivateNote

    def to_json(self) -> dict[str, Any]:
        doc = super().to_json()
        doc["object"] = {k: v for k, v in doc["object"].items() if v != []}
        return doc

    @model_validator(mode="after")
    def _same_author(self) -> MessageActivity:
        if self.object.attributedTo != self.actor:
            raise ValueError("the note is not the actor's")
        if PUBLIC_ALIASES.intersection([*self.object.to, *self.object.cc]):
            raise ValueError("a booking message must not be public")
        return self


V = TypeVar("V", bound=BookingActivity)


def read_activity(raw: dict[str, Any], view: type[V], *, followers: str | None) -> V:
    """The view of an incoming booking activity (compacted against our context first), or
    ``Malformed`` saying what does not fit. ``followers``, the sender's followers collection:
    a booking activity (or its note) addressed to it is not private either."""
    found = view.parse(compact(raw, booking_context(reading=True)))
    audience = [*found.to, *found.cc]
    if isinstance(found, MessageActivity):
        audience += [*found.object.to, *found.object.cc]
    if followers and followers in audience:
        raise Malformed(f"{view.__name__}: addressed to the sender's followers")
    return found
