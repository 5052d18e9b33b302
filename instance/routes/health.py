"""``/healthz`` for load balancers and ``curl -f`` in systemd, and ``/metrics`` for Prometheus.

``/healthz`` answers 200 ``ok``; 200 ``degraded`` when no worker has beaten for two minutes (the
web server works, background work does not; the worker may run on another host); 503 ``down``
when the database does not answer. ``/metrics`` is for loopback clients, or for clients
presenting the ``[metrics] token``.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from instance.metrics import CONTENT_TYPE, render
from instance.status import (
    HEARTBEAT_STALE,
    PROBE_TIMEOUT,
    QueueStatus,
    database_problem,
    describe_error,
    queue_status,
)

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}
PROXY_HEADERS = ("x-forwarded-for", "forwarded")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _report(status: QueueStatus) -> dict[str, Any]:
    age = status.heartbeat_age
    if age is None:
        state, reason = "degraded", "no worker heartbeat"
    elif age > HEARTBEAT_STALE.total_seconds():
        state, reason = "degraded", f"newest worker heartbeat is {round(age)} s old"
    else:
        state, reason = "ok", None
    report: dict[str, Any] = {"status": state}
    if reason:
        report["reason"] = reason
    report |= {
        "database": "ok",
        "worker": {"heartbeat_age_seconds": _round(age), "alive": status.live_workers},
        "deliveries": {
            "pending": status.deliveries["pending"],
            "oldest_due_seconds": _round(status.delivery_lag),
        },
        "inbox": {
            "pending": status.inbox["pending"],
            "oldest_due_seconds": _round(status.inbox_lag),
        },
    }
    return report


def _log_change(request: Request, report: dict[str, Any], error: str | None = None) -> None:
    """Log when the health changes, not at every probe of the load balancer."""
    state = request.app.state
    previous = getattr(state, "health", None)
    if report["status"] != previous:
        level = logging.INFO if report["status"] == "ok" else logging.WARNING
        extra = {"status": report["status"], "previous": previous, "reason": report.get("reason")}
        log.log(level, "health changed", extra=extra | ({"error": error} if error else {}))
        state.health = report["status"]


async def healthz(request: Request) -> Response:
    problem = await database_problem()
    if problem is None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                report = _report(await queue_status(all_states=False))
        except Exception as exc:  # the probe passed but the database failed us after all
            problem = describe_error(exc)
    if problem is not None:
        # The detail (paths, host names) goes to the log only: this page is public.
        report = {"status": "down", "reason": "database unavailable", "database": "unavailable"}
        _log_change(request, report, problem)
        return JSONResponse(report, status_code=503, headers=NO_STORE)
    _log_change(request, report)
    return JSONResponse(report, headers=NO_STORE)


def _loopback_direct(request: Request) -> bool:
    """A loopback client that is not a reverse proxy forwarding someone else."""
    headers = Headers(scope=request.scope)
    if any(name in headers for name in PROXY_HEADERS):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _has_token(request: Request) -> bool:
    token: str = request.app.state.config.metrics.token
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


async def metrics(request: Request) -> Response:
    if not (_loopback_direct(request) or _has_token(request)):
        message = "Metrics are served to loopback clients, or with the metrics token"
        return JSONResponse({"error": message, "status": 403}, status_code=403, headers=NO_STORE)
    body = await render(request.app.state.metrics, request.app.state.page_cache)
    return Response(body, media_type=CONTENT_TYPE, headers=NO_STORE)
