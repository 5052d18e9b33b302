"""Reading an offer as a member writes it: the API's JSON or the web form's values, checked once.

``parse_offer`` validates against the one description (``activitypub.offer_schema``): strictly
for the API (JSON types: ``"700"`` is not a whole number), laxly for the web form (forms send
text). Every problem comes back at once in ``InvalidOffer``, as coded ``OfferError``s whose
bounds are the description's own.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from activitypub.offer_errors import TEMPLATES, InvalidOffer, OfferError
from activitypub.offer_facts import field_facts
from activitypub.offer_schedule import schedule_problems
from activitypub.offer_schema import OFFER_DESCRIPTION, OfferDescription, zone
from models.offers import OfferKind

__all__ = ["InvalidOffer", "parse_offer", "problems_of"]

# pydantic's error types → our codes (custom errors raised by the description are codes already)
CODES = {
    "missing": "required",
    "union_tag_not_found": "required",
    "string_type": "not_text",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "string_pattern_mismatch": "bad_format",
    "int_type": "not_an_integer",
    "int_parsing": "not_an_integer",
    "int_from_float": "not_an_integer",
    "float_type": "not_a_number",
    "float_parsing": "not_a_number",
    "finite_number": "not_a_number",
    "greater_than_equal": "too_small",
    "less_than_equal": "too_large",
    "bool_type": "not_a_boolean",
    "bool_parsing": "not_a_boolean",
    "literal_error": "not_a_choice",
    "union_tag_invalid": "not_a_choice",
    "list_type": "not_a_list",
    "too_long": "too_many",
    "too_short": "too_few",
    "model_type": "not_an_object",
    "model_attributes_type": "not_an_object",
    "dict_type": "not_an_object",
}
KINDS = [k.value for k in OfferKind]
EXPECTED = re.compile(r"'([^']*)'")


def _absent(value: Any) -> bool:
    return value is None or value == ""


def prune(value: Any) -> Any:
    """Empty strings and nulls count as absent, at any depth (so ``"title": ""`` is
    "required", not "too short", and a form's empty inputs need no special case)."""
    if isinstance(value, dict):
        return {k: prune(v) for k, v in value.items() if not _absent(v)}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def parse_offer(data: Any, *, lax: bool = False, default_language: str = "fr") -> OfferDescription:
    """The checked description of an offer, or ``InvalidOffer`` listing every problem."""
    data = prune(data)
    tz = zone(data.get("timezone", "UTC")) if isinstance(data, dict) else None
    try:
        offer = OFFER_DESCRIPTION.validate_python(data, strict=not lax, context={"tz": tz})
    except ValidationError as exc:
        raise InvalidOffer(problems_of(exc)) from None
    problems = schedule_problems(offer)
    if problems:
        raise InvalidOffer(problems)
    if offer.language is None:
        offer.language = default_language
    return offer


def problems_of(exc: ValidationError) -> list[OfferError]:
    """pydantic's errors as ours: a dotted field path, a code, and the field's own bounds."""
    return [_problem(error) for error in exc.errors(include_url=False)]


def _problem(error: ErrorDetails) -> OfferError:
    loc = [str(part) for part in error["loc"]]
    kind = loc.pop(0) if loc and loc[0] in KINDS else None  # the discriminated union's tag
    path = ".".join(loc)
    kind_error = error["type"].startswith("union_tag")
    code = CODES.get(error["type"]) or (error["type"] if error["type"] in TEMPLATES else "invalid")
    if kind_error:
        path = "kind"
        params: dict[str, Any] = {} if code == "required" else {"choices": KINDS}
    else:
        params = _params(code, kind, path, error)
    if code == "too_short" and params.get("min_length") == 1:
        code, params = "required", {}
    return OfferError(path, code, params)


def _params(code: str, kind: str | None, path: str, error: ErrorDetails) -> dict[str, Any]:
    facts = field_facts(kind, path) if kind else None
    ctx = error.get("ctx") or {}
    if code in ("too_small", "too_large"):
        bounds = {"min": ctx.get("ge"), "max": ctx.get("le")}
        if facts is not None:
            bounds = {"min": facts.minimum, "max": facts.maximum}
        return {k: v for k, v in bounds.items() if v is not None}
    if code == "too_long":
        return {"max_length": ctx.get("max_length")}
    if code == "too_short":
        return {"min_length": ctx.get("min_length")}
    if code == "too_many":
        return {"max_items": ctx.get("max_length")}
    if code == "too_few":
        return {"min_items": ctx.get("min_length")}
    if code == "not_a_choice":  # outside an offer's description, pydantic's "'a' or 'b'"
        choices = facts.choices if facts else EXPECTED.findall(str(ctx.get("expected", "")))
        return {"choices": list(choices)}
    if code == "bad_format":
        return {"example": facts.example if facts else ""}
    return {}
