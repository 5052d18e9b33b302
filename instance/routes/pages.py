"""Plain HTML pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from federation.services.local import list_actors
from instance.templating import render
from models.actors import ActorKind
from models.errors import Malformed


async def home(request: Request) -> Response:
    fed = request.app.state.fed
    coops = [
        {"name": c.name or c.username, "username": c.username, "url": fed.urls.actor(c)}
        for c in await list_actors(ActorKind.COOP)
    ]
    return render(request, "home.html", {"coops": coops, "domain": fed.urls.domain})


async def authorize_interaction(request: Request) -> Response:
    uri = request.query_params.get("uri", "").strip()
    if not uri:
        raise Malformed("no uri", "The uri parameter is required")
    return render(request, "interact.html", {"uri": uri})
