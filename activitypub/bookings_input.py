"""What a member sends to book and to act on a booking, checked once (strict for the API, lax
for forms), refused as coded problems like an offer's description.

The same ``BookingAsk`` is what an incoming ``Offer(Agreement)`` or a direct message is read
into, so every request meets one set of limits wherever it comes from.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from activitypub.bookings_errors import InvalidBooking
from activitypub.offer_input import problems_of, prune
from activitypub.offer_schema import Moment
from models.i18n import N_

MAX_MESSAGE = 5000
MAX_QUANTITY = 100


class Checked(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")


class BookingAsk(Checked):
    """A request: how many (seats, guests; 1 for a delivery job), the nights of a stay, a
    message to the author."""

    quantity: int = Field(
        1,
        title="How many",
        description=N_("Seats for a ride, guests for a stay; 1 for a delivery job"),
        ge=1,
        le=MAX_QUANTITY,
    )
    starts_at: Moment | None = Field(None, title="Arrival", description=N_("Stays only"))
    ends_at: Moment | None = Field(None, title="Departure", description=N_("Stays only"))
    message: str = Field("", title="Message to the author", max_length=MAX_MESSAGE)


class BookingRequest(BookingAsk):
    """``POST /api/v1/bookings``: the offer by its ActivityPub id (a local offer, or a remote
    one this instance knows or can fetch)."""

    offer: str = Field(title="The offer's id", max_length=500)


class Details(Checked):
    """What the author shares with the booker on acceptance, and only then. A stay's exact
    address and a delivery job's addresses are added from the offer itself."""

    meeting_point: str | None = Field(None, title="Meeting point", max_length=500)
    contact: str | None = Field(
        None, title="Contact", description="Phone, e-mail: how to reach you", max_length=500
    )
    instructions: str | None = Field(None, title="Instructions", max_length=2000)


class Decision(Checked):
    """Accepting a request: the private details to share (optional)."""

    details: Details | None = None


class Reason(Checked):
    """Declining or cancelling: why (shown to the other party)."""

    reason: str = Field("", title="Reason", max_length=2000)


class Completion(Checked):
    """After the date: did it take place?"""

    outcome: Literal["done", "not_happened"] = Field(title="Did it happen?")
    note: str = Field("", title="Note", max_length=2000)


class ProgressReport(Checked):
    """A delivery job's progress, by the courier's side: picked up, then delivered or failed."""

    progress: Literal["picked_up", "delivered", "failed"] = Field(title="Progress")
    note: str = Field("", title="Note", max_length=2000)


class MessageInput(Checked):
    content: str = Field(title="Message", min_length=1, max_length=MAX_MESSAGE)


T = TypeVar("T", bound=BaseModel)


def parse_input(model: type[T], data: Any, *, lax: bool = False) -> T:
    """The checked input, or ``InvalidBooking`` listing every problem (empty values are
    absent, as in offers)."""
    try:
        return model.model_validate(prune(data if data is not None else {}), strict=not lax)
    except ValidationError as exc:
        raise InvalidBooking(problems_of(exc)) from None
