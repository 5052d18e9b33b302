"""The words of an offer's post (``offer_text`` writes the post), in English, translated through
the catalogue (instance/locale, context ``post``: ``activitypub/catalogue.py``).

The post is written in several languages at once whatever the reader's language (its
``contentMap``), so each word is looked up per language with ``words(lang)``. The hashtags of
the kinds are names, not sentences: they stay here, one per language.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from activitypub.catalogue import POST, SUPPORTED, translations
from models.i18n import pN_
from models.offers import OfferKind

LABELS: dict[Any, str] = {
    ("ride", "offer"): pN_("post", "Ride offered"),
    ("ride", "request"): pN_("post", "Ride wanted"),
    ("delivery_job", "request"): pN_("post", "Delivery job"),
    ("delivery_job", "offer"): pN_("post", "Courier available"),
    ("stay", "offer"): pN_("post", "Stay offered"),
    ("stay", "request"): pN_("post", "Stay wanted"),
    "unavailable": pN_("post", "This offer is no longer available."),
    "route": pN_("post", "Route: {v}"),
    "leaving": pN_("post", "Leaving: {v}"),
    "flexibility": pN_("post", "give or take {v}"),
    "weekly": pN_("post", "Every {days} at {time}"),
    "weekly_until": pN_("post", "Every {days} at {time}, until {until}"),
    "return": pN_("post", "Return trip: {v}"),
    "return_link": pN_("post", "the offer for the way back"),
    "seats": pN_("post", "{n} seat(s) available"),
    "left": pN_("post", "Only {n} seat(s) left"),
    "seats_wanted": pN_("post", "Seats wanted: {n}"),
    "pickup": pN_("post", "Pick up: {v}"),
    "dropoff": pN_("post", "Drop off: {v}"),
    "when": pN_("post", "When: {v}"),
    "packages": pN_("post", "Packages: {v}"),
    "weight": pN_("post", "Weight: {v}"),
    "vehicle": pN_("post", "Vehicle: {v}"),
    "where": pN_("post", "Where: {v} (approximate location)"),
    "dates": pN_("post", "Dates: {v}"),
    "guests": pN_("post", "Guests: up to {n}"),
    "guests_wanted": pN_("post", "Guests: {n}"),
    "nights": pN_("post", "Nights: {n} at most"),
    "house": pN_("post", "Pets: {pets} · Smoking: {smoking} · Step-free access: {step_free}"),
    "rules": pN_("post", "House rules: {v}"),
    "price": pN_("post", "Price: {p}"),
    "per_seat": pN_("post", "Price: {p} per seat"),
    "per_night": pN_("post", "Price: {p} per night"),
    "free": pN_("post", "free"),
    "from": pN_("post", "from {v}"),
    "until": pN_("post", "until {v}"),
    "yes": pN_("post", "yes"),
    "no": pN_("post", "no"),
    "see": pN_("post", "See the offer"),
}
STATUS_WORDS = {
    "full": pN_("post", "Full"),
    "closed": pN_("post", "Closed"),
    "expired": pN_("post", "Expired"),
    "cancelled": pN_("post", "Cancelled"),
    "assigned": pN_("post", "Assigned to a courier"),
    "picked_up": pN_("post", "Picked up, on its way"),
    "delivered": pN_("post", "Delivered"),
    "failed": pN_("post", "Delivery failed"),
}
"""What a post says of an offer that is no longer simply open."""
VEHICLE_WORDS = {
    "bike": pN_("post", "bike"),
    "cargo_bike": pN_("post", "cargo bike"),
    "van": pN_("post", "van"),
}
KIND_TAGS = {
    "fr": {
        OfferKind.RIDE: "covoiturage",
        OfferKind.DELIVERY_JOB: "livraison",
        OfferKind.STAY: "hebergement",
    },
    "en": {
        OfferKind.RIDE: "carpool",
        OfferKind.DELIVERY_JOB: "delivery",
        OfferKind.STAY: "hospitality",
    },
}
"""The hashtag of each kind, by language (ASCII: Mastodon folds accents, GoToSocial may not)."""


@cache
def words(lang: str) -> dict[Any, str]:
    """``LABELS`` in ``lang``: ``words("fr")["route"]`` is "Trajet : {v}"."""
    return _translated(LABELS, lang)


def _translated(table: Mapping[Any, str], lang: str) -> dict[Any, str]:
    catalogue = translations(lang)
    return {key: str(catalogue.pgettext(POST, text)) for key, text in table.items()}


STATUS_TEXT = {lang: _translated(STATUS_WORDS, lang) for lang in SUPPORTED}
"""The status line in each language: ``STATUS_TEXT["fr"]["full"]`` is "Complet"."""
VEHICLES = {lang: _translated(VEHICLE_WORDS, lang) for lang in SUPPORTED}
