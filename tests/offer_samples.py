"""Valid offers of each kind, as a coop's tools would send them to the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def _at(days: int, hour: int = 8) -> str:
    moment = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return (moment + timedelta(days=days)).isoformat()


RIDE_MEETING_ADDRESS = "5 place Charles Béraudier, Lyon"
"""A ride's meeting point: its confirmed passengers only."""


def ride(**extra: Any) -> dict[str, Any]:
    return {
        "kind": "ride",
        "purpose": "offer",
        "title": "Lyon → Grenoble en covoiturage",
        "description": "Départ place Bellecour",
        "language": "fr",
        "starts_at": _at(3),
        "timezone": "Europe/Paris",
        "price_cents": 700,
        "currency": "EUR",
        "ride": {
            "origin": {
                "name": "Lyon",
                "address": RIDE_MEETING_ADDRESS,
                "latitude": 45.7578,
                "longitude": 4.8320,
            },
            "destination": {"name": "Grenoble", "latitude": 45.1885, "longitude": 5.7245},
            "waypoints": [{"name": "Voiron", "latitude": 45.3640, "longitude": 5.5890}],
            "flexibility_minutes": 15,
            "seats_total": 3,
            "seats_available": 3,
            "schedule": {"weekdays": ["mon", "thu"], "time": "08:00"},
        },
        **extra,
    }


def delivery_job(**extra: Any) -> dict[str, Any]:
    return {
        "kind": "delivery_job",
        "purpose": "request",
        "title": "Panier de légumes à livrer",
        "starts_at": _at(2, 10),
        "ends_at": _at(2, 12),
        "timezone": "Europe/Paris",
        "price_cents": 900,
        "currency": "EUR",
        "delivery": {
            "pickup": {
                "name": "Épicerie La Cagette",
                "address": "12 rue Sully, Nantes",
                "latitude": 47.2184,
                "longitude": -1.5536,
                "after": _at(2, 10),
                "before": _at(2, 11),
            },
            "dropoff": {
                "name": "Chantenay",
                "address": "3 rue de la Convention, Nantes",
                "latitude": 47.2010,
                "longitude": -1.5950,
            },
            "packages": [{"type": "crate", "quantity": 2}],
            "weight_grams": 12000,
            "vehicle": "cargo_bike",
        },
        **extra,
    }


EXACT_ADDRESS = "7 impasse des Oiseaux, Die"


def stay(**extra: Any) -> dict[str, Any]:
    return {
        "kind": "stay",
        "purpose": "offer",
        "title": "Chambre d'amis dans la Drôme",
        "starts_at": _at(5, 14),
        "ends_at": _at(12, 11),
        "timezone": "Europe/Paris",
        "price_cents": 0,
        "stay": {
            "location": {
                "name": "Die",
                "address": EXACT_ADDRESS,
                "latitude": 44.7537,
                "longitude": 5.3706,
            },
            "max_guests": 2,
            "max_nights": 3,
            "conditions": {
                "text": "Chat à la maison",
                "pets": False,
                "smoking": False,
                "step_free": True,
            },
        },
        **extra,
    }
