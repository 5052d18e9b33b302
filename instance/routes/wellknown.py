"""WebFinger, host-meta and NodeInfo."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from federation.nodeinfo import SCHEMAS, nodeinfo_document, nodeinfo_links
from federation.webfinger import jrd_for, local_actor_for_resource
from models.errors import Malformed, NotFound

CORS = {"Access-Control-Allow-Origin": "*"}


async def webfinger(request: Request) -> Response:
    resource = request.query_params.get("resource")
    if not resource:
        raise Malformed("no resource parameter", "The resource parameter is required")
    fed = request.app.state.fed
    actor = await local_actor_for_resource(fed.urls, resource)
    return JSONResponse(jrd_for(fed.urls, actor), media_type="application/jrd+json", headers=CORS)


async def host_meta(request: Request) -> Response:
    webfinger = request.app.state.fed.urls.url("webfinger")
    xrd = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{webfinger}?resource={{uri}}"/>\n'
        "</XRD>\n"
    )
    return Response(xrd, media_type="application/xrd+xml", headers=CORS)


async def nodeinfo_index(request: Request) -> Response:
    return JSONResponse(nodeinfo_links(request.app.state.fed), headers=CORS)


async def nodeinfo(request: Request) -> Response:
    schema = request.path_params["schema"]
    if schema not in SCHEMAS:
        raise NotFound(f"nodeinfo schema {schema}")
    profile = f"http://nodeinfo.diaspora.software/ns/schema/{schema}#"
    return JSONResponse(
        await nodeinfo_document(request.app.state.fed, schema),
        media_type=f'application/json; profile="{profile}"',
        headers=CORS,
    )
