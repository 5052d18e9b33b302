"""Prometheus metrics: queue and worker gauges read from the database at scrape time (so they are
right however many processes share the work), and request latency and counts recorded by this
web process. Each application has its own registry: tests build many applications."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from instance.page_cache import PageCache
from instance.status import (
    PROBE_TIMEOUT,
    QueueStatus,
    database_problem,
    describe_error,
    queue_status,
)

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

disable_created_metrics()  # no ``*_created`` series: process start times, not worth a series each


class RequestMetrics:
    """Latency by method and route template (never the raw path: bounded cardinality) and
    responses by method and status class."""

    def __init__(self) -> None:
        self.latency = Histogram(
            "coopub_http_request_duration_seconds",
            "Time to answer a request, by method and route template",
            ["method", "route"],
            registry=None,
        )
        self.requests = Counter(
            "coopub_http_requests",
            "Requests answered, by method and status class (2xx, 4xx...)",
            ["method", "status"],
            registry=None,
        )

        self.database_up = True
        """As of the last scrape: a failure is logged when it starts, not at every scrape."""

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "OTHER"
        self.latency.labels(method, route).observe(seconds)
        self.requests.labels(method, f"{status // 100}xx").inc()


class QueueCollector(Collector):
    """The gauges of one database snapshot; ``None`` when the database did not answer."""

    def __init__(self, status: QueueStatus | None) -> None:
        self.status = status

    def collect(self) -> Iterator[Metric]:
        s = self.status
        yield GaugeMetricFamily(
            "coopub_database_up", "Whether the database answered this scrape", value=int(bool(s))
        )
        if s is None:
            return
        deliveries = GaugeMetricFamily(
            "coopub_deliveries", "Outgoing deliveries by state", labels=["state"]
        )
        for state, count in sorted(s.deliveries.items()):
            deliveries.add_metric([state], count)
        yield deliveries
        inbox = GaugeMetricFamily(
            "coopub_inbox_items", "Incoming activities by state", labels=["state"]
        )
        for state, count in sorted(s.inbox.items()):
            inbox.add_metric([state], count)
        yield inbox
        yield GaugeMetricFamily(
            "coopub_delivery_lag_seconds",
            "Seconds since the oldest due pending delivery became due (0: none waiting)",
            value=s.delivery_lag,
        )
        yield GaugeMetricFamily(
            "coopub_inbox_lag_seconds",
            "Seconds since the oldest due pending inbox item became due (0: none waiting)",
            value=s.inbox_lag,
        )
        yield GaugeMetricFamily(
            "coopub_unreachable_hosts",
            "Remote hosts marked unreachable (deliveries to them are skipped)",
            value=s.unreachable_hosts,
        )
        yield GaugeMetricFamily(
            "coopub_workers_alive",
            "Worker processes whose heartbeat is less than two minutes old",
            value=s.live_workers,
        )
        if s.heartbeat_age is not None:  # absent when no worker ever beat
            yield GaugeMetricFamily(
                "coopub_worker_heartbeat_age_seconds",
                "Seconds since the newest worker heartbeat",
                value=s.heartbeat_age,
            )


class PageCacheCollector(Collector):
    """What this web process's kept pages answered (``instance/page_cache.py``)."""

    def __init__(self, cache: PageCache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        answers = CounterMetricFamily(
            "coopub_page_cache_answers",
            "Visitors' pages answered, by whether a kept page was sent (yes) or one rendered (no)",
            labels=["kept"],
        )
        answers.add_metric(["yes"], self.cache.hits)
        answers.add_metric(["no"], self.cache.misses)
        yield answers
        yield GaugeMetricFamily(
            "coopub_page_cache_pages", "Pages this web process keeps", value=len(self.cache.pages)
        )


async def render(metrics: RequestMetrics, page_cache: PageCache | None = None) -> bytes:
    """The text exposition: a fresh database snapshot, then this process's request metrics
    and kept pages."""
    status: QueueStatus | None = None
    problem = await database_problem()  # the same verdict as /healthz
    if problem is None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                status = await queue_status()
        except Exception as exc:  # the scrape still answers, with coopub_database_up 0
            problem = describe_error(exc)
    if problem is not None and metrics.database_up:
        log.warning("metrics without database", extra={"error": problem})
    metrics.database_up = status is not None
    registry = CollectorRegistry(auto_describe=True)
    registry.register(QueueCollector(status))
    registry.register(metrics.latency)
    registry.register(metrics.requests)
    if page_cache is not None:
        registry.register(PageCacheCollector(page_cache))
    return generate_latest(registry)
