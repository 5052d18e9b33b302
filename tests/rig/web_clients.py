"""The in-process app and its web clients, shared by the page tests that need two members
(alice and bob of the conftest coop) and an anonymous visitor, each with its own cookies.

tests/conftest.py loads this module as a plugin; a test module that needs another `app` (or
`alice`) defines its own, which takes precedence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette

from federation.context import Federation
from federation.services.accounts import create_actor
from instance.app import create_app
from instance.config import parse_config
from models.actors import ActorKind, LocalActor
from tests.conftest import TEST_DOMAIN
from tests.test_web import HTML, log_in, set_password


@pytest.fixture
async def app(fed: Federation, database_url: str) -> Starlette:
    config = parse_config(
        {
            "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
            "database": {"url": database_url},
        }
    )
    return create_app(config, run_worker=False, fed=fed)


@asynccontextmanager
async def browser(app: Starlette, username: str | None) -> AsyncIterator[httpx.AsyncClient]:
    """A client of its own (its own cookies), logged in as ``username`` unless None."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"https://{TEST_DOMAIN}", headers=HTML
    ) as client:
        if username:
            await log_in(client, username)
        yield client


@pytest.fixture
async def alice(member: LocalActor) -> LocalActor:
    return await set_password(member)


@pytest.fixture
async def bob(coop: LocalActor) -> LocalActor:
    return await set_password(await create_actor(ActorKind.MEMBER, "bob", name="Bob", coop=coop))


@pytest.fixture
async def as_alice(app: Starlette, alice: LocalActor) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app, "alice") as client:
        yield client


@pytest.fixture
async def as_bob(app: Starlette, bob: LocalActor) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app, "bob") as client:
        yield client


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app, None) as client:
        yield client
