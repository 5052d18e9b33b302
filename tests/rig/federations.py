"""A federation context with other settings, on the same (test) database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from federation.context import Federation, SiteInfo
from federation.settings import FederationSettings
from tests.conftest import TEST_DOMAIN


@asynccontextmanager
async def federation_with(**settings: Any) -> AsyncIterator[Federation]:
    """Loopback allowed (the tests' receivers), then ``settings``; closed at the end."""
    values = {"allow_private_addresses": True, **settings}
    fed = Federation.create(
        FederationSettings(**values), f"https://{TEST_DOMAIN}", SiteInfo("Test", "", ("en",))
    )
    try:
        yield fed
    finally:
        await fed.aclose()
