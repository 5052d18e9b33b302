"""A posted offer form → the checked offer description, or the errors keyed by input name.

The flat inputs are put back in the description's shape (``origin_latitude`` →
``ride.origin.latitude``), amounts typed in units become cents or grams, and the result is
validated once, laxly (forms send text), by the same ``parse_offer`` as the API. On an edit,
what the form does not show (stops and packages after the first) is kept from the offer.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from starlette.datastructures import FormData

from activitypub.offer_errors import InvalidOffer, OfferError
from activitypub.offer_input import parse_offer
from activitypub.offer_schema import DeliveryOffer, OfferDescription, RideOffer
from instance.forms.labels import DEFAULT_TIMEZONE
from instance.forms.layout import FORMS, FormField, inputs
from models.offers import OfferKind

CHECKED = ("on", "1", "true", "yes")
KINDS = [k.value for k in OfferKind]


def text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def listed(form: Mapping[str, Any], name: str) -> list[str]:
    if isinstance(form, FormData):
        return [v for v in form.getlist(name) if isinstance(v, str)]
    value = form.get(name)
    if isinstance(value, list):
        return [str(v) for v in value]
    return [value] if isinstance(value, str) and value else []


def form_values(form: FormData) -> dict[str, Any]:
    """The posted values, to show them again in the form."""
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    values["weekdays"] = listed(form, "weekdays")
    return values


def _amount(raw: str, spec: FormField) -> int | OfferError:
    """An amount typed in units (``7,50``) as the integer the description counts (750)."""
    try:
        value = Decimal(raw.replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        return OfferError(spec.path, "not_a_decimal", {"example": spec.example})
    scaled = value * spec.scale
    if scaled != scaled.to_integral_value():
        return OfferError(spec.path, "too_many_decimals", {"example": spec.example})
    return int(scaled)


def _value(form: Mapping[str, Any], spec: FormField) -> Any:
    """The input's value in the description's terms ("" when left empty)."""
    if spec.type == "checkbox":
        return text(form, spec.name).lower() in CHECKED
    if spec.type == "weekdays":
        return [d for d in listed(form, spec.name) if d]
    raw = text(form, spec.name)
    if raw and spec.scale > 1:
        return _amount(raw, spec)
    if raw and spec.type == "number":
        return raw.replace(",", ".").replace(" ", "")
    return raw


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dotted path, creating dicts, and lists for numeric parts."""
    parts = path.split(".")
    node: Any = data
    for part, after in pairwise(parts):
        if part.isdigit():
            while len(node) <= int(part):
                node.append({})
            node = node[int(part)]
        else:
            node = node.setdefault(part, [] if after.isdigit() else {})
    node[parts[-1]] = value


def _structure(kind: str, form: Mapping[str, Any]) -> tuple[dict[str, Any], list[OfferError]]:
    data: dict[str, Any] = {"kind": kind, "timezone": DEFAULT_TIMEZONE}
    problems: list[OfferError] = []
    for spec in inputs(kind):
        value = _value(form, spec)
        if isinstance(value, OfferError):
            problems.append(value)
        elif value not in ("", []):
            _put(data, spec.path, value)
    return data, problems


def _keep_unshown(data: dict[str, Any], previous: OfferDescription | None) -> None:
    """The stops and packages after the first, which the form does not show."""
    if isinstance(previous, RideOffer):
        ride = data.setdefault("ride", {})
        rest = [p.model_dump(mode="json") for p in previous.ride.waypoints[1:]]
        ride["waypoints"] = ride.get("waypoints", []) + rest
    elif isinstance(previous, DeliveryOffer):
        job = data.setdefault("delivery", {})
        rest = [p.model_dump(mode="json") for p in previous.delivery.packages[1:]]
        job["packages"] = job.get("packages", []) + rest


def form_to_offer(
    form: Mapping[str, Any],
    *,
    default_language: str,
    previous: OfferDescription | None = None,
) -> OfferDescription:
    """The checked description from a posted form; ``InvalidOffer`` lists every problem, each
    under the name of the input that shows it (``field_for``)."""
    kind = text(form, "kind")
    if kind not in FORMS:
        raise InvalidOffer([OfferError("kind", "not_a_choice", {"choices": KINDS})])
    data, problems = _structure(kind, form)
    _keep_unshown(data, previous)
    try:
        offer = parse_offer(data, lax=True, default_language=default_language)
    except InvalidOffer as exc:
        problems += exc.problems
    if problems:
        raise InvalidOffer([_on_input(kind, p) for p in problems]) from None
    return offer


def field_for(kind: str, path: str) -> str:
    """The input that shows a problem about ``path``: the one filling it, or the first inside
    it (``ride.origin`` → ``origin_name``), else the path itself (shown above the form)."""
    specs = inputs(kind)
    for spec in specs:
        if path == spec.path or path.startswith(spec.path + "."):
            return spec.name
    for spec in specs:
        if spec.path.startswith(path + "."):
            return spec.name
    return path


def _on_input(kind: str, problem: OfferError) -> OfferError:
    return OfferError(field_for(kind, problem.field), problem.code, problem.params)
