"""One directory and three instances over real HTTP: admission (open, manual, rejected),
offers relayed without follows, a late joiner backfilled, and a mirrored second directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import offer_samples as samples
from tests.rig.instances import Instance, Rig

AS2 = {"Accept": "application/activity+json"}


@pytest.fixture(scope="module")
async def network(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[list[Instance]]:
    root: Path = tmp_path_factory.mktemp("directory")
    directory = await Instance.create(
        "dir", root, listing={"enabled": True, "admission": "open", "name": "Réseau coop"}
    )
    others = [await Instance.create(f"i{n}", root) for n in (1, 2, 3)]
    yield [directory, *others]
    await Rig([directory, *others]).stop()


async def _listing(instance: Instance) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{instance.base_url}/directory/instances", headers=AS2)
    assert r.status_code == 200, r.text
    return r.json()


async def _offers(instance: Instance) -> set[str]:
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{instance.base_url}/api/v1/offers?limit=100")
    return {o["title"] for o in r.json()["items"] if not o["local"]}


async def test_directory_lists_relays_and_mirrors(network: list[Instance], tmp_path: Path) -> None:
    d, i1, i2, i3 = network
    rig = Rig(network)
    await i1.coop("velos")
    await i1.member("alice", "velos")
    token = (await i1.ok("token", "create", "alice")).strip()

    # open admission: i1 joins and is admitted at once
    out = await i1.ok("directory", "join", d.base_url)
    assert out.strip().endswith("admitted"), out + d.log()[-2000:]
    async with httpx.AsyncClient(base_url=i1.base_url) as client:
        r = await client.post(
            "/api/v1/offers", json=samples.ride(), headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code == 201
    await rig.drain()

    # manual admission: i2 waits for the operator, then is backfilled with i1's offer
    await d.stop()
    d.configure("directory", admission="manual")
    await d.start()
    waiting = await i2.cli("directory", "join", d.base_url, "--wait", "2")
    assert waiting.returncode == 3 and waiting.stdout.strip().endswith("pending"), waiting
    await rig.drain()
    candidates = await d.ok("directory", "list")
    assert f"{i2.domain}\tcandidate\tjoined" in candidates
    assert "nodeinfo" in candidates and "activitypub" in candidates
    admitted = await d.ok("directory", "admit", i2.domain)
    assert "backfill 1/1" in admitted and "1 offer(s)" in admitted
    await rig.drain()
    assert (await i2.ok("directory", "status")).strip().endswith("admitted")
    assert samples.ride()["title"] in await _offers(i2)  # late joiner backfilled

    # i3 is rejected
    assert (await i3.cli("directory", "join", d.base_url, "--wait", "2")).returncode == 3
    await rig.drain()
    await d.ok("directory", "reject", i3.domain)
    await rig.drain()
    assert (await i3.ok("directory", "status")).strip().endswith("rejected")

    # an offer posted on i1 reaches i2 through the directory; neither follows the other
    async with httpx.AsyncClient(base_url=i1.base_url) as client:
        r = await client.post(
            "/api/v1/offers", json=samples.stay(), headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code == 201
    await rig.drain()
    assert samples.stay()["title"] in await _offers(i2)
    assert await i2.query("SELECT COUNT(*) FROM follow") == [(1,)]  # only its directory join
    assert await _offers(i3) == set()  # rejected: nothing relayed to it

    # the listing: HTML and AS2 on one URL, with what was learned
    listing = await _listing(d)
    entries = {e["domain"]: e for e in listing["orderedItems"]}
    assert set(entries) == {i1.domain, i2.domain}
    assert entries[i1.domain]["name"] == "Instance i1"
    assert entries[i1.domain]["software"]["name"] == "coopub"
    assert entries[i1.domain]["kinds"] == ["ride", "stay"]
    async with httpx.AsyncClient() as client:
        page = await client.get(
            f"{d.base_url}/directory/instances?kind=stay", headers={"Accept": "text/html"}
        )
    assert page.status_code == 200 and "Instance i1" in page.text and "Instance i2" not in page.text

    # a deletion on i1 reaches i2 through the directory too (i2 finds it gone at its origin)
    stay_id = r.json()["id"]
    async with httpx.AsyncClient(base_url=i1.base_url) as client:
        gone = await client.delete(
            f"/api/v1/offers/{stay_id}", headers={"Authorization": f"Bearer {token}"}
        )
    assert gone.status_code == 204
    await rig.drain()
    assert await _offers(i2) == {samples.ride()["title"]}

    # a second directory mirrors the first and lists the same entries, marked with their source
    d2 = await Instance.create("dir2", tmp_path, listing={"enabled": True, "admission": "open"})
    try:
        out = await d2.ok("directory", "mirror", d.base_url)
        await Rig([d, d2]).drain()
        await d2.ok("directory", "refresh")
        mirrored = {e["domain"]: e for e in (await _listing(d2))["orderedItems"]}
        assert set(mirrored) == {i1.domain, i2.domain}
        assert {e["source"] for e in mirrored.values()} == {f"{d.base_url}/directory"}
        # and the first directory does not list the mirror as an instance
        assert {e["domain"] for e in (await _listing(d))["orderedItems"]} == {i1.domain, i2.domain}
    finally:
        await d2.stop()
