"""WebFinger, NodeInfo, host-meta and actors, as Mastodon and GoToSocial read them."""

from __future__ import annotations

import httpx

from models.actors import LocalActor
from tests.conftest import TEST_DOMAIN

AS2 = "application/activity+json"


async def test_webfinger_round_trips_to_actor(client: httpx.AsyncClient, coop: LocalActor) -> None:
    r = await client.get(f"/.well-known/webfinger?resource=acct:velos@{TEST_DOMAIN}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/jrd+json")
    assert r.headers["access-control-allow-origin"] == "*"
    jrd = r.json()
    assert jrd["subject"] == f"acct:velos@{TEST_DOMAIN}"
    self_link = next(link for link in jrd["links"] if link["rel"] == "self")
    assert self_link["type"] == AS2
    actor = (await client.get(self_link["href"], headers={"Accept": AS2})).json()
    assert actor["id"] == self_link["href"]
    assert actor["preferredUsername"] == "velos"
    # and back: the actor's own handle resolves to the same id
    back = await client.get(
        f"/.well-known/webfinger?resource=acct:{actor['preferredUsername']}@{TEST_DOMAIN}"
    )
    assert back.json()["aliases"] == [actor["id"]]


async def test_webfinger_unknown_is_404(client: httpx.AsyncClient, coop: LocalActor) -> None:
    r = await client.get(f"/.well-known/webfinger?resource=acct:nobody@{TEST_DOMAIN}")
    assert r.status_code == 404
    assert r.json()["error"]
    r = await client.get("/.well-known/webfinger?resource=acct:velos@elsewhere.example")
    assert r.status_code == 404
    assert (await client.get("/.well-known/webfinger")).status_code == 400


async def test_health_and_metrics_are_served(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] in {"ok", "degraded"}
    metrics = await client.get("/metrics")  # the in-process client is a loopback client
    assert metrics.status_code == 200 and "coopub_database_up 1.0" in metrics.text
    missing = await client.get("/no/such/page/here")
    assert missing.status_code == 404 and len(missing.headers["x-request-id"]) == 16
