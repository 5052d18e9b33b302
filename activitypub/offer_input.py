"""Validating an offer as a member writes it (web form or JSON API).

One function turns a JSON-like dict into a checked ``OfferInput``, or raises ``InvalidOffer``
with one message per field, so forms and the API report the same errors and store nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.errors import Malformed
from models.offers import OfferKind, Purpose

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
VEHICLES = ("bike", "cargo_bike", "van")
KIND_SECTION = {OfferKind.RIDE: "ride", OfferKind.DELIVERY_JOB: "delivery", OfferKind.STAY: "stay"}


class InvalidOffer(Malformed):
    """Bad offer input; ``errors`` maps each field (dotted path) to what is wrong."""

    public_message = "The offer is not valid"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class Place:
    name: str
    latitude: float
    longitude: float
    address: str = ""
    after: datetime | None = None
    before: datetime | None = None


@dataclass
class OfferInput:
    kind: OfferKind
    purpose: Purpose
    title: str
    description: str
    language: str
    starts_at: datetime
    ends_at: datetime | None
    timezone: str
    expires_at: datetime
    price_cents: int | None
    currency: str
    place: Place
    destination: Place | None = None
    quantity_total: int | None = None
    quantity_available: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


class _Checker:
    def __init__(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise InvalidOffer({"": "expected a JSON object"})
        self.data = data
        self.errors: dict[str, str] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    def get(self, path: str) -> Any:
        value: Any = self.data
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return None if value == "" else value

    def text(self, path: str, *, required: bool = False, limit: int = 200) -> str:
        value = self.get(path)
        if value is None:
            if required:
                self.fail(path, "required")
            return ""
        if not isinstance(value, str):
            self.fail(path, "must be text")
            return ""
        if len(value) > limit:
            self.fail(path, f"at most {limit} characters")
        return value.strip()

    def integer(
        self, path: str, *, required: bool = False, low: int = 0, high: int = 10**9
    ) -> int | None:
        value = self.get(path)
        if value is None:
            if required:
                self.fail(path, "required")
            return None
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "must be a whole number")
            return None
        if not low <= value <= high:
            self.fail(path, f"must be between {low} and {high}")
            return None
        return value

    def boolean(self, path: str) -> bool:
        value = self.get(path)
        if isinstance(value, str):
            return value.lower() in ("1", "true", "on", "yes")
        return bool(value)

    def moment(
        self, path: str, *, required: bool = False, tz: ZoneInfo | None = None
    ) -> datetime | None:
        value = self.get(path)
        if value is None:
            if required:
                self.fail(path, "required")
            return None
        if not isinstance(value, str):
            self.fail(path, "must be a date and time (ISO 8601)")
            return None
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.fail(path, "must be a date and time (ISO 8601)")
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz or UTC)
        return moment.astimezone(UTC)

    def place(
        self, path: str, *, required: bool = True, tz: ZoneInfo | None = None, value: Any = None
    ) -> Place | None:
        raw = self.get(path) if value is None else value
        if raw is None:
            if required:
                self.fail(path, "required")
            return None
        if not isinstance(raw, dict):
            self.fail(path, "must be an object with name, latitude and longitude")
            return None
        sub = _Checker(raw)
        coords: list[float] = []
        for name, bound in (("latitude", 90.0), ("longitude", 180.0)):
            number = sub.number(name)
            if number is None:
                sub.fail(name, "required, a number")
            elif not -bound <= number <= bound:
                sub.fail(name, f"must be between {-bound:g} and {bound:g}")
            else:
                coords.append(number)
        place = Place(
            sub.text("name", required=True),
            *(coords if len(coords) == 2 else (0.0, 0.0)),
            address=sub.text("address", limit=500),
            after=sub.moment("after", tz=tz),
            before=sub.moment("before", tz=tz),
        )
        if place.after and place.before and place.before < place.after:
            sub.fail("before", "must not be before 'after'")
        for key, message in sub.errors.items():
            self.fail(f"{path}.{key}", message)
        return None if sub.errors else place

    def number(self, path: str) -> float | None:
        value = self.get(path)
        if value is None or isinstance(value, bool):
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number if number == number and abs(number) != float("inf") else None


def _enum(checker: _Checker, path: str, enum: type[Any]) -> Any:
    value = checker.get(path)
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(e.value for e in enum)
        checker.fail(path, "required" if value is None else f"must be one of: {choices}")
        return None


def parse_offer_input(data: Any, *, default_language: str = "fr") -> OfferInput:
    """Check everything; raise ``InvalidOffer`` listing every problem found."""
    c = _Checker(data)
    kind = _enum(c, "kind", OfferKind)
    purpose = _enum(c, "purpose", Purpose)
    title = c.text("title", required=True)
    description = c.text("description", limit=10_000)
    language = c.text("language", limit=16) or default_language
    tz_name = c.text("timezone", limit=64) or "UTC"
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        c.fail("timezone", "unknown time zone")
        tz = ZoneInfo("UTC")
    starts_at = c.moment("starts_at", required=True, tz=tz)
    ends_at = c.moment("ends_at", tz=tz)
    if starts_at and ends_at and ends_at < starts_at:
        c.fail("ends_at", "must not be before the start")
    price = c.integer("price_cents", high=10**8)
    currency = (c.text("currency", limit=3) or "EUR").upper()
    if len(currency) != 3 or not currency.isalpha():
        c.fail("currency", "a three-letter code such as EUR")
    if kind is None:
        raise InvalidOffer(c.errors)
    section = KIND_SECTION[kind]
    if not isinstance(c.get(section), dict):
        c.fail(section, f"required for a {kind.value}")
        raise InvalidOffer(c.errors)
    place: Place | None = None
    destination: Place | None = None
    total = available = None
    details: dict[str, Any] = {}
    if kind == OfferKind.RIDE:
        place = c.place("ride.origin", tz=tz)
        destination = c.place("ride.destination", tz=tz)
        waypoints = c.get("ride.waypoints") or []
        if not isinstance(waypoints, list):
            c.fail("ride.waypoints", "must be a list of places")
            waypoints = []
        details["waypoints"] = []
        for i, raw in enumerate(waypoints[:10]):
            point = c.place(f"ride.waypoints.{i}", tz=tz, value=raw)
            if point:
                details["waypoints"].append(_place_dict(point))
        details["flexibility_minutes"] = c.integer("ride.flexibility_minutes", high=24 * 60) or 0
        total = c.integer("ride.seats_total", required=True, low=1, high=100)
        available = c.integer("ride.seats_available", low=0, high=100)
        if available is None:
            available = total
        if total is not None and available is not None and available > total:
            c.fail("ride.seats_available", "cannot exceed the seats offered")
        schedule = c.get("ride.schedule")
        if schedule is not None:
            days = c.get("ride.schedule.weekdays") or []
            if isinstance(days, str):
                days = [d.strip() for d in days.split(",") if d.strip()]
            if not isinstance(days, list) or any(d not in WEEKDAYS for d in days) or not days:
                c.fail("ride.schedule.weekdays", f"a list of: {', '.join(WEEKDAYS)}")
            time_of_day = c.text("ride.schedule.time", limit=5)
            if len(time_of_day) != 5 or time_of_day[2] != ":":
                c.fail("ride.schedule.time", "HH:MM")
            details["schedule"] = {"weekdays": days, "time": time_of_day}
        details["return_trip"] = c.text("ride.return_trip", limit=500) or None
    elif kind == OfferKind.DELIVERY_JOB:
        place = c.place("delivery.pickup", tz=tz)
        destination = c.place("delivery.dropoff", tz=tz)
        packages = c.get("delivery.packages") or []
        if not isinstance(packages, list):
            c.fail("delivery.packages", "must be a list")
            packages = []
        details["packages"] = []
        for i, pkg in enumerate(packages[:50]):
            if not isinstance(pkg, dict) or not isinstance(pkg.get("type"), str):
                c.fail(f"delivery.packages.{i}", "needs a type and a quantity")
                continue
            qty = pkg.get("quantity", 1)
            if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= 1000:
                c.fail(f"delivery.packages.{i}.quantity", "must be between 1 and 1000")
                continue
            details["packages"].append({"type": pkg["type"][:50], "quantity": qty})
        details["weight_grams"] = c.integer("delivery.weight_grams", high=2_000_000)
        vehicle = c.text("delivery.vehicle", limit=20) or None
        if vehicle is not None and vehicle not in VEHICLES:
            c.fail("delivery.vehicle", f"one of: {', '.join(VEHICLES)}")
        details["vehicle"] = vehicle
    else:
        place = c.place("stay.location", tz=tz)
        if ends_at is None:
            c.fail("ends_at", "required: the end of the availability window")
        total = c.integer("stay.max_guests", required=True, low=1, high=100)
        available = total
        details["max_nights"] = c.integer("stay.max_nights", low=1, high=365)
        details["conditions"] = {
            "text": c.text("stay.conditions.text", limit=2000),
            "pets": c.boolean("stay.conditions.pets"),
            "smoking": c.boolean("stay.conditions.smoking"),
            "step_free": c.boolean("stay.conditions.step_free"),
        }
    if place and kind != OfferKind.STAY:
        details["place"] = _place_dict(place)
    if destination:
        details["destination"] = _place_dict(destination)
    expires_at = c.moment("expires_at", tz=tz)
    if c.errors:
        raise InvalidOffer(c.errors)
    assert kind and purpose and starts_at and place
    if expires_at is None:
        expires_at = (ends_at or starts_at) + timedelta(hours=0 if ends_at else 6)
    return OfferInput(
        kind=kind,
        purpose=purpose,
        title=title,
        description=description,
        language=language,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=tz_name,
        expires_at=expires_at,
        price_cents=price,
        currency=currency,
        place=place,
        destination=destination,
        quantity_total=total,
        quantity_available=available,
        details=details,
    )


def _place_dict(place: Place) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": place.name,
        "latitude": place.latitude,
        "longitude": place.longitude,
    }
    if place.address:
        out["address"] = place.address
    if place.after:
        out["after"] = place.after.isoformat()
    if place.before:
        out["before"] = place.before.isoformat()
    return out
