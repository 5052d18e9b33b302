"""Why a booking is refused, as codes with parameters (the offers' convention, same rendering).

``BookingProblem`` is an ``OfferError`` with the booking codes' templates: the API sends the
code, its parameters and the English message; the pages translate the template (a msgid of
instance/locale/fr.po); a remote request refused is answered with a ``Reject`` whose
``content`` is the English message.

Three kinds of refusal, for three HTTP answers (``instance/errors.py``): the input itself is
wrong (``InvalidBooking``, 422), the offer's or the booking's state does not allow it
(``BookingRefused``, 409), or the one asking may not do it (``BookingForbidden``, 403).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from activitypub.offer_errors import CodedRefusal, OfferError, shown
from models.i18n import N_

TEMPLATES: dict[str, str] = {
    "own_offer": N_("You cannot book your own offer"),
    "offer_not_open": N_("This offer is %(status)s"),
    "offer_started": N_("This offer has already started"),
    "not_enough": N_("Only %(available)s place(s) left"),
    "too_many_guests": N_("At most %(max)s guest(s)"),
    "one_job": N_("A delivery job is taken as a whole: the quantity is 1"),
    "dates_required": N_("A stay needs an arrival and a departure"),
    "dates_order": N_("The departure must be after the arrival"),
    "outside_window": N_("The stay must fall between %(start)s and %(end)s"),
    "too_many_nights": N_("At most %(max)s night(s)"),
    "in_the_past": N_("The arrival must be in the future"),
    "overlap": N_("These nights are already booked"),
    "already_booked": N_("You already asked for this offer"),
    "already_assigned": N_("This job is already assigned"),
    "not_requested": N_("This booking is %(state)s: it no longer awaits an answer"),
    "not_accepted": N_("This booking is %(state)s"),
    "too_early": N_("This can be said only once it has taken place (from %(date)s)"),
    "progress_order": N_(
        "A job goes picked up, then delivered or failed: %(progress)s cannot come now"
    ),
    "picked_up": N_("A job already picked up cannot be cancelled: report it delivered or failed"),
    "use_progress": N_("A delivery job ends when it is reported delivered or failed"),
    "not_a_job": N_("Only delivery jobs report progress"),
    "not_author": N_("Only the offer's author can answer a request"),
    "not_courier": N_("Only the courier's side reports progress"),
    "unknown_offer": N_("There is no such offer here"),
    "malformed": N_("The request could not be read: %(detail)s"),
}
INVALID = N_("is not valid")


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "…"


@dataclasses.dataclass(frozen=True)
class BookingProblem(OfferError):
    """One reason a booking is refused (``field`` names the input concerned, or is empty)."""

    def message(self, gettext: Callable[[str], str] | None = None, **labels: str) -> str:
        text = TEMPLATES.get(self.code, INVALID)
        if gettext is not None:
            text = gettext(text)
        return text % _Values({k: labels.get(k, shown(v)) for k, v in self.params.items()})


class InvalidBooking(CodedRefusal):
    """The request's own values are wrong (dates, quantity, a text too long)."""

    public_message = "The booking is not valid"

    def __init__(self, problems: Iterable[OfferError], detail: str = "") -> None:
        super().__init__(problems, detail)
        if len(self.problems) == 1:
            self.public_message = self.problems[0].message()
            self.problem = self.problems[0]


class BookingRefused(CodedRefusal):
    """What the offer's or the booking's state does not allow; nothing was changed."""

    def __init__(self, code: str, field: str = "", detail: str = "", **params: Any) -> None:
        problem = BookingProblem(field, code, params)
        super().__init__([problem], detail or code)
        self.public_message = problem.message()
        self.problem = problem

    @property
    def code(self) -> str:
        return self.problem.code


class BookingForbidden(BookingRefused):
    """The one asking is a party, but not the one who may do this."""


def invalid(code: str, field: str, **params: Any) -> InvalidBooking:
    return InvalidBooking([BookingProblem(field, code, params)], code)
