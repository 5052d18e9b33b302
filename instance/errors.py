"""The one table from error class to HTTP status, and the one handler that renders errors."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from activitypub.offer_input import InvalidOffer
from instance.auth import Unauthorized
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
    RemoteUnavailable,
    SignatureInvalid,
)

log = logging.getLogger(__name__)

STATUS: dict[type[CoopubError], int] = {
    InvalidOffer: 422,
    Unauthorized: 401,
    NotFound: 404,
    Gone: 410,
    PayloadTooLarge: 413,
    Malformed: 400,
    SignatureInvalid: 401,
    Blocked: 403,
    Conflict: 409,
    RemoteUnavailable: 502,
    CoopubError: 500,
}


def status_for(exc: CoopubError) -> int:
    return next(STATUS[c] for c in type(exc).__mro__ if c in STATUS)


def error_response(
    request: Request, status: int, message: str, errors: dict[str, str] | None = None
) -> Response:
    if wants_html(request):
        context = {"status": status, "message": message, "errors": errors or {}}
        return render(request, "error.html", context, status)
    body: dict[str, object] = {"error": message, "status": status}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


async def on_coopub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CoopubError)
    status = status_for(exc)
    level = logging.ERROR if status >= 500 else logging.INFO
    log.log(
        level,
        "request refused",
        extra={"path": request.url.path, "status": status, "detail": exc.detail or str(exc)},
    )
    return error_response(request, status, exc.public_message, getattr(exc, "errors", None))


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(request, exc.status_code, str(exc.detail))
