"""An offer's description → the values of its form (the edit page), input by input.

The same layout that reads the form writes it: each input shows the description's value at its
path, times in the offer's own time zone, amounts in units (750 cents → ``7.50``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from activitypub.offer_schema import OfferDescription, zone
from instance.forms.labels import DEFAULT_TIMEZONE
from instance.forms.layout import FormField, inputs
from instance.forms.places import remember_places


def _at(node: Any, path: str) -> Any:
    for part in path.split("."):
        if node is None:
            return None
        if part.isdigit():
            index = int(part)
            node = node[index] if isinstance(node, list) and index < len(node) else None
        else:
            node = getattr(node, part, None) if isinstance(node, BaseModel) else None
    return node


def _units(value: int, scale: int) -> str:
    amount = Decimal(value) / scale
    if scale == 100:
        return f"{amount:.2f}"
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _shown(value: Any, spec: FormField, tz_name: str) -> Any:
    if value is None:
        return [] if spec.type == "weekdays" else ""
    if spec.type == "weekdays":
        return list(value)
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, datetime):
        tz = zone(tz_name) or zone("UTC")
        return value.astimezone(tz).strftime("%Y-%m-%dT%H:%M")
    if spec.scale > 1 and isinstance(value, int):
        return _units(value, spec.scale)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(getattr(value, "value", value))


def offer_values(offer: OfferDescription) -> dict[str, Any]:
    """The form's values for this offer (as its author sees it: a stay's exact place)."""
    kind = str(offer.kind.value)
    values: dict[str, Any] = {"kind": kind}
    for spec in inputs(kind):
        values[spec.name] = _shown(_at(offer, spec.path), spec, offer.timezone)
    remember_places(values)  # a name changed without new coordinates is looked up again
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
