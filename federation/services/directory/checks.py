"""What the directory checks of a candidate, and what it learns for the listing.

NodeInfo 2.1 on the candidate's own host must say it speaks ActivityPub, the instance actor must
be the one NodeInfo names, and ChatonsInfos, when published, tells who runs it and where. Every
remote document is read through a view (``activitypub.nodeinfo``, ``activitypub.chatonsinfos``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from activitypub.chatonsinfos import ChatonsInfo, chatons_info
from activitypub.nodeinfo import APPLICATION_REL, NODEINFO_21, NodeInfo, NodeInfoLinks
from activitypub.properties import decode_properties, parse_properties
from activitypub.urls import Urls, host_of
from federation.context import Federation
from models.actors import RemoteActor
from models.errors import CoopubError, Malformed

INSTANCE_TYPES = frozenset({"Application", "Service"})
REQUIRED = ("key_verified", "instance_actor", "nodeinfo", "activitypub", "domain_match")


async def _nodeinfo(fed: Federation, domain: str, scheme: str) -> tuple[NodeInfo, str | None]:
    """The candidate's NodeInfo 2.1 document, and the instance actor its links name."""
    signer = await fed.instance_signer()
    links_url = Urls(f"{scheme}://{domain}").url("nodeinfo_links")
    _, raw = await fed.http.get_json(links_url, signer=signer, accept="application/json")
    links = NodeInfoLinks.parse(raw)
    href = links.href(NODEINFO_21)
    if href is None or host_of(href) != domain:
        raise Malformed(f"{domain}: no NodeInfo 2.1 on its own host")
    _, document = await fed.http.get_json(href, signer=signer, accept="application/json")
    return NodeInfo.parse(document), links.href(APPLICATION_REL)


async def _chatonsinfos(fed: Federation, domain: str, scheme: str) -> ChatonsInfo | None:
    files: dict[str, dict[str, str] | None] = {}
    for name in ("organization", "service"):
        url = Urls(f"{scheme}://{domain}").url("chatonsinfos", name=f"{name}.properties")
        try:
            files[name] = parse_properties(
                decode_properties(await fed.http.get_text(url, signer=None))
            )
        except CoopubError:
            files[name] = None
    if not any(files.values()):
        return None
    return chatons_info(files["organization"], files["service"])


def _from_nodeinfo(info: NodeInfo, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "software_name": info.software.name,
        "software_version": info.software.version,
        "open_registrations": info.openRegistrations,
        "name": info.metadata.nodeName or fields["name"],
        "description": info.metadata.nodeDescription,
        "kinds": list(info.metadata.offerKinds),
    }


def _from_chatons(chatons: ChatonsInfo) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "chatons_member": chatons.chatons_member,
        "country_code": chatons.country_code,
        "city": chatons.city,
        "latitude": chatons.latitude,
        "longitude": chatons.longitude,
    }
    if chatons.organization_name:
        fields["name"] = chatons.organization_name[:200]
    if chatons.organization_description:
        fields["description"] = chatons.organization_description[:2000]
    if chatons.open_registrations is not None:
        fields["open_registrations"] = chatons.open_registrations
    return fields


async def check_candidate(
    fed: Federation, actor: RemoteActor
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the directory checked, and the listing fields it learned."""
    scheme = urlsplit(actor.ap_id).scheme
    checks: dict[str, Any] = {"key_verified": True, "instance_actor": actor.type in INSTANCE_TYPES}
    fields: dict[str, Any] = {
        "url": f"{scheme}://{actor.domain}",
        "name": actor.name or actor.domain,
    }
    try:
        info, app = await _nodeinfo(fed, actor.domain, scheme)
        checks["nodeinfo"] = True
        checks["activitypub"] = "activitypub" in info.protocols
        checks["domain_match"] = app in (None, actor.ap_id) and host_of(actor.ap_id) == actor.domain
        fields.update(_from_nodeinfo(info, fields))
    except CoopubError as exc:
        checks.update(nodeinfo=False, activitypub=False, domain_match=False, error=str(exc))
    chatons = await _chatonsinfos(fed, actor.domain, scheme)
    checks["chatonsinfos"] = chatons is not None
    if chatons is not None:
        fields.update(_from_chatons(chatons))
    return checks, fields


def passed(checks: dict[str, Any]) -> bool:
    return all(checks.get(k) for k in REQUIRED)
