"""The booking forms of the web pages: a posted request read into the same ``BookingAsk`` as
the API's, refusals put in words on the form that caused them, and what a party may do now.

A stay is asked for by dates: the arrival is taken at the hour the offer starts (its check-in
time), the departure at the hour it ends (its check-out time), in the offer's time zone, so the
nights asked fall in the window the host gave. Every rule is checked by the services; the pages
only choose which forms to show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from activitypub.bookings_errors import InvalidBooking
from activitypub.bookings_input import BookingAsk, parse_input
from activitypub.offer_errors import CodedRefusal, OfferError
from activitypub.offer_schema import zone
from instance.forms.display import local_time
from instance.forms.messages import translate
from models.i18n import N_
from models.offers import Offer, OfferKind

Gettext = Callable[[str], str]
ASK_FIELDS = ("quantity", "starts_at", "ends_at", "message")
"""The inputs of the request form, each showing its own problems."""
DETAIL_FIELDS = ("meeting_point", "contact", "instructions")
"""What the author may add on acceptance (``activitypub.bookings_input.Details``)."""
PRIVATE_LABELS = (
    ("meeting_point", N_("Meeting point")),
    ("contact", N_("Contact")),
    ("address", N_("Exact address")),
    ("pickup_address", N_("Pickup address")),
    ("dropoff_address", N_("Dropoff address")),
    ("instructions", N_("Instructions")),
)
"""The private details a booking's page shows, in this order (the position apart)."""
DATE_PARAMS = ("date", "start", "end")
"""Parameters of refusals that are moments (``too_early``, ``outside_window``)."""
FIELD_LABELS = {
    "quantity": N_("How many"),
    "starts_at": N_("Arrival"),
    "ends_at": N_("Departure"),
    "message": N_("Message"),
    "content": N_("Message"),
    "reason": N_("Reason"),
    "note": N_("Note"),
    "outcome": N_("Did it happen?"),
    "progress": N_("Progress"),
    "details.meeting_point": N_("Meeting point"),
    "details.contact": N_("Contact"),
    "details.instructions": N_("Instructions"),
}
ASK_BUTTONS = {
    ("ride", "offer"): N_("Book seats"),
    ("ride", "request"): N_("Offer to drive"),
    ("stay", "offer"): N_("Ask to stay"),
    ("stay", "request"): N_("Offer to host"),
    ("delivery_job", "request"): N_("Offer to take this job"),
    ("delivery_job", "offer"): N_("Ask this courier"),
}
QUANTITY_LABELS = {"ride": N_("Seats"), "stay": N_("Guests")}
NEXT_STEPS: dict[str | None, tuple[str, ...]] = {
    None: ("picked_up",),
    "picked_up": ("delivered", "failed"),
}
"""A delivery job's progress: what the courier's side may report next."""


def _zone(offer: Offer) -> ZoneInfo:
    return zone(offer.timezone) or ZoneInfo("UTC")


def _hour(moment: datetime, tz: ZoneInfo) -> time:
    return moment.astimezone(tz).time().replace(tzinfo=None)


def _on_day(raw: str, name: str, hour: time, tz: ZoneInfo) -> datetime | OfferError | None:
    if not raw:
        return None
    try:
        return datetime.combine(date.fromisoformat(raw), hour, tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: the first or last day of year 1 or 9999
        return OfferError(name, "not_a_date", {})


def stay_days(offer: Offer) -> tuple[str, str]:
    """The first and last days a stay may be asked for, in its own time zone (the date
    inputs' ``min`` and ``max``)."""
    tz = _zone(offer)
    last = offer.ends_at or offer.expires_at
    return offer.starts_at.astimezone(tz).date().isoformat(), last.astimezone(tz).date().isoformat()


def form_to_ask(values: Mapping[str, str], offer: Offer) -> BookingAsk:
    """The request from the posted form, checked by the API's own model (laxly: forms send
    text); ``InvalidBooking`` names each input at fault."""
    data: dict[str, Any] = {"message": values.get("message", "")}
    problems: list[OfferError] = []
    if offer.kind != OfferKind.DELIVERY_JOB:
        data["quantity"] = values.get("quantity", "")
    if offer.kind == OfferKind.STAY:
        tz = _zone(offer)
        check_out = offer.ends_at or offer.starts_at
        for name, hour in (
            ("starts_at", _hour(offer.starts_at, tz)),
            ("ends_at", _hour(check_out, tz)),
        ):
            moment = _on_day(values.get(name, ""), name, hour, tz)
            if isinstance(moment, OfferError):
                problems.append(moment)
            else:
                data[name] = moment
    try:
        ask = parse_input(BookingAsk, data, lax=True)
    except CodedRefusal as exc:
        problems += exc.problems
    if problems:
        raise InvalidBooking(problems)
    return ask


def problem_text(problem: OfferError, gettext: Gettext, lang: str, tz: str | None) -> str:
    """One problem in the page's language, its moments in the reader's time zone."""
    moments = {
        key: local_time(value, tz, lang)
        for key, value in problem.params.items()
        if key in DATE_PARAMS and isinstance(value, str)
    }
    return translate(problem, gettext, **moments)


@dataclass(frozen=True)
class Shown:
    """A refusal as a form shows it: under each input it names, the rest above."""

    by_field: dict[str, str]
    general: list[str]


def shown_refusal(
    exc: CodedRefusal,
    gettext: Gettext,
    lang: str,
    tz: str | None,
    inputs: tuple[str, ...] = (),
) -> Shown:
    by_field: dict[str, str] = {}
    general: list[str] = []
    for problem in exc.problems:
        text = problem_text(problem, gettext, lang, tz)
        if problem.field in inputs:
            by_field.setdefault(problem.field, text)
        elif problem.field in FIELD_LABELS:
            field = gettext(FIELD_LABELS[problem.field])
            general.append(gettext("%(field)s: %(problem)s") % {"field": field, "problem": text})
        else:
            general.append(text)
    return Shown(by_field, general)


@dataclass(frozen=True)
class Allowed:
    """The actions a party may take on a booking now (the services decide again)."""

    answer: bool
    """Accept or decline: the author, while it waits."""
    cancel: bool
    """Withdraw a request (the booker), cancel an accepted booking (either, until picked up)."""
    complete: bool
    """Say whether it happened: rides and stays, accepted, once the date has come."""
    complete_from: str | None
    """When ``complete`` becomes possible, while it is not yet."""
    steps: tuple[str, ...]
    """A delivery job's next progress, for the courier's side."""


def allowed(view: Mapping[str, Any], now: datetime | None = None) -> Allowed:
    """From a booking as ``instance.booking_view.booking_to_api`` shows it to the reader."""
    now = now or datetime.now(UTC)
    state, role, job = view["state"], view["role"], view["offer"]["kind"] == "delivery_job"
    accepted = state == "accepted"
    happens = datetime.fromisoformat(view["happens_at"].replace("Z", "+00:00"))
    courier = job and accepted and view["courier"] == role
    return Allowed(
        answer=role == "author" and state == "requested",
        cancel=(state == "requested" and role == "booker")
        or (accepted and view["progress"] is None),
        complete=accepted and not job and now >= happens,
        complete_from=view["happens_at"] if accepted and not job and now < happens else None,
        steps=NEXT_STEPS.get(view["progress"], ()) if courier else (),
    )
