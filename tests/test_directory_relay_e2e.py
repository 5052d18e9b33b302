"""The directory relay of earlier offers, over real HTTP: a directory, an instance admitted
early, an instance that publishes offers before joining, and one that joins last.

The directory's host holds some of the joining instance's offers already (one of its members
follows their author): those reach the early member once, nothing from the joining instance is
relayed before it is admitted, and a cancelled offer is never relayed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import offer_samples as samples
from tests.rig.instances import Instance, Rig
from tests.skips import E2E_ONCE, once_on_postgres

pytestmark = once_on_postgres(E2E_ONCE)  # tests/skips.py


@dataclass
class Network:
    rig: Rig
    directory: Instance
    early: Instance
    joiner: Instance
    late: Instance
    created: dict[str, dict[str, Any]]
    """The joiner's offers, by kind, as its API answered."""


async def _post(instance: Instance, token: str, body: dict[str, Any], action: str = "") -> Any:
    async with httpx.AsyncClient(base_url=instance.base_url) as client:
        r = await client.post(
            f"/api/v1/offers{action}", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code in (200, 201), r.text
    return r.json()


async def _remote_titles(instance: Instance) -> list[str]:
    """The titles of the remote offers an instance holds, one per row (duplicates show)."""
    rows = await instance.query("SELECT title FROM offer WHERE local_uuid IS NULL ORDER BY title")
    return [str(r[0]) for r in rows]


async def _announces(instance: Instance, ap_id: str) -> int:
    rows = await instance.query(
        f"SELECT COUNT(*) FROM activity WHERE type = 'Announce' AND object_uri = '{ap_id}'"
    )
    return int(rows[0][0])


async def _join(instance: Instance, directory: Instance) -> None:
    """Join, waiting for the answer longer than the default (a loaded test machine)."""
    out = await instance.ok("directory", "join", directory.base_url, "--wait", "30")
    assert out.strip().endswith("admitted"), out


@pytest.fixture(scope="module")
async def network(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Network]:
    root: Path = tmp_path_factory.mktemp("relay")
    d = await Instance.create("dir", root, listing={"enabled": True, "admission": "open"})
    early, joiner, late = [await Instance.create(n, root) for n in ("early", "joiner", "late")]
    rig = Rig([d, early, joiner, late])
    try:
        yield await _publish_then_join(rig, d, early, joiner, late)
    finally:
        await rig.stop()


async def _publish_then_join(
    rig: Rig, d: Instance, early: Instance, joiner: Instance, late: Instance
) -> Network:
    await _join(early, d)
    await joiner.coop("velos")
    await joiner.member("alice", "velos")
    token = (await joiner.ok("token", "create", "alice")).strip()
    created = {"ride": await _post(joiner, token, samples.ride())}
    await rig.drain()
    # a member of the directory's host follows alice: the ride is backfilled from her outbox,
    # and the stay comes as a follower's copy (its Create is then known to the host's inbox)
    await d.coop("dirco")
    await d.member("dora", "dirco")
    followed = await d.ok("follow", "dora", f"@alice@{joiner.domain}", "--wait", "30")
    assert followed.strip().endswith("accepted")
    await rig.drain()
    created["stay"] = await _post(joiner, token, samples.stay())
    created["delivery_job"] = await _post(joiner, token, samples.delivery_job())
    await _post(joiner, token, {}, f"/{created['delivery_job']['id']}/cancel")
    await rig.drain()
    assert len(await _remote_titles(d)) == 3  # held by the directory's host, for dora
    assert await _remote_titles(early) == []  # but not relayed: the joiner is not admitted

    await _join(joiner, d)
    await rig.drain()
    return Network(rig, d, early, joiner, late, created)


async def test_offers_published_before_joining_reach_the_directory_s_members(
    network: Network,
) -> None:
    n = network
    ride, stay, job = (n.created[k] for k in ("ride", "stay", "delivery_job"))
    assert await _remote_titles(n.early) == sorted([ride["title"], stay["title"]])
    held = await n.early.query(
        "SELECT ap_id, instance_domain FROM offer WHERE local_uuid IS NULL ORDER BY ap_id"
    )
    assert held == sorted([(ride["ap_id"], n.joiner.domain), (stay["ap_id"], n.joiner.domain)])
    # the ride's Create was new to the directory: relayed on arrival, and at admission since
    # the directory held it already; announced twice, stored once. The stay's Create had come
    # to the directory's host for dora: a duplicate there, relayed at admission only. The
    # cancelled job, never.
    assert await _announces(n.directory, ride["ap_id"]) == 2
    assert await _announces(n.directory, stay["ap_id"]) == 1
    assert await _announces(n.directory, job["ap_id"]) == 0

    # joining again (leave, then join): nothing is sent twice, nothing stored twice
    await n.joiner.ok("directory", "leave", n.directory.base_url)
    await n.rig.drain()
    await _join(n.joiner, n.directory)
    await n.rig.drain()
    assert await _announces(n.directory, ride["ap_id"]) == 2
    assert await _announces(n.directory, stay["ap_id"]) == 1
    assert await _remote_titles(n.early) == sorted([ride["title"], stay["title"]])


async def test_a_later_member_receives_the_directory_s_open_offers(network: Network) -> None:
    n = network
    token = await _early_member_token(n.early)
    job = await _post(n.early, token, samples.delivery_job(title="Cagette à Chantenay"))
    await n.rig.drain()
    await _join(n.late, n.directory)
    await n.rig.drain()
    expected = [n.created["ride"]["title"], n.created["stay"]["title"], job["title"]]
    assert await _remote_titles(n.late) == sorted(expected)
    # only offers of admitted instances, and open ones: the joiner's cancelled job stayed out
    domains = await n.late.query("SELECT DISTINCT instance_domain FROM offer ORDER BY 1")
    assert [r[0] for r in domains] == sorted([n.early.domain, n.joiner.domain])


async def _early_member_token(early: Instance) -> str:
    await early.coop("roues")
    await early.member("emma", "roues")
    return (await early.ok("token", "create", "emma")).strip()
