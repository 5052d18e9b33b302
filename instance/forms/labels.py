"""Names shown for values (English msgids, translated when rendered), and the form's own lists
(time zones, currencies, languages offered in selects)."""

from __future__ import annotations

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
BOOKING_STATE_LABELS = {
    "requested": "Waiting for an answer",
    "accepted": "Accepted",
    "declined": "Declined",
    "expired": "Expired",
    "cancelled": "Cancelled",
    "done": "Done",
    "not_happened": "Didn't happen",
}
BOOKING_STATE_WORDS = {**BOOKING_STATE_LABELS, "not_happened": "Over (it didn't happen)"}
"""A state as a refusal's sentence says it ("This booking is %(state)s")."""
PROGRESS_LABELS = {"picked_up": "Picked up", "delivered": "Delivered", "failed": "Failed"}
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
# Fields a message may name that are not inputs of the form
ERROR_LABELS = {"kind": "Kind of offer", "": "Offer"}
SEARCH_LABELS = {
    "kind": "Kind of offer",
    "purpose": "Offered or wanted",
    "place": "Place name",
    "lat": "Latitude",
    "lon": "Longitude",
    "radius_km": "Radius (km)",
    "from": "From",
    "to": "Until",
    "min_seats": "Seats or guests, at least",
    "min_guests": "Seats or guests, at least",
    "min_quantity": "Seats or guests, at least",
    "vehicle": "Vehicle needed",  # the dispatch board's filter
}
"""The search parameters a refusal names, as the search page (and the dispatch board) labels
them."""


def timezone_choices(current: str) -> tuple[tuple[str, str], ...]:
    """The usual zones, and the offer's own when it is another one."""
    zones = TIMEZONES if current in TIMEZONES or not current else (current, *TIMEZONES)
    return tuple((tz, tz) for tz in zones)
