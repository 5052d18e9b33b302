"""The one table from error class to HTTP status, and the one handler that renders errors.

Every refusal is ``{"error": message, "status": code}``; input refused as codes
(``CodedRefusal``: an offer, a status change, a search parameter) adds one problem per field,
``{"field": "ride.seats_total", "code": "too_large", "max": 100, "message": "…"}``, for every
route. A browser gets the error page instead, the problems translated.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from activitypub.bookings_errors import BookingForbidden, BookingRefused, InvalidBooking
from activitypub.offer_errors import CodedRefusal, InvalidOffer
from instance.access import loggable_path
from instance.auth import Unauthorized
from instance.forms.messages import refusal_text, translate
from instance.i18n import negotiate, translations
from instance.negotiation import wants_html
from instance.templating import render
from models.errors import (
    Blocked,
    Conflict,
    CoopubError,
    Gone,
    Malformed,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RemoteUnavailable,
    SignatureInvalid,
)

log = logging.getLogger(__name__)

STATUS: dict[type[CoopubError], int] = {
    InvalidOffer: 422,
    InvalidBooking: 422,
    BookingForbidden: 403,
    BookingRefused: 409,
    Unauthorized: 401,
    NotFound: 404,
    Gone: 410,
    PayloadTooLarge: 413,
    Malformed: 400,
    SignatureInvalid: 401,
    Blocked: 403,
    Conflict: 409,
    RemoteUnavailable: 502,
    RateLimited: 429,
    CoopubError: 500,
}


class Problem(BaseModel):
    """One problem with the input; the code's parameters (``min``, ``max``, ``choices``…) are
    further keys."""

    model_config = ConfigDict(extra="allow")

    field: str = Field(
        description="Dotted path in the offer (ride.seats_total), or the query parameter (lat)"
    )
    code: str = Field(description="too_large, required, not_a_choice… (see the README)")
    message: str = Field(description="In English, for people")


class Refusal(BaseModel):
    error: str
    status: int
    errors: list[Problem] | None = None


def status_for(exc: CoopubError) -> int:
    return next(STATUS[c] for c in type(exc).__mro__ if c in STATUS)


def refusal_body(exc: CodedRefusal, status: int) -> dict[str, Any]:
    """The JSON answer to input refused as codes."""
    body = Refusal(
        error=exc.public_message,
        status=status,
        errors=[Problem.model_validate(p.to_json()) for p in exc.problems],
    )
    return body.model_dump(mode="json")


def error_response(
    request: Request, status: int, message: str, errors: dict[str, str] | None = None
) -> Response:
    if wants_html(request):  # a public message is a msgid; one already translated stays as is
        shown = translations(negotiate(request)).gettext(message)
        context = {"status": status, "message": shown, "errors": errors or {}}
        return render(request, "error.html", context, status)
    body: dict[str, object] = {"error": message, "status": status}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def refusal_response(request: Request, exc: CodedRefusal, status: int) -> Response:
    """Input refused as codes: the codes for programs, the page in its language for people."""
    if not wants_html(request):
        return JSONResponse(refusal_body(exc, status), status_code=status)
    gettext = translations(negotiate(request)).gettext
    errors = {p.field: translate(p, gettext) for p in exc.problems}
    return error_response(request, status, refusal_text(exc, gettext), errors)


async def on_coopub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CoopubError)
    status = status_for(exc)
    level = logging.ERROR if status >= 500 else logging.INFO
    log.log(
        level,
        "request refused",
        extra={
            "path": loggable_path(request.url.path),
            "status": status,
            "detail": exc.detail or str(exc),
        },
    )
    if isinstance(exc, CodedRefusal):
        return refusal_response(request, exc, status)
    response = error_response(request, status, exc.public_message)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def on_unexpected_error(request: Request, exc: Exception) -> Response:
    """A bug: a 500 with a message in the reader's language (the server logs the traceback once,
    with the request id that ``X-Request-Id`` carries). Runs outside every middleware but the
    headers and the request observer (``instance/app.CoopubApp``): no session here."""
    gettext = translations(negotiate(request)).gettext
    message = gettext("Internal error: the administrators will find it in the logs.")
    return error_response(request, 500, message)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(request, exc.status_code, str(exc.detail))
