"""A report from an independent implementation: the Fedify peer (Node.js) sends a ``Flag`` about
Alice's offer, as Mastodon forwards one (not wrapped, the account then the offer, the comment as
``content``); coopub's admins read it on ``/admin/reports`` with the offer it names."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests import offer_samples as samples
from tests.rig.pages import logged_in
from tests.rig.peer_setup import PeerSetup, needs_node, peer_following
from tests.skips import PEER_ONCE, once_on_postgres

pytestmark = [needs_node, once_on_postgres(PEER_ONCE)]  # tests/skips.py


@pytest.fixture(scope="module")
async def setup(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PeerSetup]:
    async with peer_following("reports", tmp_path_factory.mktemp("reports")) as s:
        yield s


async def test_a_flag_from_the_peer_reaches_the_admins(setup: PeerSetup) -> None:
    s = setup
    await s.instance.member("carla", "velos")
    await s.instance.ok("member", "admin", "carla")
    ride = await s.api("POST", "/api/v1/offers", samples.ride(title="Covoiturage suspect"))
    await s.rig.drain()
    sent = await s.peer.flag(s.alice, [s.alice, ride["ap_id"]], "Prix abusif, voir l'annonce")
    assert sent["to"] == s.alice

    async def stored() -> list[tuple[object, ...]] | None:
        rows = await s.instance.query(
            "SELECT origin_uri, activity_id, target_uri, comment FROM report"
        )
        return rows or None

    [(origin, activity_id, target, comment)] = await s.eventually(stored, "the report")
    assert origin == s.peer.actor_id and activity_id == sent["id"] and target == s.alice
    assert comment == "Prix abusif, voir l'annonce"
    async with logged_in(s.instance, "carla") as web:
        page = await web.get("/admin/reports")
        assert page.status_code == 200
        assert f"Reported by the server {s.peer.domain}" in page.text
        assert "Covoiturage suspect" in page.text
        assert "Prix abusif, voir l&#39;annonce" in page.text
        notifications = await web.get("/notifications")
        assert "reported an account" in notifications.text
