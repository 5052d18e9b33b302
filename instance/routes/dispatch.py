"""The dispatch board: its page for the coop's members (``/coops/{name}/dispatch``, filters in
a GET form, an "assign" button per claim for the job's author) and its JSON API
(``GET /api/v1/dispatch``, the board of the token's member's coop).

Thin handlers over ``federation.services.dispatch``; assigning is ``accept_booking``, the one
way a request is accepted. Same conventions as ``instance.routes.web``: POSTs check the CSRF
token, refusals on the page are HTML, an action redirects back with a one-time message.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from activitypub.bookings_input import Details, parse_input
from activitypub.urls import path_for
from federation.services.dispatch import (
    Board,
    BoardStatus,
    assign,
    board_coop,
    dispatch_board,
    parse_dispatch,
)
from federation.services.search import InvalidSearch
from instance import sessions
from instance.auth import member_for_request
from instance.dispatch_view import board_to_api
from instance.forms.labels import VEHICLE_LABELS
from instance.forms.messages import search_refusal
from instance.routes.settings import flash, member_or_none
from instance.routes.web import form_page, gettext, page, safe_next, see_other, to_login
from models.bookings import BookingState
from models.errors import NotFound
from models.i18n import N_

BOARD_STATUS_LABELS = {
    BoardStatus.OPEN: N_("Open"),
    BoardStatus.CLAIMED: N_("Claimed"),
    BoardStatus.ASSIGNED: N_("Assigned"),
    BoardStatus.PICKED_UP: N_("Picked up"),
    BoardStatus.DELIVERED: N_("Delivered"),
    BoardStatus.FAILED: N_("Failed"),
}
CLAIM_LABELS = {
    BookingState.REQUESTED: N_("Claim waiting"),
    BookingState.ACCEPTED: N_("Assigned to this courier"),
    BookingState.DONE: N_("Delivered by this courier"),
    BookingState.NOT_HAPPENED: N_("Failed with this courier"),
    BookingState.DECLINED: N_("Claim declined"),
}
"""English msgids (instance/locale/fr.po), by value, for the template."""


@page
async def dispatch_home(request: Request) -> Response:
    """The navigation's link: the board of the member's own coop."""
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    coop = await board_coop(member)
    return see_other(path_for("dispatch", name=coop.username))


def _back(request: Request) -> str:
    """This page with its filters: where an assignment comes back to."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


@page
async def dispatch_page(request: Request) -> Response:
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    fed = request.app.state.fed
    coop = await board_coop(member, request.path_params["name"])
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    board: Board | None = None
    error = None
    try:
        board = await dispatch_board(coop, parse_dispatch(query))
    except InvalidSearch as exc:
        error = search_refusal(exc.problem, gettext(request))
    jobs: list[dict[str, Any]] = []
    next_page = None
    if board is not None:
        jobs = board_to_api(board, fed.urls.actor(coop), member)["items"]
        if len(jobs) >= board.params.limit:
            more = {**query, "offset": board.params.offset + board.params.limit}
            next_page = path_for("dispatch", query=more, name=coop.username)
    context = {
        "coop": coop,
        "values": query,
        "jobs": jobs,
        "error": error,
        "next_page": next_page,
        "back": _back(request),
        "vehicles": VEHICLE_LABELS,
        "status_labels": {s.value: label for s, label in BOARD_STATUS_LABELS.items()},
        "claim_labels": {s.value: label for s, label in CLAIM_LABELS.items()},
    }
    return form_page(request, "dispatch.html", context, 400 if error else 200)


@page
async def dispatch_assign(request: Request) -> Response:
    """The job's author assigns it to the courier of one claim (then back to the board)."""
    form = await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    coop = await board_coop(member, request.path_params["name"])
    claim = form.get("claim")
    if not isinstance(claim, str) or not claim:
        raise NotFound("assign without a claim", "No such claim")
    contact = form.get("contact")
    details = None
    if isinstance(contact, str) and contact.strip():
        details = parse_input(Details, {"contact": contact}, lax=True)
    booking = await assign(request.app.state.fed, member, claim, details)
    text = gettext(request)("The job is assigned to %(courier)s.")
    flash(request, text % {"courier": booking.booker_name or booking.booker_uri})
    target = form.get("next")
    board = path_for("dispatch", name=coop.username)
    return see_other(safe_next(target if isinstance(target, str) else None, board))


async def api_dispatch(request: Request) -> Response:
    """The board of the coop of the token's member, with the page's filters."""
    fed = request.app.state.fed
    member = await member_for_request(request)
    coop = await board_coop(member)
    board = await dispatch_board(coop, parse_dispatch(dict(request.query_params)))
    return JSONResponse(board_to_api(board, fed.urls.actor(coop), member))
