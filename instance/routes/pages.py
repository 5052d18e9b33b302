"""Plain HTML pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from instance.page_cache import kept_for_visitors
from instance.templating import render
from models.actors import ActorKind, LocalActor
from models.errors import Malformed


@kept_for_visitors
async def home(request: Request) -> Response:
    """The coops (``list_actors(ActorKind.COOP)``: not deleted, by username), reading the two
    columns shown rather than whole actors (their keys among them)."""
    fed = request.app.state.fed
    rows = (
        await LocalActor.filter(kind=ActorKind.COOP, deleted_at=None)
        .order_by("username")
        .values_list("name", "username")
    )
    coops = [
        {
            "name": name or username,
            "username": username,
            "url": fed.urls.actor_for(ActorKind.COOP, username),
        }
        for name, username in rows
    ]
    return render(request, "home.html", {"coops": coops, "domain": fed.urls.domain})


async def authorize_interaction(request: Request) -> Response:
    uri = request.query_params.get("uri", "").strip()
    if not uri:
        raise Malformed("no uri", "The uri parameter is required")
    return render(request, "interact.html", {"uri": uri})
