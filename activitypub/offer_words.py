"""The words of an offer's post, in French and English (``offer_text`` writes the post).

Kept here rather than in the pages' catalogue (instance/locale): the post is written on the
wire side, which does not import the web layer, and in both languages at once whatever the
reader's language, as the booking messages are (``federation/services/bookings_texts``).
"""

from __future__ import annotations

from typing import Any

from models.offers import OfferKind

LABELS: dict[str, dict[Any, str]] = {
    "en": {
        ("ride", "offer"): "Ride offered",
        ("ride", "request"): "Ride wanted",
        ("delivery_job", "request"): "Delivery job",
        ("delivery_job", "offer"): "Courier available",
        ("stay", "offer"): "Stay offered",
        ("stay", "request"): "Stay wanted",
        "unavailable": "This offer is no longer available.",
        "route": "Route: {v}",
        "leaving": "Leaving: {v}",
        "flexibility": "give or take {v}",
        "weekly": "Every {days} at {time}",
        "weekly_until": "Every {days} at {time}, until {until}",
        "return": "Return trip: {v}",
        "return_link": "the offer for the way back",
        "seats": "{n} seat(s) available",
        "left": "Only {n} seat(s) left",
        "seats_wanted": "Seats wanted: {n}",
        "pickup": "Pick up: {v}",
        "dropoff": "Drop off: {v}",
        "when": "When: {v}",
        "packages": "Packages: {v}",
        "weight": "Weight: {v}",
        "vehicle": "Vehicle: {v}",
        "where": "Where: {v} (approximate location)",
        "dates": "Dates: {v}",
        "guests": "Guests: up to {n}",
        "guests_wanted": "Guests: {n}",
        "nights": "Nights: {n} at most",
        "house": "Pets: {pets} · Smoking: {smoking} · Step-free access: {step_free}",
        "rules": "House rules: {v}",
        "price": "Price: {p}",
        "per_seat": "Price: {p} per seat",
        "per_night": "Price: {p} per night",
        "free": "free",
        "from": "from {v}",
        "until": "until {v}",
        "yes": "yes",
        "no": "no",
        "see": "See the offer",
    },
    "fr": {
        ("ride", "offer"): "Covoiturage proposé",
        ("ride", "request"): "Covoiturage recherché",
        ("delivery_job", "request"): "Course à livrer",
        ("delivery_job", "offer"): "Coursier·e disponible",
        ("stay", "offer"): "Hébergement proposé",
        ("stay", "request"): "Hébergement recherché",
        "unavailable": "Cette offre n’est plus disponible.",
        "route": "Trajet : {v}",
        "leaving": "Départ : {v}",
        "flexibility": "à {v} près",
        "weekly": "Chaque {days} à {time}",
        "weekly_until": "Chaque {days} à {time}, jusqu’au {until}",
        "return": "Retour : {v}",
        "return_link": "l’offre du trajet retour",
        "seats": "{n} place(s) disponible(s)",
        "left": "Il ne reste plus que {n} place(s)",
        "seats_wanted": "Places recherchées : {n}",
        "pickup": "Enlèvement : {v}",
        "dropoff": "Livraison : {v}",
        "when": "Quand : {v}",
        "packages": "Colis : {v}",
        "weight": "Poids : {v}",
        "vehicle": "Véhicule : {v}",
        "where": "Où : {v} (emplacement approximatif)",
        "dates": "Dates : {v}",
        "guests": "Personnes : jusqu’à {n}",
        "guests_wanted": "Personnes : {n}",
        "nights": "Nuits : {n} au plus",
        "house": "Animaux : {pets} · Fumeurs : {smoking} · Accès de plain-pied : {step_free}",
        "rules": "Conditions : {v}",
        "price": "Prix : {p}",
        "per_seat": "Prix : {p} par place",
        "per_night": "Prix : {p} par nuit",
        "free": "gratuit",
        "from": "à partir de {v}",
        "until": "jusqu’à {v}",
        "yes": "oui",
        "no": "non",
        "see": "Voir l’offre",
    },
}
STATUS_TEXT = {
    "en": {
        "full": "Full",
        "closed": "Closed",
        "expired": "Expired",
        "cancelled": "Cancelled",
        "assigned": "Assigned to a courier",
        "picked_up": "Picked up, on its way",
        "delivered": "Delivered",
        "failed": "Delivery failed",
    },
    "fr": {
        "full": "Complet",
        "closed": "Fermée",
        "expired": "Expirée",
        "cancelled": "Annulée",
        "assigned": "Attribuée à un·e coursier·e",
        "picked_up": "Récupérée, en route",
        "delivered": "Livrée",
        "failed": "Livraison échouée",
    },
}
"""What a post says of an offer that is no longer simply open."""
VEHICLES = {
    "en": {"bike": "bike", "cargo_bike": "cargo bike", "van": "van"},
    "fr": {"bike": "vélo", "cargo_bike": "vélo cargo", "van": "utilitaire"},
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
