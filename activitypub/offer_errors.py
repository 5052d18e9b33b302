"""What is wrong with an offer, as codes with parameters, never as prose to be parsed again.

``OfferError(field="ride.seats_total", code="too_large", params={"min": 1, "max": 100})``.
The API sends the code and its parameters, with an English ``message``; the web pages translate
the same message through the catalogue.

Convention: each code has one English template with ``%(name)s`` placeholders for its
parameters (``"must be between %(min)s and %(max)s"``, marked ``N_`` for babel.cfg). The
template is the catalogue's msgid (instance/locale/fr.po), so English needs no catalogue and a
new code needs one French entry. A list parameter is shown joined by commas. Only the bounds
choose among sentences: a range reads "must be between…", a lower bound of 0 "must not be
negative" (``template``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from models.errors import Malformed
from models.i18n import N_

TEMPLATES: dict[str, str] = {
    "required": N_("required"),
    "not_text": N_("must be text"),
    "too_long": N_("at most %(max_length)s characters"),
    "too_short": N_("at least %(min_length)s characters"),
    "bad_format": N_("must look like %(example)s"),
    "not_an_integer": N_("must be a whole number"),
    "not_a_number": N_("must be a number"),
    "not_a_decimal": N_("must be a number such as %(example)s"),
    "too_many_decimals": N_("too many decimals (e.g. %(example)s)"),
    "too_small": N_("must be between %(min)s and %(max)s"),
    "too_large": N_("must be between %(min)s and %(max)s"),
    "not_a_boolean": N_("must be true or false"),
    "not_a_datetime": N_("must be a date and time (ISO 8601)"),
    "not_a_choice": N_("must be one of: %(choices)s"),
    "not_a_list": N_("must be a list"),
    "too_many": N_("at most %(max_items)s items"),
    "too_few": N_("at least %(min_items)s items"),
    "not_an_object": N_("must be an object"),
    "unknown_timezone": N_("unknown time zone"),
    "before_start": N_("must not be before the start"),
    "too_late": N_("at most %(days)s days after the start"),
    "not_a_day": N_("must be a date (YYYY-MM-DD)"),
    "before_after": N_("must not be before 'after'"),
    "exceeds_total": N_("cannot exceed the seats offered"),
    "status_not_allowed": N_("A %(kind)s cannot be %(status)s"),
    "already_closed": N_("This offer is already %(status)s"),
    "held_by_booking": N_("A courier holds this job: its progress is theirs to report"),
    "not_positive": N_("must be more than 0"),
    "not_a_date": N_("must be a date (YYYY-MM-DD) or a date and time (ISO 8601)"),
    "unknown_place": N_("no place of that name is known: give latitude and longitude"),
    "ambiguous_place": N_(
        "several places have that name: give latitude and longitude, or a more "
        "precise name such as Saint-Denis (93) or Paris, FR"
    ),
    "invalid": N_("is not valid"),
}
NOT_NEGATIVE = N_("must not be negative")


def template(code: str, params: Mapping[str, Any]) -> str:
    """The English template (and catalogue msgid) for ``code`` with these parameters."""
    if code == "too_small" and params.get("min") == 0:
        return NOT_NEGATIVE
    if code in ("too_small", "too_large") and not {"min", "max"} <= set(params):
        if code == "too_small":
            return N_("must be at least %(min)s")
        return N_("must be at most %(max)s")
    return TEMPLATES.get(code, TEMPLATES["invalid"])


def shown(value: Any) -> str:
    """A parameter as text: lists joined by commas, 90.0 as 90."""
    if isinstance(value, list | tuple):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Values(dict[str, str]):
    """A placeholder without its parameter shows as an ellipsis rather than failing."""

    def __missing__(self, key: str) -> str:
        return "…"


@dataclass(frozen=True)
class OfferError:
    field: str  # dotted path in the offer description ("" for the whole offer)
    code: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def message(self, gettext: Callable[[str], str] | None = None, **labels: str) -> str:
        """In English, or through ``gettext``; ``labels`` replace parameter values for display
        (a status shown as its translated name)."""
        text = template(self.code, self.params)
        if gettext is not None:
            text = gettext(text)
        values = _Values({k: labels.get(k, shown(v)) for k, v in self.params.items()})
        return text % values

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "code": self.code, **self.params, "message": self.message()}


class CodedRefusal(Malformed):
    """Input refused as coded problems: the API answers with the codes, the pages translate
    them (``instance/errors.py`` renders every such refusal, for every route)."""

    def __init__(self, problems: Iterable[OfferError], detail: str = "") -> None:
        self.problems = list(problems)
        found = "; ".join(f"{p.field}: {p.message()}" for p in self.problems)
        super().__init__(detail or found)


class InvalidOffer(CodedRefusal):
    """Bad offer input: every problem found, each a coded ``OfferError``."""

    public_message = "The offer is not valid"


class OfferRefused(CodedRefusal):
    """A change the offer's state does not allow (a status it cannot take)."""

    def __init__(self, problem: OfferError, detail: str = "") -> None:
        super().__init__([problem], detail or problem.code)
        self.public_message = problem.message()
        self.problem = problem
