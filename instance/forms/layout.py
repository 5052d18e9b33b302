"""The offer forms: which inputs, in which fieldsets, under which flat HTML names.

Each input names the description field it fills (``path``); its type, ``min``/``max``/
``maxlength``, ``required``, choices, label and help come from the description
(``activitypub.offer_facts``). The form only adds what is about the page: the grouping, the
flat names, a label or help where the context says more (a stay's address is its exact
address), and amounts typed in units (7.50 €, 12.5 kg) for fields counted in cents or grams.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from activitypub.offer_facts import FieldFacts, field_facts
from instance.forms.labels import (
    CURRENCIES,
    LANGUAGES,
    PURPOSE_LABELS,
    TIMEZONES,
    VEHICLE_LABELS,
    WEEKDAY_LABELS,
)
from models.i18n import N_
from models.offers import OfferKind


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    type: str = "text"  # text, textarea, number, datetime-local, time, select, radio, checkbox,
    #                     weekdays
    required: bool = False
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    attrs: dict[str, str] = field(default_factory=dict)
    path: str = ""  # the description field it fills, e.g. "ride.origin.latitude"
    scale: int = 1  # typed in units: the description's integer is value × scale
    example: str = ""  # a valid value, for the messages about amounts


@dataclass(frozen=True)
class Fieldset:
    legend: str
    fields: tuple[FormField, ...]
    help: str = ""


def _bound(value: float, scale: int) -> str:
    return format((Decimal(str(value)) / scale).normalize(), "f")


def _type_of(facts: FieldFacts) -> str:
    if facts.choices:
        return "select"
    if facts.type is datetime:
        return "datetime-local"
    if facts.type is bool:
        return "checkbox"
    if facts.type in (int, float):
        return "number"
    return "text"


def _attrs(facts: FieldFacts, scale: int) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if facts.type in (int, float):
        if scale > 1:
            attrs["step"] = _bound(1, scale)
        elif facts.type is float:
            attrs["step"] = "any"
        if facts.minimum is not None:
            attrs["min"] = _bound(facts.minimum, scale)
        if facts.maximum is not None:
            attrs["max"] = _bound(facts.maximum, scale)
    elif facts.max_length is not None and facts.type is str:
        attrs["maxlength"] = str(facts.max_length)
    return attrs


def described(
    kind: OfferKind,
    name: str,
    path: str,
    *,
    label: str | None = None,
    help: str | None = None,
    type: str | None = None,
    labels: dict[str, str] | None = None,
    choices: tuple[tuple[str, str], ...] | None = None,
    scale: int = 1,
    example: str = "",
) -> FormField:
    """The input for the description field at ``path``; the keywords override what the
    description says (``labels`` name its choices)."""
    facts = field_facts(kind, path)
    if facts is None:
        raise LookupError(f"the {kind} description has no field {path}")
    if choices is None:
        choices = tuple((c, (labels or {}).get(c, c)) for c in facts.choices)
    return FormField(
        name=name,
        label=facts.title if label is None else label,
        type=type or _type_of(facts),
        required=facts.required,
        help=facts.description if help is None else help,
        choices=choices,
        attrs=_attrs(facts, scale),
        path=path,
        scale=scale,
        example=example,
    )


PLACE_HELP = N_(
    "Type a town, a postcode or a place: its latitude and longitude are found for you to "
    "confirm. Or type them yourself."
)


def _coordinates(kind: OfferKind, prefix: str, path: str) -> list[FormField]:
    """Latitude and longitude, optional in the form: left empty, they are found from the
    name (``instance/forms/places.py``)."""
    return [
        replace(described(kind, f"{prefix}_{c}", f"{path}.{c}"), required=False)
        for c in ("latitude", "longitude")
    ]


def _place(
    kind: OfferKind, prefix: str, path: str, legend: str, *, window: bool = False
) -> Fieldset:
    inputs = [described(kind, f"{prefix}_name", f"{path}.name")]
    if window:
        inputs.append(described(kind, f"{prefix}_address", f"{path}.address"))
    inputs += _coordinates(kind, prefix, path)
    if window:
        inputs += [described(kind, f"{prefix}_{w}", f"{path}.{w}") for w in ("after", "before")]
    return Fieldset(legend, tuple(inputs), help=PLACE_HELP)


def _about(kind: OfferKind) -> Fieldset:
    return Fieldset(
        N_("About"),
        (
            described(
                kind, "purpose", "purpose", type="radio", help="", labels=PURPOSE_LABELS[kind]
            ),
            described(kind, "title", "title"),
            described(kind, "description", "description", type="textarea"),
            described(kind, "language", "language", type="select", help="", choices=LANGUAGES),
        ),
    )


def _when(
    kind: OfferKind,
    start: str,
    end: str | None,
    *,
    start_label: str | None = None,
    end_help: str | None = None,
) -> tuple[FormField, ...]:
    inputs = [described(kind, start, "starts_at", label=start_label)]
    if end:
        inputs.append(described(kind, end, "ends_at", help=end_help))
    inputs.append(
        described(
            kind,
            "timezone",
            "timezone",
            type="select",
            help=N_("Times are local to this zone"),
            choices=tuple((tz, tz) for tz in TIMEZONES),
        )
    )
    return tuple(inputs)


def _price(kind: OfferKind, label: str, help: str) -> Fieldset:
    price = described(
        kind, "price", "price_cents", label=label, help=help, scale=100, example="7.50"
    )
    currency = described(
        kind,
        "currency",
        "currency",
        type="select",
        help="",
        choices=tuple((c, c) for c in CURRENCIES),
    )
    return Fieldset("Price", (price, currency))


IN_UNITS = N_("In the currency below, e.g. 7.50; leave empty if none")


def _ride() -> tuple[Fieldset, ...]:
    k = OfferKind.RIDE
    return (
        _about(k),
        _place(k, "origin", "ride.origin", "Leaving from"),
        _place(k, "destination", "ride.destination", "Going to"),
        _place(k, "via", "ride.waypoints.0", N_("Stop on the way (optional)")),
        Fieldset(
            "When",
            (
                *_when(k, "departure", None, start_label="Departure"),
                described(k, "flexibility_minutes", "ride.flexibility_minutes"),
                described(
                    k, "weekdays", "ride.schedule.weekdays", type="weekdays", labels=WEEKDAY_LABELS
                ),
                described(k, "schedule_time", "ride.schedule.time", type="time"),
                described(k, "schedule_until", "ride.schedule.until", type="date"),
            ),
        ),
        Fieldset(
            "Seats",
            (
                described(k, "seats_total", "ride.seats_total"),
                described(k, "seats_available", "ride.seats_available"),
                described(k, "return_trip", "ride.return_trip"),
            ),
        ),
        _price(k, N_("Cost share per seat"), IN_UNITS),
    )


def _delivery() -> tuple[Fieldset, ...]:
    k = OfferKind.DELIVERY_JOB
    return (
        _about(k),
        _place(k, "pickup", "delivery.pickup", "Pick up", window=True),
        _place(k, "dropoff", "delivery.dropoff", "Drop off", window=True),
        Fieldset("When", _when(k, "starts_at", "ends_at", end_help=N_("Optional"))),
        Fieldset(
            N_("Load"),
            (
                described(k, "package_type", "delivery.packages.0.type"),
                described(k, "package_quantity", "delivery.packages.0.quantity"),
                described(
                    k,
                    "weight_kg",
                    "delivery.weight_grams",
                    label=N_("Total weight (kg)"),
                    help="",
                    scale=1000,
                    example="12.5",
                ),
                described(
                    k,
                    "vehicle",
                    "delivery.vehicle",
                    choices=(("", "Any"), *VEHICLE_LABELS.items()),
                ),
            ),
        ),
        _price(k, N_("Price offered"), IN_UNITS),
    )


def _stay() -> tuple[Fieldset, ...]:
    k = OfferKind.STAY
    location = (
        described(
            k, "location_name", "stay.location.name", help=N_("Town or district, shown to everyone")
        ),
        described(
            k,
            "location_address",
            "stay.location.address",
            label=N_("Exact address"),
            help=N_("Kept on this instance, never published"),
        ),
        *_coordinates(k, "location", "stay.location"),
    )
    return (
        _about(k),
        Fieldset(
            "Where",
            location,
            help=N_(
                "The published position is moved 100 to 500 m, once, so that the exact place "
                "stays private."
            ),
        ),
        Fieldset("When", _when(k, "starts_at", "ends_at", start_label=N_("Available from"))),
        Fieldset(
            "Guests",
            (
                described(k, "max_guests", "stay.max_guests"),
                described(k, "max_nights", "stay.max_nights"),
            ),
        ),
        Fieldset(
            N_("Conditions"),
            (
                described(k, "conditions_text", "stay.conditions.text", type="textarea"),
                *(
                    described(k, f, f"stay.conditions.{f}")
                    for f in ("pets", "smoking", "step_free")
                ),
            ),
        ),
        _price(k, N_("Contribution per night"), N_("0 for free; leave empty if not decided")),
    )


FORMS: dict[str, tuple[Fieldset, ...]] = {
    OfferKind.RIDE.value: _ride(),
    OfferKind.DELIVERY_JOB.value: _delivery(),
    OfferKind.STAY.value: _stay(),
}


def inputs(kind: str) -> tuple[FormField, ...]:
    """Every input of the kind's form, in order."""
    return tuple(f for fieldset in FORMS.get(kind, ()) for f in fieldset.fields)


FORM_FIELDS = {kind: {f.name for f in inputs(kind)} for kind in FORMS}
