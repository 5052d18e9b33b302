"""Personal and shared inboxes: verify, store, answer 202; a worker processes later."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from activitypub.urls import host_of
from federation.context import Federation
from federation.inbox import store_incoming, verify_incoming
from federation.services.directory import directory_actor
from instance.rate_limits import RateLimits, client_address
from instance.requests import read_body, target_uri
from instance.routes.actors import local_actor_at
from models.actors import LocalActor
from models.errors import CoopubError


async def _inbox(request: Request, recipient: LocalActor | None) -> Response:
    fed: Federation = request.app.state.fed
    limits: RateLimits = request.app.state.limits
    address = client_address(request.scope)
    limits.before_verifying(address)  # 429 for an address that keeps sending bad requests
    try:
        body = await read_body(request, fed.settings.max_body_bytes)
        incoming = await verify_incoming(fed, "POST", target_uri(request), request.headers, body)
    except CoopubError:
        limits.refused_from(address)
        raise
    signer = incoming.signer
    limits.inbox_from(host_of(signer.ap_id) if signer else f"address:{address}")
    await store_incoming(fed, incoming, recipient, body)
    return JSONResponse({"status": "accepted"}, status_code=202)


async def shared_inbox(request: Request) -> Response:
    return await _inbox(request, None)


async def instance_actor_inbox(request: Request) -> Response:
    fed: Federation = request.app.state.fed
    return await _inbox(request, await fed.instance_actor())


async def directory_actor_inbox(request: Request) -> Response:
    return await _inbox(request, await directory_actor())


async def actor_inbox(request: Request) -> Response:
    params = request.path_params
    return await _inbox(request, await local_actor_at(params["prefix"], params["username"]))
