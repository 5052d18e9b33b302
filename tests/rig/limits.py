"""An application with small rate limits and a clock the test moves (nothing waits).

``limited(fed, database_url, **limits)`` builds the app once; ``client_from(app, address)``
gives an in-process client that the app sees coming from ``address``, as uvicorn would report
it (the peer, or the address a trusted proxy forwarded).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette

from federation.context import Federation
from instance.app import create_app
from instance.config import parse_config
from instance.rate_limits import RateLimits
from tests.conftest import TEST_DOMAIN


class FakeClock:
    """Monotonic seconds for the buckets and UTC time for the login counts, from one value."""

    def __init__(self) -> None:
        self.seconds = 1000.0
        self.start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


def limited(fed: Federation, database_url: str, clock: FakeClock, **limits: Any) -> Starlette:
    config = parse_config(
        {
            "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
            "database": {"url": database_url},
            "limits": limits,
        }
    )
    app = create_app(config, run_worker=False, fed=fed)
    rate_limits: RateLimits = app.state.limits
    rate_limits.set_clock(clock)
    rate_limits.login.now = clock.now
    return app


def client_from(app: Starlette, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=f"https://{TEST_DOMAIN}")
