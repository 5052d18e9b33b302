"""Remote peers for the in-process federation tests, with no network: the fixtures the booking
and dispatch tests share, and an offer received from another instance.

The fixtures are registered by a test module that binds them to a module name (``sent =
peers.sent``): pytest finds them there and scopes them to that module, and the test functions
taking them as arguments shadow no import.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from activitypub.offer_input import parse_offer
from activitypub.offer_model import offer_fields
from activitypub.offers import offer_to_as
from federation.context import Federation
from federation.services.offers import store_remote_offer
from models.actors import RemoteActor
from models.offers import Offer
from tests.rig.canned import keypair, offline, remote_actor

Signer = tuple[RemoteActor, str]
"""A cached remote actor and the private key PEM it signs with."""


@pytest.fixture(autouse=True)
async def sent(fed: Federation) -> AsyncIterator[list[httpx.Request]]:
    """Every request the federation client makes, answered offline (see ``canned.offline``):
    in a module that binds it, no test reaches the network."""
    yield await offline(fed)


@pytest.fixture
async def bob(fed: Federation) -> Signer:
    """Bob on peer.example, signing with key ``a``."""
    return await remote_actor("bob", "peer.example", key=keypair("a"))


@pytest.fixture
async def yann(fed: Federation) -> Signer:
    """Yann on other.example, signing with key ``b``: a third party, never the author."""
    return await remote_actor("yann", "other.example", key=keypair("b"))


async def remote_offer(author: RemoteActor, body: dict[str, Any], n: int = 1) -> Offer:
    """``body`` (an offer as the API takes it) published by ``author`` on its own instance as
    ``/offers/{n}`` and received here: stored as a copy like any offer that arrives."""
    fields = offer_fields(parse_offer(body), local=False)
    now = datetime.now(UTC)
    copy = Offer(
        ap_id=f"https://{author.domain}/offers/{n}",
        author_uri=author.ap_id,
        author_name=author.name or author.username,
        instance_domain=author.domain,
        status="open",
        published_at=now,
        updated_at=now,
        **fields,
    )
    doc = offer_to_as(copy, followers=f"{author.ap_id}/followers", url=copy.ap_id)
    stored = await store_remote_offer(doc, author.ap_id)
    assert stored is not None
    return stored
