"""NodeInfo 2.0 / 2.1 (FEP-0151) with real usage counts, and the FEP-2677 instance actor link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from federation.context import Federation
from federation.http import VERSION
from models.activities import Activity
from models.actors import ActorKind, LocalActor
from models.offers import Offer, OfferStatus

SCHEMAS = ("2.0", "2.1")
REPOSITORY = "https://github.com/coopub/coopub"


def nodeinfo_links(fed: Federation) -> dict[str, Any]:
    links: list[dict[str, str]] = [
        {
            "rel": f"http://nodeinfo.diaspora.software/ns/schema/{v}",
            "href": fed.urls.url("nodeinfo", schema=v),
        }
        for v in SCHEMAS
    ]
    links.append(
        {
            "rel": "https://www.w3.org/ns/activitystreams#Application",
            "href": fed.urls.url("instance_actor"),
        }
    )
    return {"links": links}


async def _active_members(since: datetime) -> int:
    ids = (
        await Activity.filter(created_at__gte=since, actor__kind=ActorKind.MEMBER)
        .distinct()
        .values_list("actor_id", flat=True)
    )
    return len(set(ids))


async def nodeinfo_document(fed: Federation, schema: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    software: dict[str, Any] = {"name": "coopub", "version": VERSION}
    if schema == "2.1":
        software["repository"] = REPOSITORY
        software["homepage"] = REPOSITORY
    return {
        "version": schema,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": fed.site.open_registrations,
        "usage": {
            "users": {
                "total": await LocalActor.filter(kind=ActorKind.MEMBER, deleted_at=None).count(),
                "activeMonth": await _active_members(now - timedelta(days=30)),
                "activeHalfyear": await _active_members(now - timedelta(days=182)),
            },
            "localPosts": await Activity.filter(type="Create").count(),
        },
        "metadata": {
            "nodeName": fed.site.title,
            "nodeDescription": fed.site.description,
            "languages": list(fed.site.languages),
            "coops": await LocalActor.filter(kind=ActorKind.COOP, deleted_at=None).count(),
            "offerKinds": sorted(
                {
                    str(k)
                    for k in await Offer.filter(
                        local_uuid__not_isnull=True, status=OfferStatus.OPEN
                    )
                    .distinct()
                    .values_list("kind", flat=True)
                }
            ),
        },
    }
