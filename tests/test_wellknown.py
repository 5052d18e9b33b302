"""WebFinger, host-meta and NodeInfo, checked against what Mastodon, GoToSocial and
directories read from them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from federation.context import Federation, SiteInfo
from federation.services.accounts import create_actor
from federation.settings import FederationSettings
from instance.app import create_app
from instance.config import parse_config
from models.actors import ActorKind, LocalActor
from tests.conftest import TEST_DOMAIN

AS2 = "application/activity+json"
BASE = f"https://{TEST_DOMAIN}"
NODEINFO_REL = "http://nodeinfo.diaspora.software/ns/schema/"
XRD_NS = "{http://docs.oasis-open.org/ns/xri/xrd-1.0}"


async def _webfinger(client: httpx.AsyncClient, resource: str) -> httpx.Response:
    return await client.get("/.well-known/webfinger", params={"resource": resource})


def _link(jrd: dict[str, Any], rel: str) -> dict[str, Any]:
    matches = [link for link in jrd["links"] if link.get("rel") == rel]
    assert len(matches) == 1, f"expected one {rel} link in {jrd['links']}"
    return matches[0]


# --- WebFinger --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resource",
    [
        f"acct:velos@{TEST_DOMAIN}",
        f"velos@{TEST_DOMAIN}",
        f"acct:velos@{TEST_DOMAIN.upper()}",
        f"{BASE}/c/velos",
    ],
)
async def test_webfinger_coop_forms(
    client: httpx.AsyncClient, coop: LocalActor, resource: str
) -> None:
    r = await _webfinger(client, resource)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/jrd+json")
    jrd = r.json()
    assert jrd["subject"] == f"acct:velos@{TEST_DOMAIN}"
    assert jrd["aliases"] == [f"{BASE}/c/velos"]
    assert _link(jrd, "self") == {"rel": "self", "type": AS2, "href": f"{BASE}/c/velos"}


async def test_webfinger_member_links(client: httpx.AsyncClient, member: LocalActor) -> None:
    jrd = (await _webfinger(client, f"acct:alice@{TEST_DOMAIN}")).json()
    actor_id = f"{BASE}/u/alice"
    assert _link(jrd, "self")["href"] == actor_id
    profile = _link(jrd, "http://webfinger.net/rel/profile-page")
    assert profile["type"] == "text/html"
    # the profile page is the actor URL itself, served as HTML to browsers
    page = await client.get(profile["href"], headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    subscribe = _link(jrd, "http://ostatus.org/schema/1.0/subscribe")
    template = subscribe["template"]
    assert template == f"{BASE}/authorize_interaction?uri={{uri}}"
    remote = "https://remote.example/users/zoe"
    answer = await client.get(template.replace("{uri}", remote), headers={"Accept": "text/html"})
    assert answer.status_code == 200
    assert remote in answer.text


async def test_webfinger_actor_url_of_member_is_not_a_coop(
    client: httpx.AsyncClient, member: LocalActor
) -> None:
    assert (await _webfinger(client, f"{BASE}/u/alice")).status_code == 200
    # /c/alice names a coop called alice, and there is none
    assert (await _webfinger(client, f"{BASE}/c/alice")).status_code == 404


async def test_webfinger_instance_actor(client: httpx.AsyncClient, fed: Federation) -> None:
    for resource in (f"acct:{TEST_DOMAIN}@{TEST_DOMAIN}", f"{BASE}/actor"):
        r = await _webfinger(client, resource)
        assert r.status_code == 200, resource
        jrd = r.json()
        assert jrd["subject"] == f"acct:{TEST_DOMAIN}@{TEST_DOMAIN}"
        assert _link(jrd, "self")["href"] == f"{BASE}/actor"
        # nobody can follow the instance actor from a remote UI
        rels = {link["rel"] for link in jrd["links"]}
        assert "http://ostatus.org/schema/1.0/subscribe" not in rels
    actor = (await client.get(f"{BASE}/actor", headers={"Accept": AS2})).json()
    assert actor["type"] == "Application"
    assert actor["preferredUsername"] == TEST_DOMAIN


@pytest.mark.parametrize(
    "resource",
    [
        f"acct:nobody@{TEST_DOMAIN}",
        "acct:velos@elsewhere.example",
        f"acct:velos@{TEST_DOMAIN}:8443",
        "https://elsewhere.example/c/velos",
        f"{BASE}/c/nobody",
        f"{BASE}/c/velos/followers",
        f"{BASE}/somewhere",
    ],
)
async def test_webfinger_unknown_is_404_json(
    client: httpx.AsyncClient, coop: LocalActor, resource: str
) -> None:
    r = await _webfinger(client, resource)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]


@pytest.mark.parametrize("query", ["", "?resource=", "?other=acct:velos@coop.test"])
async def test_webfinger_without_resource_is_400(
    client: httpx.AsyncClient, coop: LocalActor, query: str
) -> None:
    r = await client.get("/.well-known/webfinger" + query, headers={"Accept": "text/html"})
    assert r.status_code == 400
    assert r.json()["error"]  # JSON even for a browser: it is an API


async def test_webfinger_not_a_handle_is_400(client: httpx.AsyncClient, coop: LocalActor) -> None:
    r = await _webfinger(client, "velos")
    assert r.status_code == 400
    assert r.json()["error"]


# --- an instance served on a non-default port ---------------------------------------------


@pytest.fixture
async def port_client(fed: Federation, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The same database served as ``https://coop.test:8443`` (domain with a port)."""
    base = f"https://{TEST_DOMAIN}:8443"
    ported = Federation.create(
        FederationSettings(allow_private_addresses=True), base, SiteInfo("Port", "", ("en",))
    )
    config = parse_config(
        {
            "instance": {"domain": f"{TEST_DOMAIN}:8443", "secret_key": "test"},
            "database": {"url": database_url},
        }
    )
    app = create_app(config, run_worker=False, fed=ported)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as c:
        yield c
    await ported.aclose()


async def test_webfinger_with_port_accepts_both_forms(
    port_client: httpx.AsyncClient, coop: LocalActor
) -> None:
    actor_id = f"https://{TEST_DOMAIN}:8443/c/velos"
    for resource in (
        f"acct:velos@{TEST_DOMAIN}:8443",
        f"acct:velos@{TEST_DOMAIN}",
        actor_id,
    ):
        r = await _webfinger(port_client, resource)
        assert r.status_code == 200, resource
        jrd = r.json()
        # the canonical subject carries the port, as the actor id does
        assert jrd["subject"] == f"acct:velos@{TEST_DOMAIN}:8443"
        assert _link(jrd, "self")["href"] == actor_id
    assert (await _webfinger(port_client, f"acct:velos@{TEST_DOMAIN}:9999")).status_code == 404
    # the actor URL of another authority is not ours
    assert (await _webfinger(port_client, f"https://{TEST_DOMAIN}/c/velos")).status_code == 404
    actor = (await port_client.get(actor_id, headers={"Accept": AS2})).json()
    assert actor["id"] == actor_id
    assert actor["inbox"] == f"{actor_id}/inbox"
    assert actor["endpoints"]["sharedInbox"] == f"https://{TEST_DOMAIN}:8443/inbox"


# --- host-meta ----------------------------------------------------------------------------


async def test_host_meta_xrd_points_to_webfinger(
    client: httpx.AsyncClient, coop: LocalActor
) -> None:
    r = await client.get("/.well-known/host-meta")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xrd+xml")
    root = ET.fromstring(r.text)
    assert root.tag == f"{XRD_NS}XRD"
    links = root.findall(f"{XRD_NS}Link")
    assert [link.get("rel") for link in links] == ["lrdd"]
    template = links[0].get("template") or ""
    assert template == f"{BASE}/.well-known/webfinger?resource={{uri}}"
    # the template really works
    filled = template.replace("{uri}", f"acct:velos@{TEST_DOMAIN}")
    answer = await client.get(filled)
    assert answer.status_code == 200
    assert answer.json()["subject"] == f"acct:velos@{TEST_DOMAIN}"


# --- NodeInfo -----------------------------------------------------------------------------


async def test_nodeinfo_index(client: httpx.AsyncClient, fed: Federation) -> None:
    r = await client.get("/.well-known/nodeinfo")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["access-control-allow-origin"] == "*"
    links = r.json()["links"]
    by_rel = {link["rel"]: link["href"] for link in links}
    assert len(by_rel) == len(links)
    assert by_rel[NODEINFO_REL + "2.0"] == f"{BASE}/nodeinfo/2.0"
    assert by_rel[NODEINFO_REL + "2.1"] == f"{BASE}/nodeinfo/2.1"
    # FEP-2677: the instance actor, fetchable as AS2 and an Application
    application = by_rel["https://www.w3.org/ns/activitystreams#Application"]
    assert application == f"{BASE}/actor"
    actor = await client.get(application, headers={"Accept": AS2})
    assert actor.status_code == 200
    assert actor.json()["type"] == "Application"
    assert actor.json()["id"] == application
    # every listed schema is served
    for href in by_rel.values():
        assert (await client.get(href)).status_code == 200


async def _nodeinfo(client: httpx.AsyncClient, schema: str) -> dict[str, Any]:
    r = await client.get(f"/nodeinfo/{schema}")
    assert r.status_code == 200
    content_type = r.headers["content-type"]
    assert content_type.startswith("application/json")
    assert f'profile="{NODEINFO_REL}{schema}#"' in content_type
    assert r.headers["access-control-allow-origin"] == "*"
    doc: dict[str, Any] = r.json()
    assert doc["version"] == schema
    return doc


@pytest.mark.parametrize("schema", ["2.0", "2.1"])
async def test_nodeinfo_counts_are_real(
    client: httpx.AsyncClient, coop: LocalActor, schema: str
) -> None:
    empty = await _nodeinfo(client, schema)
    assert empty["usage"]["users"]["total"] == 0
    assert empty["metadata"]["coops"] == 1
    await create_actor(ActorKind.MEMBER, "alice", coop=coop)
    await create_actor(ActorKind.MEMBER, "bob", coop=coop)
    await create_actor(ActorKind.COOP, "livreurs")
    doc = await _nodeinfo(client, schema)
    assert doc["usage"]["users"]["total"] == 2  # members only: not coops nor the instance
    assert doc["metadata"]["coops"] == 2
    assert doc["usage"]["users"]["activeMonth"] == 0  # nobody has published anything
    assert doc["usage"]["localPosts"] == 0
    assert doc["protocols"] == ["activitypub"]
    assert isinstance(doc["openRegistrations"], bool)
    assert doc["software"]["name"] == "coopub"
    assert doc["software"]["version"]
    assert set(doc["services"]) == {"inbound", "outbound"}
    assert doc["metadata"]["nodeName"] == "Test coop"


async def test_nodeinfo_repository_only_in_2_1(client: httpx.AsyncClient, fed: Federation) -> None:
    old = await _nodeinfo(client, "2.0")
    new = await _nodeinfo(client, "2.1")
    # schema 2.0 forbids additional software properties
    assert set(old["software"]) == {"name", "version"}
    assert new["software"]["repository"].startswith("https://")
    assert new["software"]["name"] == old["software"]["name"]


@pytest.mark.parametrize("schema", ["1.0", "2.2", "3.0", "2.0.json", "x"])
async def test_nodeinfo_unknown_schema_is_404(
    client: httpx.AsyncClient, fed: Federation, schema: str
) -> None:
    r = await client.get(f"/nodeinfo/{schema}")
    assert r.status_code == 404
    assert r.json()["error"]
