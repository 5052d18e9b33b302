"""The one description of an offer: every field with its type, unit and limits (pydantic v2).

The JSON API validates against it (strict: a string is not a number), the web form converts its
text to the same structure and validates against it (lax), the OpenAPI document is generated
from it, the form takes its inputs' bounds, labels and help from it, and the kind-specific
``details`` column holds its sections (``ride``, ``delivery``, ``stay``) dumped as JSON.

Titles and descriptions are English: they are the form's labels and help (translated through
the catalogue, instance/locale) and the API's documentation. Units are in ``x-unit``. Empty
strings and nulls in the input count as absent (see ``activitypub.offer_input``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.functional_serializers import SerializerFunctionWrapHandler
from pydantic_core import PydanticCustomError

from models.i18n import N_
from models.offers import OfferKind, Purpose

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
VEHICLES = ("bike", "cargo_bike", "van")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Vehicle = Literal["bike", "cargo_bike", "van"]
PurposeValue = Literal[Purpose.OFFER, Purpose.REQUEST]


def zone(name: Any) -> ZoneInfo | None:
    """The time zone of that IANA name, or None. The name becomes a file path: a long one is
    refused before it is tried (the system would raise ``OSError``: name too long)."""
    if not isinstance(name, str) or not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _moment(value: Any, info: ValidationInfo) -> datetime:
    """ISO 8601; without an offset, local to the offer's time zone (the validation context's
    ``tz``). Always returned in UTC."""
    moment: datetime | None = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None:
        raise PydanticCustomError("not_a_datetime", N_("must be a date and time (ISO 8601)"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=(info.context or {}).get("tz") or UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed past the range by its offset
        message = N_("must be a date and time (ISO 8601)")
        raise PydanticCustomError("not_a_datetime", message) from None


def _day(value: Any) -> date:
    """A day, ``YYYY-MM-DD`` (a form's and JSON's text; a date as is)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("not_a_day", N_("must be a date (YYYY-MM-DD)"))


Day = Annotated[
    date,
    PlainValidator(_day),
    PlainSerializer(lambda day: day.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date"}),
]

Moment = Annotated[
    datetime,
    PlainValidator(_moment),
    PlainSerializer(lambda moment: moment.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Described(BaseModel):
    """Common settings: text is trimmed, unknown keys are ignored (an API client may send back
    an offer as it read it, with its read-only fields)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")


class Place(Described):
    name: str = Field(title="Place name", description=N_("Town, district or stop"), max_length=200)
    latitude: float = Field(
        title="Latitude",
        description=N_("Decimal degrees, from −90 to 90 (e.g. 45.7578)"),
        ge=-90,
        le=90,
        allow_inf_nan=False,
        json_schema_extra={"x-unit": "degree"},
    )
    longitude: float = Field(
        title="Longitude",
        description=N_("Decimal degrees, from −180 to 180 (e.g. 4.8320)"),
        ge=-180,
        le=180,
        allow_inf_nan=False,
        json_schema_extra={"x-unit": "degree"},
    )
    address: str | None = Field(
        None, title="Address", description=N_("Street and number"), max_length=500
    )
    after: Moment | None = Field(None, title="Not before")
    before: Moment | None = Field(None, title="Not after")

    @field_validator("before")
    @classmethod
    def _window(cls, before: datetime | None, info: ValidationInfo) -> datetime | None:
        after = info.data.get("after")
        if before is not None and after is not None and before < after:
            raise PydanticCustomError("before_after", N_("must not be before 'after'"))
        return before

    @model_serializer(mode="wrap")
    def _present(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Only what is set: no ``"address": null`` in the API or on the wire."""
        return {k: v for k, v in handler(self).items() if v is not None}


# --- rides ------------------------------------------------------------------------------------


class Schedule(Described):
    weekdays: list[Weekday] = Field(
        title="Regular trip: days",
        description=N_("Only for a trip repeated every week"),
        min_length=1,
    )
    time: str = Field(
        title="Regular trip: departure time",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        examples=["08:00"],
    )
    until: Day | None = Field(
        None,
        title="Regular trip: last day",
        description=N_(
            "At most a year after the start; when empty, the trip is offered for 3 months"
        ),
    )

    @model_serializer(mode="wrap")
    def _present(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """No ``"until": null`` in the API or in stored details."""
        return {k: v for k, v in handler(self).items() if v is not None}


class RideDetails(Described):
    origin: Place = Field(title="Leaving from")
    destination: Place = Field(title="Going to")
    waypoints: list[Place] = Field(default_factory=list, title="Stops on the way", max_length=10)
    flexibility_minutes: int = Field(
        0,
        title="Flexibility (minutes)",
        description=N_("How much earlier or later you can leave"),
        ge=0,
        le=24 * 60,
        json_schema_extra={"x-unit": "minute"},
    )
    seats_total: int = Field(
        title="Seats",
        description=N_("Seats offered, or seats wanted"),
        ge=1,
        le=100,
        json_schema_extra={"x-unit": "seat"},
    )
    seats_available: int | None = Field(
        None,
        title="Seats still available",
        description=N_("Leave empty when all are available"),
        ge=0,
        le=100,
        json_schema_extra={"x-unit": "seat", "x-at-most": "seats_total"},
    )
    schedule: Schedule | None = None
    return_trip: str | None = Field(
        None,
        title="Return trip",
        description=N_("Link to the offer for the way back, if any"),
        max_length=500,
    )
    auto_accept: bool = Field(
        False,
        title="Accept requests automatically",
        description=N_("While seats remain, a request is accepted at once"),
    )

    @field_validator("seats_available")
    @classmethod
    def _at_most_total(cls, available: int | None, info: ValidationInfo) -> int | None:
        total = info.data.get("seats_total")
        if available is not None and total is not None and available > total:
            raise PydanticCustomError("exceeds_total", N_("cannot exceed the seats offered"))
        return available

    @model_validator(mode="after")
    def _all_available_by_default(self) -> RideDetails:
        if self.seats_available is None:
            self.seats_available = self.seats_total
        return self


# --- delivery jobs ----------------------------------------------------------------------------


class Package(Described):
    type: str = Field(
        title="Package type", description=N_("e.g. crate, parcel, envelope"), max_length=50
    )
    quantity: int = Field(1, title="Number of packages", ge=1, le=1000)


class DeliveryDetails(Described):
    pickup: Place = Field(title="Pick up")
    dropoff: Place = Field(title="Drop off")
    packages: list[Package] = Field(default_factory=list, title="Packages", max_length=50)
    weight_grams: int | None = Field(
        None,
        title="Total weight",
        description="In grams",
        ge=0,
        le=2_000_000,
        json_schema_extra={"x-unit": "gram"},
    )
    vehicle: Vehicle | None = Field(None, title="Vehicle needed")
    auto_accept: bool = Field(
        False,
        title="Assign automatically",
        description=N_("The first courier who asks is assigned the job"),
    )


# --- stays ------------------------------------------------------------------------------------


class Conditions(Described):
    text: str = Field("", title="House rules and notes", max_length=2000)
    pets: bool = Field(False, title="Pets welcome")
    smoking: bool = Field(False, title="Smoking allowed")
    step_free: bool = Field(False, title="Step-free access")


class StayDetails(Described):
    location: Place = Field(
        title="Where",
        description="The exact place: it stays on this instance; only a position moved 100 to "
        "500 m is published, and the address never is",
    )
    max_guests: int = Field(
        title="Guests at most", ge=1, le=100, json_schema_extra={"x-unit": "guest"}
    )
    max_nights: int | None = Field(
        None, title="Nights at most", ge=1, le=365, json_schema_extra={"x-unit": "night"}
    )
    conditions: Conditions = Field(default_factory=Conditions)
    auto_accept: bool = Field(
        False,
        title="Accept requests automatically",
        description=N_("A request for free nights is accepted at once"),
    )


# --- the offer --------------------------------------------------------------------------------


class OfferBase(Described):
    """What every kind has. Field order matters: a check may use the fields before it."""

    purpose: PurposeValue = Field(
        title="What do you want?",
        description="offer: you give (seats, courier capacity, a bed); request: you look for it",
    )
    title: str = Field(title="Title", max_length=200)
    description: str = Field("", title="Description", max_length=10_000)
    language: str | None = Field(
        None,
        title="Language of the text",
        description="A language tag such as fr; the instance's first language when absent",
        max_length=16,
    )
    timezone: str = Field(
        "UTC",
        title="Time zone",
        description="An IANA name such as Europe/Paris; times without an offset are local to it",
    )
    starts_at: Moment = Field(title="Start")
    ends_at: Moment | None = Field(None, title="End")
    expires_at: Moment | None = Field(
        None,
        title="Expires",
        description="When the offer stops being shown; by default a regular ride's last day "
        "(the end of it), else its end, or 6 hours after its start when it has no end",
    )
    price_cents: int | None = Field(
        None,
        title="Price",
        description="In cents of the currency: cost share per seat (rides), price offered "
        "(delivery jobs), contribution per night (stays); 0 is free",
        ge=0,
        le=10**8,
        json_schema_extra={"x-unit": "cent"},
    )
    currency: str = Field(
        "EUR",
        title="Currency",
        description="ISO 4217 code",
        pattern=r"^[A-Za-z]{3}$",
        examples=["EUR"],
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        if zone(name) is None:
            raise PydanticCustomError("unknown_timezone", N_("unknown time zone"))
        return name

    @field_validator("ends_at")
    @classmethod
    def _not_before_start(cls, ends_at: datetime | None, info: ValidationInfo) -> datetime | None:
        starts_at = info.data.get("starts_at")
        if ends_at is not None and starts_at is not None and ends_at < starts_at:
            raise PydanticCustomError("before_start", N_("must not be before the start"))
        return ends_at

    @field_validator("currency")
    @classmethod
    def _upper(cls, currency: str) -> str:
        return currency.upper()


class RideOffer(OfferBase):
    kind: Literal[OfferKind.RIDE]
    ride: RideDetails


class DeliveryOffer(OfferBase):
    kind: Literal[OfferKind.DELIVERY_JOB]
    delivery: DeliveryDetails


class StayOffer(OfferBase):
    kind: Literal[OfferKind.STAY]
    ends_at: Moment = Field(
        title="Available until", description=N_("The end of the availability window")
    )
    stay: StayDetails


OfferDescription = RideOffer | DeliveryOffer | StayOffer
Details = RideDetails | DeliveryDetails | StayDetails
OFFER_DESCRIPTION: TypeAdapter[OfferDescription] = TypeAdapter(
    Annotated[OfferDescription, Field(discriminator="kind")]
)
MODELS: dict[OfferKind, type[RideOffer] | type[DeliveryOffer] | type[StayOffer]] = {
    OfferKind.RIDE: RideOffer,
    OfferKind.DELIVERY_JOB: DeliveryOffer,
    OfferKind.STAY: StayOffer,
}
SECTION = {OfferKind.RIDE: "ride", OfferKind.DELIVERY_JOB: "delivery", OfferKind.STAY: "stay"}
SECTION_MODEL: dict[OfferKind, type[Details]] = {
    OfferKind.RIDE: RideDetails,
    OfferKind.DELIVERY_JOB: DeliveryDetails,
    OfferKind.STAY: StayDetails,
}


def details_of(offer: OfferDescription) -> Details:
    """The kind-specific section."""
    if isinstance(offer, RideOffer):
        return offer.ride
    if isinstance(offer, DeliveryOffer):
        return offer.delivery
    return offer.stay
