"""The offer forms of the web pages: flat HTML fields ⇄ the nested JSON the offer services take.

Each kind has a list of fieldsets (labels in English, translated when rendered). The posted form
becomes the same JSON shape as the API accepts (``activitypub.offer_input``), so the checks are
the services' own; their messages, keyed by dotted paths (``ride.origin.latitude``), are mapped
back to the flat field names (``origin_latitude``) to be shown next to each field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.datastructures import FormData

from activitypub.offer_input import WEEKDAYS, InvalidOffer, parse_offer_input
from models.offers import OfferKind

DEFAULT_TIMEZONE = "Europe/Paris"
TIMEZONES = (
    "Europe/Paris",
    "Europe/Brussels",
    "Europe/Luxembourg",
    "Europe/Zurich",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Lisbon",
    "Europe/London",
    "America/Toronto",
    "America/Martinique",
    "Indian/Reunion",
    "Africa/Dakar",
    "UTC",
)
CURRENCIES = ("EUR", "CHF", "GBP", "CAD", "USD", "XOF")
LANGUAGES = (("fr", "Français"), ("en", "English"))

KIND_LABELS = {"ride": "Ride", "delivery_job": "Delivery job", "stay": "Stay"}
PURPOSE_LABELS = {
    "ride": {"offer": "I drive and offer seats", "request": "I am looking for a ride"},
    "delivery_job": {"offer": "I am a courier with capacity", "request": "I need a courier"},
    "stay": {"offer": "I host travellers", "request": "I am looking for a place to stay"},
}
SHORT_PURPOSE = {"offer": "Offered", "request": "Wanted"}
STATUS_LABELS = {
    "open": "Open",
    "full": "Full",
    "closed": "Closed",
    "expired": "Expired",
    "cancelled": "Cancelled",
    "assigned": "Assigned",
    "picked_up": "Picked up",
    "delivered": "Delivered",
    "failed": "Failed",
}
VEHICLE_LABELS = {"bike": "Bike", "cargo_bike": "Cargo bike", "van": "Van"}
WEEKDAY_LABELS = {
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
    "sun": "Sun",
}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str = "text"  # text, textarea, number, datetime-local, time, select, radio, checkbox,
    #                     weekdays
    required: bool = False
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fieldset:
    legend: str
    fields: tuple[Field, ...]
    help: str = ""


def _coordinates(prefix: str, required: bool = True) -> tuple[Field, ...]:
    return (
        Field(
            f"{prefix}_latitude",
            "Latitude",
            "number",
            required,
            "Decimal degrees, from −90 to 90 (e.g. 45.7578)",
            attrs={"step": "any", "min": "-90", "max": "90"},
        ),
        Field(
            f"{prefix}_longitude",
            "Longitude",
            "number",
            required,
            "Decimal degrees, from −180 to 180 (e.g. 4.8320)",
            attrs={"step": "any", "min": "-180", "max": "180"},
        ),
    )


def _place(prefix: str, legend: str, *, required: bool = True, window: bool = False) -> Fieldset:
    fields: list[Field] = [
        Field(f"{prefix}_name", "Place name", required=required, help="Town, district or stop")
    ]
    if window:
        fields.append(Field(f"{prefix}_address", "Address", help="Street and number"))
    fields.extend(_coordinates(prefix, required))
    if window:
        fields.append(Field(f"{prefix}_after", "Not before", "datetime-local"))
        fields.append(Field(f"{prefix}_before", "Not after", "datetime-local"))
    return Fieldset(legend, tuple(fields))


def _about(kind: str) -> Fieldset:
    purposes = tuple(PURPOSE_LABELS[kind].items())
    return Fieldset(
        "About",
        (
            Field("purpose", "What do you want?", "radio", True, choices=purposes),
            Field("title", "Title", required=True, attrs={"maxlength": "200"}),
            Field("description", "Description", "textarea", attrs={"maxlength": "10000"}),
            Field("language", "Language of the text", "select", choices=LANGUAGES),
        ),
    )


def _timezone() -> Field:
    return Field(
        "timezone",
        "Time zone",
        "select",
        True,
        "Times are local to this zone",
        choices=tuple((tz, tz) for tz in TIMEZONES),
    )


def _price(label: str, help: str = "") -> Fieldset:
    return Fieldset(
        "Price",
        (
            Field(
                "price",
                label,
                "number",
                help=help or "In the currency below, e.g. 7.50; leave empty if none",
                attrs={"step": "0.01", "min": "0"},
            ),
            Field("currency", "Currency", "select", choices=tuple((c, c) for c in CURRENCIES)),
        ),
    )


def _count(name: str, label: str, required: bool, low: int, high: int, help: str = "") -> Field:
    return Field(name, label, "number", required, help, attrs={"min": str(low), "max": str(high)})


FORMS: dict[str, tuple[Fieldset, ...]] = {
    "ride": (
        _about("ride"),
        _place("origin", "Leaving from"),
        _place("destination", "Going to"),
        _place("via", "Stop on the way (optional)", required=False),
        Fieldset(
            "When",
            (
                Field("departure", "Departure", "datetime-local", True),
                _timezone(),
                _count(
                    "flexibility_minutes",
                    "Flexibility (minutes)",
                    False,
                    0,
                    1440,
                    "How much earlier or later you can leave",
                ),
                Field(
                    "weekdays",
                    "Regular trip: days",
                    "weekdays",
                    help="Only for a trip repeated every week",
                    choices=tuple(WEEKDAY_LABELS.items()),
                ),
                Field("schedule_time", "Regular trip: departure time", "time"),
            ),
        ),
        Fieldset(
            "Seats",
            (
                _count("seats_total", "Seats", True, 1, 100, "Seats offered, or seats wanted"),
                _count(
                    "seats_available",
                    "Seats still available",
                    False,
                    0,
                    100,
                    "Leave empty when all are available",
                ),
                Field(
                    "return_trip",
                    "Return trip",
                    help="Link to the offer for the way back, if any",
                    attrs={"maxlength": "500"},
                ),
            ),
        ),
        _price("Cost share per seat"),
    ),
    "delivery_job": (
        _about("delivery_job"),
        _place("pickup", "Pick up", window=True),
        _place("dropoff", "Drop off", window=True),
        Fieldset(
            "When",
            (
                Field("starts_at", "Start", "datetime-local", True),
                Field("ends_at", "End", "datetime-local", help="Optional"),
                _timezone(),
            ),
        ),
        Fieldset(
            "Load",
            (
                Field("package_type", "Package type", help="e.g. crate, parcel, envelope"),
                _count("package_quantity", "Number of packages", False, 1, 1000),
                Field(
                    "weight_kg",
                    "Total weight (kg)",
                    "number",
                    attrs={"step": "0.001", "min": "0"},
                ),
                Field(
                    "vehicle",
                    "Vehicle needed",
                    "select",
                    choices=(("", "Any"), *VEHICLE_LABELS.items()),
                ),
            ),
        ),
        _price("Price offered"),
    ),
    "stay": (
        _about("stay"),
        Fieldset(
            "Where",
            (
                Field(
                    "location_name",
                    "Place name",
                    required=True,
                    help="Town or district, shown to everyone",
                ),
                Field(
                    "location_address",
                    "Exact address",
                    help="Kept on this instance, never published",
                    attrs={"maxlength": "500"},
                ),
                *_coordinates("location"),
            ),
            help="The published position is moved 100 to 500 m, once, so that the exact place "
            "stays private.",
        ),
        Fieldset(
            "When",
            (
                Field("starts_at", "Available from", "datetime-local", True),
                Field("ends_at", "Available until", "datetime-local", True),
                _timezone(),
            ),
        ),
        Fieldset(
            "Guests",
            (
                _count("max_guests", "Guests at most", True, 1, 100),
                _count("max_nights", "Nights at most", False, 1, 365),
            ),
        ),
        Fieldset(
            "Conditions",
            (
                Field(
                    "conditions_text",
                    "House rules and notes",
                    "textarea",
                    attrs={"maxlength": "2000"},
                ),
                Field("pets", "Pets welcome", "checkbox"),
                Field("smoking", "Smoking allowed", "checkbox"),
                Field("step_free", "Step-free access", "checkbox"),
            ),
        ),
        _price("Contribution per night", "0 for free; leave empty if not decided"),
    ),
}

# Labels of the fields a service message may name that the form does not show by themselves.
ERROR_LABELS = {
    "kind": "Kind of offer",
    "purpose": "What do you want?",
    "currency": "Currency",
    "language": "Language of the text",
    "expires_at": "Expires",
    "": "Offer",
}
FORM_FIELDS = {kind: {f.name for fs in sets for f in fs.fields} for kind, sets in FORMS.items()}
# The part of a dotted service path after the kind's section, renamed to the form's field.
RENAMES = {
    "price_cents": "price",
    "weight_grams": "weight_kg",
    "schedule_weekdays": "weekdays",
    "schedule_time": "schedule_time",
    "waypoints_0": "via_name",
    "packages_0": "package_type",
    "packages_0_quantity": "package_quantity",
    "packages": "package_type",
}
SECTIONS = ("ride.", "delivery.", "stay.")


# --- form → JSON ----------------------------------------------------------------------------


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _decimal_text(form: Mapping[str, Any], name: str) -> str:
    return _text(form, name).replace(",", ".").replace(" ", "")


def _amount(
    form: Mapping[str, Any], name: str, scale: int, errors: dict[str, str], example: str
) -> Any:
    raw = _decimal_text(form, name)
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        errors[name] = f"must be a number such as {example}"
        return "invalid"
    if not value.is_finite():
        errors[name] = f"must be a number such as {example}"
        return "invalid"
    if value < 0:
        errors[name] = "must not be negative"
        return "invalid"
    scaled = value * scale
    if scaled != scaled.to_integral_value():
        errors[name] = f"too many decimals (e.g. {example})"
        return "invalid"
    return int(scaled)


def _place_input(form: Mapping[str, Any], prefix: str, *, window: bool = False) -> dict[str, Any]:
    place: dict[str, Any] = {
        "name": _text(form, f"{prefix}_name"),
        "latitude": _decimal_text(form, f"{prefix}_latitude"),
        "longitude": _decimal_text(form, f"{prefix}_longitude"),
    }
    if window or f"{prefix}_address" in form:
        place["address"] = _text(form, f"{prefix}_address")
    if window:
        place["after"] = _text(form, f"{prefix}_after")
        place["before"] = _text(form, f"{prefix}_before")
    return place


def _checked(form: Mapping[str, Any], name: str) -> bool:
    return _text(form, name).lower() in ("on", "1", "true", "yes")


def offer_from_form(
    form: Mapping[str, Any], previous: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON the services take, and the messages for fields that could not even be converted
    (an amount that is not a number). ``previous`` (the offer as the API shows it, on edit)
    keeps what the form does not show: waypoints and packages after the first."""
    errors: dict[str, str] = {}
    kind = _text(form, "kind")
    data: dict[str, Any] = {
        "kind": kind,
        "purpose": _text(form, "purpose"),
        "title": _text(form, "title"),
        "description": _text(form, "description"),
        "language": _text(form, "language"),
        "timezone": _text(form, "timezone") or DEFAULT_TIMEZONE,
        "currency": _text(form, "currency") or "EUR",
        "price_cents": _amount(form, "price", 100, errors, "7.50"),
    }
    before = previous or {}
    if kind == OfferKind.RIDE:
        data["starts_at"] = _text(form, "departure")
        ride: dict[str, Any] = {
            "origin": _place_input(form, "origin"),
            "destination": _place_input(form, "destination"),
            "waypoints": [],
            "flexibility_minutes": _text(form, "flexibility_minutes"),
            "seats_total": _text(form, "seats_total"),
            "seats_available": _text(form, "seats_available"),
            "return_trip": _text(form, "return_trip"),
        }
        if any(_text(form, f"via_{part}") for part in ("name", "latitude", "longitude")):
            ride["waypoints"].append(_place_input(form, "via"))
        ride["waypoints"].extend((before.get("ride") or {}).get("waypoints", [])[1:])
        days = [d for d in _list(form, "weekdays") if d]
        if days or _text(form, "schedule_time"):
            ride["schedule"] = {"weekdays": days, "time": _text(form, "schedule_time")}
        data["ride"] = ride
    elif kind == OfferKind.DELIVERY_JOB:
        data["starts_at"] = _text(form, "starts_at")
        data["ends_at"] = _text(form, "ends_at")
        packages: list[dict[str, Any]] = []
        package_type = _text(form, "package_type")
        quantity_text = _text(form, "package_quantity")
        if package_type or quantity_text:
            quantity: Any = 1
            if quantity_text:
                quantity = int(quantity_text) if quantity_text.isdigit() else quantity_text
            packages.append({"type": package_type or None, "quantity": quantity})
        packages.extend((before.get("delivery") or {}).get("packages", [])[1:])
        data["delivery"] = {
            "pickup": _place_input(form, "pickup", window=True),
            "dropoff": _place_input(form, "dropoff", window=True),
            "packages": packages,
            "weight_grams": _amount(form, "weight_kg", 1000, errors, "12.5"),
            "vehicle": _text(form, "vehicle"),
        }
    elif kind == OfferKind.STAY:
        data["starts_at"] = _text(form, "starts_at")
        data["ends_at"] = _text(form, "ends_at")
        data["stay"] = {
            "location": _place_input(form, "location"),
            "max_guests": _text(form, "max_guests"),
            "max_nights": _text(form, "max_nights"),
            "conditions": {
                "text": _text(form, "conditions_text"),
                "pets": _checked(form, "pets"),
                "smoking": _checked(form, "smoking"),
                "step_free": _checked(form, "step_free"),
            },
        }
    return data, errors


def _list(form: Mapping[str, Any], name: str) -> list[str]:
    if isinstance(form, FormData):
        return [v for v in form.getlist(name) if isinstance(v, str)]
    value = form.get(name)
    if isinstance(value, list):
        return [str(v) for v in value]
    return [value] if isinstance(value, str) and value else []


def form_field(kind: str, path: str) -> str:
    """The form field showing a service error about ``path`` (unknown paths are kept as is)."""
    name = path
    for section in SECTIONS:
        if name.startswith(section):
            name = name[len(section) :]
            break
    name = name.replace(".", "_")
    if name.startswith("waypoints_0_"):
        name = "via_" + name[len("waypoints_0_") :]
    name = RENAMES.get(name, name)
    if kind == OfferKind.RIDE and name == "starts_at":
        name = "departure"
    fields = FORM_FIELDS.get(kind, set())
    if name not in fields and f"{name}_name" in fields:
        name = f"{name}_name"
    return name


def check_form(form: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> dict:
    """The offer JSON from a posted form, checked by the services' own parser; raises
    ``InvalidOffer`` whose ``errors`` are keyed by form field."""
    data, local = offer_from_form(form, previous)
    kind = data["kind"]
    errors: dict[str, str] = {}
    try:
        parse_offer_input(data)
    except InvalidOffer as exc:
        for path, message in exc.errors.items():
            errors.setdefault(form_field(kind, path), message)
    errors.update(local)
    if errors:
        raise InvalidOffer(errors)
    return data


def form_values(form: FormData) -> dict[str, Any]:
    """The posted values, to show them again in the form."""
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    values["weekdays"] = _list(form, "weekdays")
    return values


# --- offer → form (editing) -----------------------------------------------------------------


def _local_input(iso: str | None, tz_name: str) -> str:
    if not iso:
        return ""
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    moment = datetime.fromisoformat(iso)
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def _number_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _decimal_out(value: int | None, scale: int) -> str:
    if value is None:
        return ""
    amount = Decimal(value) / scale
    if scale == 100:
        return f"{amount:.2f}"
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _place_values(
    values: dict[str, Any], prefix: str, place: Mapping[str, Any] | None, tz: str
) -> None:
    place = place or {}
    values[f"{prefix}_name"] = place.get("name") or ""
    values[f"{prefix}_latitude"] = _number_text(place.get("latitude"))
    values[f"{prefix}_longitude"] = _number_text(place.get("longitude"))
    values[f"{prefix}_address"] = place.get("address") or ""
    values[f"{prefix}_after"] = _local_input(place.get("after"), tz)
    values[f"{prefix}_before"] = _local_input(place.get("before"), tz)


def offer_values(api: Mapping[str, Any]) -> dict[str, Any]:
    """Form values from an offer as ``offer_to_api(..., owner=True)`` shows it."""
    tz = api.get("timezone") or DEFAULT_TIMEZONE
    values: dict[str, Any] = {
        "kind": api["kind"],
        "purpose": api["purpose"],
        "title": api.get("title") or "",
        "description": api.get("description") or "",
        "language": api.get("language") or "",
        "timezone": tz,
        "currency": api.get("currency") or "EUR",
        "price": _decimal_out(api.get("price_cents"), 100),
        "starts_at": _local_input(api.get("starts_at"), tz),
        "ends_at": _local_input(api.get("ends_at"), tz),
        "weekdays": [],
    }
    if api.get("ride"):
        ride = api["ride"]
        values["departure"] = values["starts_at"]
        _place_values(values, "origin", ride.get("origin"), tz)
        _place_values(values, "destination", ride.get("destination"), tz)
        waypoints = ride.get("waypoints") or []
        _place_values(values, "via", waypoints[0] if waypoints else None, tz)
        values["flexibility_minutes"] = _number_text(ride.get("flexibility_minutes") or None)
        values["seats_total"] = _number_text(ride.get("seats_total"))
        values["seats_available"] = _number_text(ride.get("seats_available"))
        schedule = ride.get("schedule") or {}
        values["weekdays"] = list(schedule.get("weekdays") or [])
        values["schedule_time"] = schedule.get("time") or ""
        values["return_trip"] = ride.get("return_trip") or ""
    elif api.get("delivery"):
        job = api["delivery"]
        _place_values(values, "pickup", job.get("pickup"), tz)
        _place_values(values, "dropoff", job.get("dropoff"), tz)
        packages = job.get("packages") or []
        values["package_type"] = packages[0]["type"] if packages else ""
        values["package_quantity"] = str(packages[0]["quantity"]) if packages else ""
        values["weight_kg"] = _decimal_out(job.get("weight_grams"), 1000)
        values["vehicle"] = job.get("vehicle") or ""
    elif api.get("stay"):
        stay = api["stay"]
        _place_values(values, "location", stay.get("location"), tz)
        values["max_guests"] = _number_text(stay.get("max_guests"))
        values["max_nights"] = _number_text(stay.get("max_nights"))
        conditions = stay.get("conditions") or {}
        values["conditions_text"] = conditions.get("text") or ""
        for flag in ("pets", "smoking", "step_free"):
            values[flag] = "on" if conditions.get(flag) else ""
    return values


def new_offer_values(kind: str, lang: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "purpose": "offer",
        "timezone": DEFAULT_TIMEZONE,
        "currency": "EUR",
        "language": lang,
        "weekdays": [],
    }


def timezone_choices(current: str) -> tuple[tuple[str, str], ...]:
    zones = TIMEZONES if current in TIMEZONES or not current else (current, *TIMEZONES)
    return tuple((tz, tz) for tz in zones)


# --- messages and display -------------------------------------------------------------------

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^must be between (\S+) and (\S+)$"), "must be between {0} and {1}"),
    (re.compile(r"^at most (\d+) characters$"), "at most {0} characters"),
    (re.compile(r"^must be one of: (.+)$"), "must be one of: {0}"),
    (re.compile(r"^one of: (.+)$"), "one of: {0}"),
    (re.compile(r"^a list of: (.+)$"), "a list of: {0}"),
    (re.compile(r"^required for a (\S+)$"), "required for a {0}"),
    (re.compile(r"^must be a number such as (\S+)$"), "must be a number such as {0}"),
    (re.compile(r"^too many decimals \(e\.g\. (\S+)\)$"), "too many decimals (e.g. {0})"),
    (re.compile(r"^(\S+) must be a number$"), "{0} must be a number"),
    (re.compile(r"^(\S+) must be a whole number$"), "{0} must be a whole number"),
    (re.compile(r"^(\S+) must be between (\S+) and (\S+)$"), "{0} must be between {1} and {2}"),
    (
        re.compile(r"^(\S+) must be a date \(YYYY-MM-DD\) or ISO 8601$"),
        "{0} must be a date (YYYY-MM-DD) or ISO 8601",
    ),
    (re.compile(r"^This offer is already (\S+)$"), "This offer is already {0}"),
    (re.compile(r"^A (\S+) cannot be (\S+)$"), "A {0} cannot be {1}"),
)
# Search parameters named in the search service's messages, as the search page labels them.
PARAM_LABELS = {
    "lat": "Latitude",
    "lon": "Longitude",
    "radius_km": "Radius (km)",
    "from": "From",
    "to": "Until",
    "min_seats": "Seats or guests, at least",
    "min_guests": "Seats or guests, at least",
    "min_quantity": "Seats or guests, at least",
}


def _part(word: str, gettext: Callable[[str], str]) -> str:
    """A word inside a message: a search parameter becomes its label, a kind or status its
    (lowercase) name."""
    if word in PARAM_LABELS:
        return gettext(PARAM_LABELS[word])
    label = KIND_LABELS.get(word) or STATUS_LABELS.get(word)
    return gettext(label).lower() if label else word


def translate_message(message: str, gettext: Callable[[str], str]) -> str:
    """A service message in the page's language (numbers and lists kept as they are)."""
    for pattern, template in _PATTERNS:
        match = pattern.match(message)
        if match:
            return gettext(template).format(*(_part(g, gettext) for g in match.groups()))
    return gettext(message)


def local_time(iso: str | None, tz_name: str | None, lang: str) -> str:
    if not iso:
        return ""
    try:
        tz = ZoneInfo(tz_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    moment = datetime.fromisoformat(iso)
    return format_datetime(moment, "EEE d MMM y, HH:mm", tzinfo=tz, locale=lang)


def register_template_helpers(env: Environment) -> None:
    """Labels and local times for the templates (offer page, forms, search, my offers)."""

    def _gettext(ctx: Context) -> Callable[[str], str]:
        found = ctx.get("_")
        return found if callable(found) else (lambda s: s)

    @pass_context
    def when(ctx: Context, iso: str | None, tz_name: str | None = None) -> str:
        return local_time(iso, tz_name, ctx.get("lang") or "en")

    @pass_context
    def kind_label(ctx: Context, kind: str) -> str:
        return _gettext(ctx)(KIND_LABELS.get(kind, kind))

    @pass_context
    def purpose_label(ctx: Context, kind: str, purpose: str, short: bool = False) -> str:
        label = SHORT_PURPOSE.get(purpose) if short else PURPOSE_LABELS.get(kind, {}).get(purpose)
        return _gettext(ctx)(label or purpose)

    @pass_context
    def status_label(ctx: Context, status: str) -> str:
        return _gettext(ctx)(STATUS_LABELS.get(status, status))

    @pass_context
    def vehicle_label(ctx: Context, vehicle: str) -> str:
        return _gettext(ctx)(VEHICLE_LABELS.get(vehicle, vehicle))

    @pass_context
    def weekday_label(ctx: Context, day: str) -> str:
        return _gettext(ctx)(WEEKDAY_LABELS.get(day, day))

    @pass_context
    def message(ctx: Context, text: str) -> str:
        return translate_message(text, _gettext(ctx))

    env.filters["when"] = when
    env.globals.update(
        kind_label=kind_label,
        purpose_label=purpose_label,
        status_label=status_label,
        vehicle_label=vehicle_label,
        weekday_label=weekday_label,
        error_message=message,
        weekdays=WEEKDAYS,
    )
