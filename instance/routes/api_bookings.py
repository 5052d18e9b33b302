"""The JSON API for bookings (`/api/v1/bookings`): book an offer, read one's bookings and the
requests on one's offers, answer, cancel, complete, report a job's progress, write to the other
party. Every refusal is coded (``activitypub/bookings_errors.py``), rendered by
``instance.errors`` like the offers API's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from activitypub.bookings_input import (
    BookingRequest,
    Completion,
    Decision,
    MessageInput,
    ProgressReport,
    Reason,
    parse_input,
)
from activitypub.urls import path_for
from federation.context import Federation
from federation.services import bookings as service
from federation.services.bookings_decide import accept_booking, decline_booking
from federation.services.bookings_lifecycle import (
    cancel_booking,
    complete_booking,
    report_progress,
)
from federation.services.bookings_messages import post_message
from instance.auth import member_for_request
from instance.booking_view import booking_to_api, offers_of
from instance.requests import read_json
from models.actors import LocalActor
from models.bookings import Booking, Progress
from models.errors import NotFound
from models.offers import Offer

MAX_JSON = 64 * 1024


async def _body(request: Request) -> Any:
    """The JSON body; an empty one is an empty object (the actions' bodies are optional)."""
    return await read_json(request, MAX_JSON, empty={})


async def _one(
    fed: Federation, booking: Booking, member: LocalActor, *, messages: bool = True
) -> dict[str, Any]:
    offer = await Offer.get_or_none(id=booking.offer_id) if booking.offer_id else None
    conversation = await service.messages_of(booking) if messages else None
    return booking_to_api(fed, booking, member.id, offer, conversation)


async def _listing(fed: Federation, member: LocalActor, found: list[Booking]) -> Response:
    offers = await offers_of(found)
    items = [
        booking_to_api(fed, b, member.id, offers.get(b.offer_id) if b.offer_id else None)
        for b in found
    ]
    return JSONResponse({"items": items, "count": len(items)})


async def book(request: Request) -> Response:
    fed = request.app.state.fed
    member = await member_for_request(request)
    asked = parse_input(BookingRequest, await _body(request))
    offer = await service.find_offer(fed, asked.offer)
    booking = await service.request_booking(fed, member, offer, asked)
    return JSONResponse(
        await _one(fed, booking, member),
        status_code=201,
        headers={"Location": path_for("api_booking", uuid=booking.local_uuid)},
    )


async def my_bookings(request: Request) -> Response:
    member = await member_for_request(request)
    return await _listing(request.app.state.fed, member, await service.bookings_made(member))


async def booking_requests(request: Request) -> Response:
    member = await member_for_request(request)
    return await _listing(request.app.state.fed, member, await service.requests_received(member))


async def get_booking(request: Request) -> Response:
    member = await member_for_request(request)
    booking = await service.booking_for(member, request.path_params["uuid"])
    return JSONResponse(await _one(request.app.state.fed, booking, member))


Action = Callable[[Federation, LocalActor, Booking, Any], Awaitable[Any]]


async def _accept(fed: Federation, member: LocalActor, booking: Booking, body: Any) -> Any:
    decision = parse_input(Decision, body)
    return await accept_booking(fed, member, booking, decision.details)


async def _decline(fed: Federation, member: LocalActor, booking: Booking, body: Any) -> Any:
    return await decline_booking(fed, member, booking, parse_input(Reason, body).reason)


async def _cancel(fed: Federation, member: LocalActor, booking: Booking, body: Any) -> Any:
    return await cancel_booking(fed, member, booking, parse_input(Reason, body).reason)


async def _complete(fed: Federation, member: LocalActor, booking: Booking, body: Any) -> Any:
    done = parse_input(Completion, body)
    return await complete_booking(fed, member, booking, done.outcome, done.note)


async def _progress(fed: Federation, member: LocalActor, booking: Booking, body: Any) -> Any:
    report = parse_input(ProgressReport, body)
    return await report_progress(fed, member, booking, Progress(report.progress), report.note)


async def _message(fed: Federation, member: LocalActor, booking: Booking, body: Any) -> Any:
    return await post_message(fed, member, booking, parse_input(MessageInput, body).content)


HANDLERS: dict[str, Action] = {
    "accept": _accept,
    "decline": _decline,
    "cancel": _cancel,
    "complete": _complete,
    "progress": _progress,
    "messages": _message,
}


async def booking_action(request: Request) -> Response:
    fed = request.app.state.fed
    member = await member_for_request(request)
    booking = await service.booking_for(member, request.path_params["uuid"])
    action = HANDLERS.get(request.path_params["action"])
    if action is None:
        raise NotFound(f"no booking action {request.path_params['action'][:50]}")
    await action(fed, member, booking, await _body(request))
    fresh = await Booking.get(id=booking.id)
    status = 201 if request.path_params["action"] == "messages" else 200
    return JSONResponse(await _one(fed, fresh, member), status_code=status)


# --- the ids of agreements (a booking's id is its page: instance/routes/bookings_web.py) --------


async def agreement_page(request: Request) -> Response:
    """An agreement's id leads to its booking's page (same uuid, on the author's side)."""
    return RedirectResponse(path_for("booking", uuid=request.path_params["uuid"]), 303)
