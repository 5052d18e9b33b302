"""Names shown for values (English msgids, translated when rendered), and the form's own lists
(time zones, currencies, languages offered in selects)."""

from __future__ import annotations

from models.i18n import N_

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

KIND_LABELS = {"ride": N_("Ride"), "delivery_job": N_("Delivery job"), "stay": N_("Stay")}
PURPOSE_LABELS = {
    "ride": {"offer": N_("I drive and offer seats"), "request": N_("I am looking for a ride")},
    "delivery_job": {
        "offer": N_("I am a courier with capacity"),
        "request": N_("I need a courier"),
    },
    "stay": {"offer": N_("I host travellers"), "request": N_("I am looking for a place to stay")},
}
SHORT_PURPOSE = {"offer": N_("Offered"), "request": N_("Wanted")}
STATUS_LABELS = {
    "open": N_("Open"),
    "full": N_("Full"),
    "closed": N_("Closed"),
    "expired": N_("Expired"),
    "cancelled": N_("Cancelled"),
    "assigned": N_("Assigned"),
    "picked_up": N_("Picked up"),
    "delivered": N_("Delivered"),
    "failed": N_("Failed"),
}
BOOKING_STATE_LABELS = {
    "requested": N_("Waiting for an answer"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "expired": N_("Expired"),
    "cancelled": N_("Cancelled"),
    "done": N_("Done"),
    "not_happened": N_("Didn't happen"),
}
BOOKING_STATE_WORDS = {**BOOKING_STATE_LABELS, "not_happened": N_("Over (it didn't happen)")}
"""A state as a refusal's sentence says it ("This booking is %(state)s")."""
PROGRESS_LABELS = {
    "picked_up": N_("Picked up"),
    "delivered": N_("Delivered"),
    "failed": N_("Failed"),
}
VEHICLE_LABELS = {"bike": N_("Bike"), "cargo_bike": N_("Cargo bike"), "van": N_("Van")}
WEEKDAY_LABELS = {
    "mon": N_("Mon"),
    "tue": N_("Tue"),
    "wed": N_("Wed"),
    "thu": N_("Thu"),
    "fri": N_("Fri"),
    "sat": N_("Sat"),
    "sun": N_("Sun"),
}
# Fields a message may name that are not inputs of the form
ERROR_LABELS = {"kind": N_("Kind of offer"), "": N_("Offer")}
SEARCH_LABELS = {
    "kind": N_("Kind of offer"),
    "purpose": N_("Offered or wanted"),
    "place": N_("Place name"),
    "lat": N_("Latitude"),
    "lon": N_("Longitude"),
    "radius_km": N_("Radius (km)"),
    "from": N_("From"),
    "to": N_("Until"),
    "min_seats": N_("Seats or guests, at least"),
    "min_guests": N_("Seats or guests, at least"),
    "min_quantity": N_("Seats or guests, at least"),
    "vehicle": N_("Vehicle needed"),  # the dispatch board's filter
}
"""The search parameters a refusal names, as the search page (and the dispatch board) labels
them."""


def timezone_choices(current: str) -> tuple[tuple[str, str], ...]:
    """The usual zones, and the offer's own when it is another one."""
    zones = TIMEZONES if current in TIMEZONES or not current else (current, *TIMEZONES)
    return tuple((tz, tz) for tz in zones)
