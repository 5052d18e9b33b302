"""Per-request observation, as pure ASGI middleware: a request id, the latency and status
metrics, and one access-log line in the same ``key=value`` format as every other log.

The request id comes from the client's (or proxy's) ``X-Request-Id`` when it is short and
harmless, else it is generated; it is echoed in the response, so one id follows a request from
the reverse proxy's log to ours. Every log line emitted while the request is handled carries it
(``instance.logs.REQUEST_ID``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import time

from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from instance.logs import EXCEPTION_REQUEST_ID, REQUEST_ID
from instance.metrics import RequestMetrics

log = logging.getLogger("coopub.access")

REQUEST_ID_HEADER = "X-Request-Id"
_RAW_ID_HEADER = REQUEST_ID_HEADER.lower().encode("latin-1")
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_LOGGED_PATH = 300
UNMATCHED = "<unmatched>"
SECRET_PATHS = re.compile(r"^(/calendar/|/alerts/|/invite/|/password/reset/)[^/]+")
"""Paths whose next segment is a secret (a member's calendar or alerts URL): never written to
the log."""


def loggable_path(path: str) -> str:
    """The request path as the logs may keep it: secrets masked, length bounded."""
    return SECRET_PATHS.sub(r"\1<secret>", path)[:MAX_LOGGED_PATH]


def request_id(scope: Scope) -> str:
    given = Headers(scope=scope).get(REQUEST_ID_HEADER)
    if given is not None and SAFE_REQUEST_ID.fullmatch(given):
        return given
    return secrets.token_hex(8)


def route_template(scope: Scope) -> str:
    """The path pattern that serves this request (``/u/{username:str}``, not ``/u/alice``)."""
    served = scope.get("route")  # Starlette's router names the route it handed the request to
    if served is not None:
        return str(getattr(served, "path", UNMATCHED))
    app = scope.get("app")  # refused before routing (a NUL, a rate limit): match it here
    partial = None
    for route in getattr(app, "routes", ()):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", UNMATCHED))
        if match == Match.PARTIAL and partial is None:  # right path, other method: 405
            partial = str(getattr(route, "path", UNMATCHED))
    return partial or UNMATCHED


class RequestObserver:
    def __init__(self, app: ASGIApp, *, metrics: RequestMetrics, access_log: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        status = 500  # unless a response starts: an exception escaped
        raw_id = rid.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (_RAW_ID_HEADER, raw_id)]
            await send(message)

        context = REQUEST_ID.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # The server logs it once this request's context is gone: the id goes with it.
            with contextlib.suppress(AttributeError):  # an exception type without __dict__
                setattr(exc, EXCEPTION_REQUEST_ID, rid)
            raise
        finally:
            try:
                self._record(scope, rid, status, time.perf_counter() - started)
            finally:
                REQUEST_ID.reset(context)

    def _record(self, scope: Scope, rid: str, status: int, seconds: float) -> None:
        self.metrics.observe(scope["method"], route_template(scope), status, seconds)
        if self.access_log:
            client = scope.get("client")
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": loggable_path(scope["path"]),
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                    "request_id": rid,
                    "client": client[0] if client else None,
                },
            )
