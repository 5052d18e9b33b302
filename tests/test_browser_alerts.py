"""Alerts across two real instances, in a real browser (no script on the page): Alice, on A,
follows a coop of B, saves a search typing only a place name, and makes her private feed URL;
a ride published later on B arrives over HTTP, shows on her home page and in her Atom feed.
The secret URL never reaches A's log."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests import offer_samples as samples
from tests.rig.instances import Instance, Rig
from tests.test_browser import chromium, require_chromium, shot, shots, watch_policy
from tests.test_web import PASSWORD

__all__ = ["shots"]  # the fixture, from the browser tests

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    require_chromium()
    rig = Rig([await Instance.create("a", tmp_path), await Instance.create("b", tmp_path)])
    try:
        yield rig
    finally:
        await rig.stop()


async def test_a_saved_search_brings_a_remote_offer_home(rig: Rig, shots: Path) -> None:
    a, b = rig.instances
    await a.coop("velos")
    await a.member("alice", "velos")
    await b.coop("roues")
    await b.member("zoe", "roues")
    token = (await b.ok("token", "create", "zoe")).strip()
    out = await a.ok("follow", "alice", f"@roues@{b.domain}", "--wait", "10")
    assert out.strip().endswith("accepted"), out
    await rig.drain()

    ride = samples.ride(title="Lyon → Grenoble avec Zoé")
    async with chromium() as browser:
        context = await browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 800})
        context.set_default_timeout(10_000)
        page = await context.new_page()
        blocked = watch_policy(page)
        await page.goto(f"{a.base_url}/login")
        await page.fill("#username", "alice")
        await page.fill("#password", PASSWORD)
        await page.click("main button[type=submit]")

        # search by place name, then save that search
        await page.goto(f"{a.base_url}/search")
        await page.select_option("#s-kind", "ride")
        await page.fill("#s-place", "Lyon")
        await page.fill("#s-radius_km", "30")
        await page.click("#search-form button[type=submit]")
        await expect(page.locator("#save-search-form")).to_be_visible()
        await page.fill("#save-name", "Départs de Lyon")
        await shot(page, "alerts-save-search-fr")
        await page.click("#save-search-form button[type=submit]")
        await expect(page).to_have_url(f"{a.base_url}/searches")
        await expect(page.locator("#saved-searches")).to_contain_text("Départs de Lyon")
        await expect(page.locator("#saved-searches")).to_contain_text("Lyon")

        # the private feed URL, shown once
        await page.click("#new-alerts-feed-form button[type=submit]")
        feed_url = (await page.locator("#alerts-url-value").inner_text()).strip()
        assert feed_url.startswith(f"{a.base_url}/alerts/") and feed_url.endswith(".atom")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await shot(page, "alerts-searches-fr")
        await page.goto(f"{a.base_url}/home")
        await expect(page.locator("#alerts-empty")).to_be_visible()

        # a ride published on B, later
        async with httpx.AsyncClient(base_url=b.base_url) as api:
            headers = {"Authorization": f"Bearer {token}"}
            r = await api.post("/api/v1/offers", json=ride, headers=headers)
            assert r.status_code == 201, r.text
            elsewhere = await api.post(
                "/api/v1/offers", json=samples.delivery_job(), headers=headers
            )
            assert elsewhere.status_code == 201, elsewhere.text
        await rig.drain()

        # at home on A, and in the feed
        await page.goto(f"{a.base_url}/home")
        alerts = page.locator("#alerts li.alert")
        await expect(alerts).to_have_count(1)
        await expect(alerts.first).to_contain_text(ride["title"])
        await expect(alerts.first).to_contain_text(b.domain)
        await expect(alerts.first).to_contain_text("Départs de Lyon")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await shot(page, "alerts-home-fr")
        await alerts.first.locator("a").first.click()
        await expect(page.locator("main")).to_contain_text(ride["title"])
        assert blocked == []

    async with httpx.AsyncClient() as reader:
        r = await reader.get(feed_url)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(r.content)
    titles = [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")]
    assert titles == [ride["title"]]
    secret = feed_url.removeprefix(f"{a.base_url}/alerts/").removesuffix(".atom")
    for _ in range(50):  # the access log line is written once the answer has gone out
        if "/alerts/<secret>" in a.log():
            break
        await asyncio.sleep(0.1)
    assert "/alerts/<secret>" in a.log() and secret not in a.log()
