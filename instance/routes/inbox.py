"""Personal and shared inboxes: verify, store, answer 202; a worker processes later."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from federation.inbox import store_incoming, verify_incoming
from federation.services.directory import directory_actor
from instance.requests import read_body, target_uri
from instance.routes.actors import local_actor_at
from models.actors import LocalActor


async def _recipient(request: Request) -> LocalActor | None:
    prefix = request.path_params.get("prefix")
    if prefix is None:
        if request.url.path == "/actor/inbox":
            return await request.app.state.fed.instance_actor()
        if request.url.path == "/directory/inbox":
            return await directory_actor()
        return None  # shared inbox
    return await local_actor_at(prefix, request.path_params["username"])


async def inbox(request: Request) -> Response:
    fed = request.app.state.fed
    recipient = await _recipient(request)
    body = await read_body(request, fed.settings.max_body_bytes)
    incoming = await verify_incoming(fed, "POST", target_uri(request), request.headers, body)
    await store_incoming(fed, incoming, recipient, body)
    return JSONResponse({"status": "accepted"}, status_code=202)
