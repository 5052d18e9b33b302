"""``/metrics``: what the database and this process's requests report, and who may read it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from federation.context import Federation
from models.activities import InboxState
from models.actors import LocalActor
from models.delivery import Delivery, DeliveryState, Host
from tests.rig.observe import AS2, app_client, beat, inbox_item, now, queue_deliveries

# --- /metrics -----------------------------------------------------------------------------------


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str):
    return samples.get((name, frozenset(labels.items())))


async def test_metrics_report_the_database_and_the_requests(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor
) -> None:
    rows = await queue_deliveries(fed, member, [f"https://r{i}.example/inbox" for i in range(4)])
    await Delivery.filter(id=rows[0].id).update(state=DeliveryState.DELIVERED)
    await Delivery.filter(id=rows[1].id).update(state=DeliveryState.FAILED)
    await Delivery.filter(id=rows[2].id).update(next_attempt_at=now() - timedelta(seconds=120))
    await Delivery.filter(id=rows[3].id).update(next_attempt_at=now() + timedelta(hours=1))
    for state in (InboxState.PENDING, InboxState.DONE, InboxState.DONE):
        await inbox_item(state)
    await Host.create(domain="r9.example", unreachable=True)
    await Host.create(domain="r8.example", unreachable=False)
    await beat(timedelta(seconds=10))
    # Requests recorded by this web process: by route template, never by raw path.
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/u/alice", headers={"Accept": AS2})).status_code == 200
    assert (await client.get("/u/nobody", headers={"Accept": AS2})).status_code == 404
    assert (await client.get("/a/b/c/d")).status_code == 404

    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert r.headers["cache-control"] == "no-store"
    samples = _samples(r.text)

    assert _value(samples, "coopub_database_up") == 1
    deliveries = {
        s.value: _value(samples, "coopub_deliveries", state=s.value) for s in DeliveryState
    }
    assert deliveries == {"pending": 2, "delivered": 1, "failed": 1, "skipped": 0}
    inbox = {s.value: _value(samples, "coopub_inbox_items", state=s.value) for s in InboxState}
    assert inbox == {"pending": 1, "done": 2, "ignored": 0, "failed": 0}
    assert 120 <= _value(samples, "coopub_delivery_lag_seconds") < 3600
    assert _value(samples, "coopub_inbox_lag_seconds") >= 30
    assert _value(samples, "coopub_unreachable_hosts") == 1
    assert _value(samples, "coopub_workers_alive") == 1
    assert 10 <= _value(samples, "coopub_worker_heartbeat_age_seconds") < 120

    latency = "coopub_http_request_duration_seconds_count"
    assert _value(samples, latency, method="GET", route="/healthz") == 1
    assert _value(samples, latency, method="GET", route="/{prefix:str}/{username:str}") == 2
    assert _value(samples, latency, method="GET", route="<unmatched>") == 1
    routes = {dict(labels).get("route") for name, labels in samples if name == latency}
    assert not {"/u/alice", "/u/nobody", "/a/b/c/d"} & routes
    assert _value(samples, "coopub_http_requests_total", method="GET", status="2xx") == 2
    assert _value(samples, "coopub_http_requests_total", method="GET", status="4xx") == 2


async def test_metrics_count_the_kept_pages(client: httpx.AsyncClient) -> None:
    """This web process's kept pages (instance/page_cache): what they answered, how many."""
    for _ in range(3):
        assert (await client.get("/search", headers={"Accept": "text/html"})).status_code == 200
    samples = _samples((await client.get("/metrics")).text)
    assert _value(samples, "coopub_page_cache_answers_total", kept="yes") == 2
    assert _value(samples, "coopub_page_cache_answers_total", kept="no") == 1
    assert _value(samples, "coopub_page_cache_pages") == 1


async def test_metrics_without_a_worker_have_no_heartbeat_age(client: httpx.AsyncClient) -> None:
    samples = _samples((await client.get("/metrics")).text)
    assert _value(samples, "coopub_workers_alive") == 0
    assert not any(name == "coopub_worker_heartbeat_age_seconds" for name, _ in samples)


@pytest.mark.parametrize(
    ("peer", "headers"),
    [
        ("203.0.113.9", {}),  # another host
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}),  # a proxy on this host
        ("127.0.0.1", {"Forwarded": "for=203.0.113.9"}),
        ("203.0.113.9", {"Authorization": "Bearer "}),  # no token configured: no token works
    ],
)
async def test_metrics_are_refused_to_others(
    fed: Federation, database_url: str, peer: str, headers: dict[str, str]
) -> None:
    async with app_client(fed, database_url, peer=peer) as c:
        r = await c.get("/metrics", headers=headers)
    assert r.status_code == 403
    assert r.json()["error"].startswith("Metrics are served to loopback clients")
    assert "coopub_" not in r.text


async def test_metrics_open_to_the_token(fed: Federation, database_url: str) -> None:
    token = "kq3-metrics-token"
    async with app_client(fed, database_url, peer="203.0.113.9", metrics={"token": token}) as c:
        ok = await c.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and "coopub_database_up 1.0" in ok.text
        proxied = await c.get(
            "/metrics",
            headers={"Authorization": f"bearer {token}", "X-Forwarded-For": "198.51.100.1"},
        )
        assert proxied.status_code == 200
        for wrong in (f"Bearer {token}x", f"Basic {token}", token, "Bearer"):
            r = await c.get("/metrics", headers={"Authorization": wrong})
            assert r.status_code == 403, wrong
        assert (await c.get("/metrics")).status_code == 403
