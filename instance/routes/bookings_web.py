"""The booking pages: ask for an offer (on its page, ours or our copy of a remote one), my
bookings, the requests on my offers, and a booking's page with the actions its reader may take
now and the conversation.

Thin handlers over the same services as the JSON API (``instance/routes/api_bookings.py``):
a request is read into the API's ``BookingAsk`` and goes to ``request_booking``; every action
on a booking goes through the API's own table of actions (``HANDLERS``), so a page and the API
can never do one thing two ways. Refusals are shown on the form that caused them, the values
kept, with the refusal's HTTP status; a success redirects (303) with a one-time message.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from activitypub.bookings_errors import BookingRefused
from activitypub.offer_errors import CodedRefusal
from activitypub.urls import path_for
from federation.context import Federation
from federation.services import bookings as service
from federation.services.bookings_rules import refusal_for_anyone
from instance import sessions
from instance.booking_view import booking_to_api, offers_of
from instance.errors import status_for
from instance.forms.booking import (
    ASK_BUTTONS,
    ASK_FIELDS,
    DETAIL_FIELDS,
    PRIVATE_LABELS,
    QUANTITY_LABELS,
    allowed,
    form_to_ask,
    problem_text,
    shown_refusal,
    stay_days,
)
from instance.forms.read import text
from instance.i18n import negotiate
from instance.interactions_view import offer_interactions
from instance.negotiation import wants_as2
from instance.offer_view import offer_to_api
from instance.routes.api_bookings import HANDLERS
from instance.routes.settings import flash
from instance.routes.web import (
    NO_STORE,
    form_page,
    gettext,
    login_path,
    page,
    safe_next,
    see_other,
    to_login,
)
from instance.templating import render
from models.actors import LocalActor
from models.bookings import Booking
from models.errors import NotFound
from models.i18n import N_
from models.offers import Offer, OfferKind

log = logging.getLogger(__name__)

DONE = {
    "accept": N_("You accepted the request."),
    "decline": N_("You declined the request."),
    "cancel": N_("It is cancelled; the other party is told."),
    "complete": N_("Noted; the other party is told."),
    "progress": N_("The progress is reported to the other party."),
    "messages": N_("Your message was sent."),
}
"""The one-time message after each action (a msgid of the catalogue)."""
ACTION_FIELDS = ("reason", "note", "outcome", "progress", "content", *DETAIL_FIELDS)


def booking_path(booking: Booking) -> str:
    return path_for("booking", uuid=booking.local_uuid)


def _zone_name(offer: Offer | None) -> str:
    """Where a booking's times are shown: the offer's time zone (UTC once the offer is gone)."""
    return offer.timezone if offer is not None else "UTC"


async def _offer_of(booking: Booking) -> Offer | None:
    return (await offers_of([booking])).get(booking.offer_id or 0)


# --- asking, on the offer's page ------------------------------------------------------------


async def _ask_box(
    request: Request,
    fed: Federation,
    member: LocalActor | None,
    offer: Offer,
    values: dict[str, str] | None,
    refused: CodedRefusal | None,
) -> dict[str, Any]:
    """What the offer's page says about asking for it: the form, or why not."""
    _ = gettext(request)
    lang = negotiate(request)
    kind = OfferKind(offer.kind).value
    box: dict[str, Any] = {
        "offer": offer.ap_id,
        "kind": kind,
        "button": ASK_BUTTONS.get((kind, offer.purpose.value), N_("Ask for it")),
        "quantity_label": QUANTITY_LABELS.get(kind),
        "quantity_max": offer.quantity_available if kind == "ride" else offer.quantity_total,
        "days": stay_days(offer),
        "kept": values or {"quantity": "1"},
        "errors": {},
        "general": [],
        "form": False,
        "why": None,
        "login": None,
        "own": False,
        "mine": [],
    }
    why = refusal_for_anyone(offer, fed.urls.actor(member) if member else None)
    if member is None:
        box["login"] = None if why else login_path(request.url.path + _query(request))
    else:
        mine = await service.active_requests(member, offer)
        box["mine"] = [{"path": booking_path(b), "state": b.state.value} for b in mine]
        if why is None and mine and offer.kind != OfferKind.STAY:
            why = BookingRefused("already_booked")
        box["own"] = why is not None and why.code == "own_offer"
    if why is not None:
        box["why"] = problem_text(why.problem, _, lang, offer.timezone)
    box["form"] = member is not None and why is None
    if refused is not None:
        shown = shown_refusal(refused, _, lang, offer.timezone, ASK_FIELDS)
        box["errors"], box["general"] = shown.by_field, shown.general
        if box["why"] in shown.general:
            box["general"] = [g for g in shown.general if g != box["why"]]
    return box


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


async def offer_html(
    request: Request,
    offer: Offer,
    *,
    values: dict[str, str] | None = None,
    refused: CodedRefusal | None = None,
    status: int = 200,
) -> Response:
    """An offer's page (ours, or our copy of a remote one) with its booking form for members."""
    fed = request.app.state.fed
    member = await sessions.current_member(request)
    context = {
        "offer": offer_to_api(fed, offer),
        "ask": await _ask_box(request, fed, member, offer, values, refused),
        "interactions": await offer_interactions(fed, offer),  # replies, favourites, boosts
        "csrf_token": sessions.csrf_token(request) if member else "",
        "moderator": member is not None and member.is_admin,  # may remove it (moderation.py)
    }
    headers = {"Vary": "Accept, Accept-Language, Cookie", **(NO_STORE if member else {})}
    return render(request, "offer.html", context, status, headers=headers)


@page
async def new_booking_page(request: Request) -> Response:
    """The page of an offer we know, by its ActivityPub id: a remote one's copy, with the form
    to ask for it from here (ours have their own page)."""
    if await sessions.current_member(request) is None:
        return to_login(request)
    offer = await service.known_offer(request.query_params.get("offer", ""))
    if offer.local_uuid is not None:
        return see_other(path_for("offer", uuid=offer.local_uuid))
    return await offer_html(request, offer)


def _offer_page(offer: Offer) -> str:
    if offer.local_uuid is not None:
        return path_for("offer", uuid=offer.local_uuid)
    return path_for("new_booking", query={"offer": offer.ap_id})


@page
async def new_booking(request: Request) -> Response:
    form = await sessions.checked_form(request)
    fed = request.app.state.fed
    uri = text(form, "offer")
    if not uri:
        raise NotFound("booking form without an offer", "No such offer")
    member = await sessions.current_member(request)
    if member is None:
        offer = await service.known_offer(uri)
        return see_other(login_path(_offer_page(offer)))
    offer = await service.find_offer(fed, uri)
    values = {name: text(form, name) for name in ASK_FIELDS}
    try:
        booking = await service.request_booking(fed, member, offer, form_to_ask(values, offer))
    except CodedRefusal as exc:
        log.info("booking refused", extra={"offer": offer.ap_id, "detail": exc.detail})
        fresh = await service.known_offer(offer.ap_id)  # as it is now (seats left…)
        return await offer_html(request, fresh, values=values, refused=exc, status=status_for(exc))
    _ = gettext(request)
    if booking.state.value == "accepted":
        flash(request, _("Your booking is confirmed."))
    else:
        flash(request, _("Your request was sent. You will see the answer here."))
    return see_other(booking_path(booking))


# --- lists ------------------------------------------------------------------------------------


async def _views(fed: Federation, member: LocalActor, found: list[Booking]) -> list[dict[str, Any]]:
    offers = await offers_of(found)
    views = []
    for b in found:
        offer = offers.get(b.offer_id) if b.offer_id else None
        view = booking_to_api(fed, b, member.id, offer)
        view["timezone"] = _zone_name(offer)
        view["path"] = booking_path(b)
        views.append(view)
    return views


@page
async def my_bookings(request: Request) -> Response:
    member = await sessions.current_member(request)
    if member is None:
        return to_login(request)
    found = await service.bookings_made(member)
    views = await _views(request.app.state.fed, member, found)
    return form_page(request, "booking_list.html", {"bookings": views})


@page
async def booking_requests(request: Request) -> Response:
    """Requests on my offers: those waiting for an answer first, with the answer's forms."""
    member = await sessions.current_member(request)
    if member is None:
        return to_login(request)
    found = await service.requests_received(member)
    views = await _views(request.app.state.fed, member, found)
    context = {
        "pending": [v for v in views if v["state"] == "requested"],
        "answered": [v for v in views if v["state"] != "requested"],
        "here": path_for("booking_requests"),
    }
    return form_page(request, "booking_requests.html", context)


# --- one booking ----------------------------------------------------------------------------


async def _booking_html(
    request: Request,
    member: LocalActor,
    booking: Booking,
    *,
    failed: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    fed = request.app.state.fed
    offer = await _offer_of(booking)
    view = booking_to_api(fed, booking, member.id, offer, await service.messages_of(booking))
    view["timezone"] = _zone_name(offer)
    other = view["author"] if view["role"] == "booker" else view["booker"]
    can = allowed(view)
    if failed is not None:  # shown on its form when the page still has it, else on top
        forms = {
            "accept": can.answer,
            "decline": can.answer,
            "cancel": can.cancel,
            "complete": can.complete,
            "progress": bool(can.steps),
            "messages": True,
        }
        failed["inline"] = forms.get(failed["action"], False)
    context = {
        "b": view,
        "other": other,
        "can": can,
        "failed": failed or {},
        "private_labels": PRIVATE_LABELS,
    }
    return form_page(request, "booking_page.html", context, status)


async def booking_page(request: Request) -> Response:
    """A booking's page, for its two parties. Bookings are private: a server asking for the id
    (the booker's ``Offer`` activity) gets nothing."""
    if wants_as2(request):
        raise NotFound(f"booking {request.path_params['uuid'][:100]} as AS2", "No such booking")
    return await _booking_page(request)


@page
async def _booking_page(request: Request) -> Response:
    member = await sessions.current_member(request)
    if member is None:
        return to_login(request)
    booking = await service.booking_for(member, request.path_params["uuid"])
    return await _booking_html(request, member, booking)


def _body(action: str, values: dict[str, str]) -> dict[str, Any]:
    """The API's body for the action, from the form's inputs."""
    if action == "accept":
        return {"details": {name: values.get(name, "") for name in DETAIL_FIELDS}}
    return values


@page
async def booking_action(request: Request) -> Response:
    """Accept, decline, cancel, complete, report progress, write: one form each."""
    form = await sessions.checked_form(request)
    uuid, action = request.path_params["uuid"], request.path_params["action"]
    member = await sessions.current_member(request)
    if member is None:
        return see_other(login_path(path_for("booking", uuid=uuid)))
    booking = await service.booking_for(member, uuid)
    handler = HANDLERS.get(action)
    if handler is None:
        raise NotFound(f"no booking action {action[:50]}")
    values = {name: text(form, name) for name in ACTION_FIELDS if name in form}
    fed = request.app.state.fed
    try:
        await handler(fed, member, booking, _body(action, values))
    except CodedRefusal as exc:
        log.info("booking action refused", extra={"action": action, "detail": exc.detail})
        fresh = await service.booking_for(member, uuid)
        offer = await _offer_of(fresh)
        shown = shown_refusal(exc, gettext(request), negotiate(request), _zone_name(offer))
        failed = {"action": action, "values": values, "messages": shown.general}
        return await _booking_html(request, member, fresh, failed=failed, status=status_for(exc))
    flash(request, gettext(request)(DONE[action]))
    default = booking_path(booking) + ("#conversation" if action == "messages" else "")
    return see_other(safe_next(text(form, "next"), default))
