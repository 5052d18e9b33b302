"""The booking pages in a real browser: Debian's Chromium driven by Playwright against one real
`coopub serve` instance (shared by this module's tests), with two members created through the
CLI, each in a browser context of their own.

A ride: Alice posts it, Bob books 2 seats with a message, Alice sees the count in the navigation
and accepts with a contact, Bob sees the contact, they exchange a message, Bob cancels. A
delivery job: Bob offers to take Alice's job, she assigns it, he reports it picked up, then
delivered; both follow its progress. The dispatch board: Dora, of the shop Cagette, posts two
jobs; Bob (Velos) and Carol (Roues) offer to take one; Dora's board lists them by time window,
filters them, shows who claimed what; she assigns Bob from it; Bob reports on the job's page and
the board follows. Screenshots of each page, in English and in French, go to
``test-artifacts/screenshots/``. And a ride booked, in Bob's calendar: the booking's ``.ics``,
his secret calendar URL read as a calendar program would, then revoked.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from tests import offer_samples as samples
from tests.rig.instances import Instance
from tests.test_browser import SHOTS, chromium, require_chromium, shot, watch_policy
from tests.test_dispatch import GUILLOTIERE, LYON, job
from tests.test_web import PASSWORD

BOOKING_URL = re.compile(r"/bookings/[0-9a-f-]{36}$")
CONTACT = "06 12 34 56 78"
MEETING = "Devant la gare Part-Dieu"


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Instance]:
    """One instance for the module: Alice and Bob of the coop Velos; for the dispatch board,
    Dora of the shop Cagette and Carol of the courier coop Roues."""
    require_chromium()
    SHOTS.mkdir(parents=True, exist_ok=True)
    instance = await Instance.create("bookings-browser", tmp_path_factory.mktemp("browser"))
    try:
        await instance.coop("velos")
        await instance.member("alice", "velos")
        await instance.member("bob", "velos")
        await instance.coop("cagette")
        await instance.member("dora", "cagette")
        await instance.coop("roues")
        await instance.member("carol", "roues")
        yield instance
    finally:
        await instance.stop()


@pytest.fixture(scope="module")
async def browser(served: Instance) -> AsyncIterator[Browser]:
    async with chromium() as opened:
        yield opened


async def post_offer(instance: Instance, body: dict[str, Any], author: str = "alice") -> str:
    """An offer of Alice's (or the author's), posted with an API token (the offer forms have
    their own browser test); its page's URL."""
    token = (await instance.ok("token", "create", author)).strip()
    async with httpx.AsyncClient(base_url=instance.base_url) as client:
        r = await client.post(
            "/api/v1/offers", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code == 201, r.text
    return f"{instance.base_url}/offers/{r.json()['id']}"


async def member_page(browser: Browser, instance: Instance, username: str) -> Page:
    """A browser context of the member's own (English), logged in."""
    context: BrowserContext = await browser.new_context(
        locale="en-GB", viewport={"width": 1000, "height": 800}
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    watch_policy(page)  # each screenshot checks the policy refused nothing
    await page.goto(f"{instance.base_url}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("main button[type=submit]")
    await expect(page.locator("nav")).to_contain_text(f"Log out ({username})")
    return page


async def in_french(page: Page, name: str) -> None:
    """The same page in French (the switch in the navigation), screenshot, back to English."""
    await page.click('nav a[hreflang="fr"]')
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await shot(page, f"{name}-fr")
    await page.click('nav a[hreflang="en"]')
    await expect(page.locator("html")).to_have_attribute("lang", "en")


async def test_a_ride_booked_accepted_talked_about_and_cancelled(
    served: Instance, browser: Browser
) -> None:
    ride = await post_offer(served, samples.ride(title="Lyon → Grenoble, 3 places"))
    alice = await member_page(browser, served, "alice")
    bob = await member_page(browser, served, "bob")
    try:
        # Bob books 2 seats with a message
        await bob.goto(ride)
        await expect(bob.locator("#ask-title")).to_have_text("Book seats")
        await expect(bob.locator("#b-quantity")).to_have_attribute("max", "3")
        await bob.fill("#b-quantity", "2")
        await bob.fill("#b-message", "Deux places pour Grenoble ?")
        await shot(bob, "booking-ask-en")
        await in_french(bob, "booking-ask")
        await bob.fill("#b-quantity", "2")
        await bob.fill("#b-message", "Deux places pour Grenoble ?")
        await bob.click("#ask-form button[type=submit]")
        await expect(bob).to_have_url(BOOKING_URL)
        booking = bob.url
        await expect(bob.locator("#booking-state")).to_have_text("Waiting for an answer")
        await expect(bob.locator("#private")).to_have_count(0)
        await shot(bob, "booking-requested-en")

        # Alice sees the count, and accepts with a contact from the requests page
        await alice.goto(served.base_url)
        await expect(alice.locator("#pending-count")).to_have_text("1")
        await alice.click("#nav-requests")
        request = alice.locator("li.request")
        await expect(request).to_have_count(1)
        await expect(request).to_contain_text("Deux places pour Grenoble ?")
        await request.locator("summary").click()
        await request.locator('input[name="meeting_point"]').fill(MEETING)
        await request.locator('input[name="contact"]').fill(CONTACT)
        await shot(alice, "booking-requests-en")
        await in_french(alice, "booking-requests")
        await alice.locator("li.request summary").click()
        await alice.locator('li.request input[name="contact"]').fill(CONTACT)
        await alice.locator('li.request input[name="meeting_point"]').fill(MEETING)
        await alice.click("li.request .accept-form button[type=submit]")
        await expect(alice.locator("main .notice.ok")).to_have_text("You accepted the request.")
        await expect(alice.locator("#pending-count")).to_have_count(0)
        await expect(alice.locator("#answered-requests")).to_contain_text("Accepted")

        # Bob sees the contact, and only now; the seats left dropped
        await bob.reload()
        await expect(bob.locator("#booking-state")).to_have_text("Accepted")
        await expect(bob.locator("#private-contact")).to_have_text(CONTACT)
        await expect(bob.locator("#private-meeting_point")).to_have_text(MEETING)
        await bob.goto(ride)
        await expect(bob.locator("article")).to_contain_text("1 / 3")
        await expect(bob.locator("#ask-why")).to_have_text("You already asked for this offer")

        # they exchange a message
        await bob.goto(booking)
        await bob.fill("#message-content", "À quelle heure exactement ?")
        await bob.click("#message-form button[type=submit]")
        await expect(bob.locator("#messages li")).to_have_count(1)
        await alice.goto(booking)
        await expect(alice.locator("#messages li")).to_contain_text(["À quelle heure"])
        await alice.fill("#message-content", "8 h pile, devant la gare.")
        await alice.click("#message-form button[type=submit]")
        await bob.goto(booking)
        await expect(bob.locator("#messages li .content")).to_have_text(
            ["À quelle heure exactement ?", "8 h pile, devant la gare."]
        )
        await shot(bob, "booking-accepted-en")
        await in_french(bob, "booking-accepted")

        # Bob cancels, with a reason; the seats come back
        await bob.fill("#cancel-reason", "Grippé, désolé")
        await bob.click("#cancel-form button[type=submit]")
        await expect(bob.locator("#booking-state")).to_have_text("Cancelled")
        await expect(bob.locator("#private")).to_have_count(0)
        await alice.goto(booking)
        await expect(alice.locator("#booking-reason")).to_have_text("Grippé, désolé")
        await shot(alice, "booking-cancelled-en")
        await bob.click('nav a[href="/my/bookings"]')
        await expect(bob.locator("tr.booking")).to_contain_text(["Cancelled"])
        await shot(bob, "my-bookings-en")
        await in_french(bob, "my-bookings")
        await bob.goto(ride)
        await expect(bob.locator("article")).to_contain_text("3 / 3")
    finally:
        await alice.context.close()
        await bob.context.close()
    rows = await served.query("SELECT state, quantity, reason FROM booking")
    assert rows == [("cancelled", 2, "Grippé, désolé")]


async def test_a_delivery_job_and_its_progress(served: Instance, browser: Browser) -> None:
    job = await post_offer(served, samples.delivery_job())
    alice = await member_page(browser, served, "alice")
    bob = await member_page(browser, served, "bob")
    try:
        await bob.goto(job)
        await expect(bob.locator("#ask-title")).to_have_text("Offer to take this job")
        await expect(bob.locator("#b-quantity")).to_have_count(0)
        await bob.fill("#b-message", "Vélo-cargo disponible")
        await bob.click("#ask-form button[type=submit]")
        await expect(bob).to_have_url(BOOKING_URL)
        booking = bob.url
        await expect(bob.locator("#holder")).to_have_text("Waiting to be assigned.")
        await expect(bob.locator("main")).not_to_contain_text("12 rue Sully")

        await alice.goto(booking)
        await alice.click("#actions .accept-form button[type=submit]")
        await expect(alice.locator("#holder")).to_contain_text("Held by bob")
        await bob.reload()
        await expect(bob.locator("#private-pickup_address")).to_contain_text("12 rue Sully")
        await shot(bob, "job-assigned-en")
        await bob.fill("#progress-note-input", "Colis récupéré")
        await bob.click('#progress-form button[value="picked_up"]')
        await expect(bob.locator("#steps")).to_contain_text("Picked up ✓")
        await expect(bob.locator("#cancel-form")).to_have_count(0)
        await alice.reload()
        await expect(alice.locator("#progress-note")).to_have_text("Colis récupéré")
        await expect(alice.locator("#progress-form")).to_have_count(0)
        await shot(alice, "job-picked-up-en")
        await in_french(alice, "job-picked-up")
        await bob.click('#progress-form button[value="delivered"]')
        await expect(bob.locator("#booking-state")).to_have_text("Done")
        await expect(bob.locator("#steps")).to_contain_text("Delivered ✓")
        await shot(bob, "job-delivered-en")
        await in_french(bob, "job-delivered")
        await alice.goto(job)
        await expect(alice.locator("article")).to_contain_text("Delivered")
    finally:
        await alice.context.close()
        await bob.context.close()


BREAD = "Pain pour la Guillotière"
WARDROBE = "Armoire pour Chantenay"


def board_titles(page: Page) -> Locator:
    return page.locator("li.job > a strong")


async def test_the_dispatch_board(served: Instance, browser: Browser) -> None:
    wardrobe = await post_offer(served, job(WARDROBE, 1, 14, "van"), "dora")
    bread = await post_offer(served, job(BREAD, 1, 9, "bike", LYON, GUILLOTIERE), "dora")
    dora = await member_page(browser, served, "dora")
    bob = await member_page(browser, served, "bob")
    carol = await member_page(browser, served, "carol")
    try:
        claims = []
        for courier, message in ((bob, "Vélo dispo dès 9 h"), (carol, "Je peux aussi")):
            await courier.goto(bread)
            await courier.fill("#b-message", message)
            await courier.click("#ask-form button[type=submit]")
            await expect(courier).to_have_url(BOOKING_URL)
            claims.append(courier.url)

        # Dora's board, from the navigation: by time window (the bread was posted second)
        await dora.click('nav a[href="/dispatch"]')
        await expect(dora).to_have_url(f"{served.base_url}/coops/cagette/dispatch")
        await expect(board_titles(dora)).to_contain_text([BREAD, WARDROBE])
        titles = await board_titles(dora).all_inner_texts()
        assert [t for t in titles if t in (BREAD, WARDROBE)] == [BREAD, WARDROBE]
        starts = await dora.locator("li.job > time:first-of-type").evaluate_all(
            "times => times.map(t => t.getAttribute('datetime'))"
        )
        assert len(starts) == len(titles)
        assert starts == sorted(starts, key=datetime.fromisoformat)
        bread_item = dora.locator("li.job", has_text=BREAD)
        await expect(bread_item.locator(".status")).to_have_text("Claimed")
        await expect(bread_item.locator("tr.claim td:first-child")).to_have_text(["bob", "carol"])
        await expect(bread_item.locator("tr.claim td:nth-child(2)")).to_have_text(
            ["Claim waiting", "Claim waiting"]
        )
        wardrobe_item = dora.locator("li.job", has_text=WARDROBE)
        await expect(wardrobe_item.locator(".status")).to_have_text("Open")
        await expect(wardrobe_item).to_contain_text("No claim yet.")
        await shot(dora, "dispatch-board-en")

        # the GET form: by vehicle, then by area and vehicle
        await dora.select_option("#d-vehicle", "van")
        await dora.click("#dispatch-form button[type=submit]")
        await expect(dora).to_have_url(re.compile(r"\?(.*&)?vehicle=van"))
        await expect(board_titles(dora)).to_have_text([WARDROBE])
        await dora.click("#dispatch-form a")  # clear
        await dora.fill("#d-place", "Croix-Rousse")
        await dora.fill("#d-radius_km", "5")
        await dora.select_option("#d-vehicle", "van")
        await dora.click("#dispatch-form button[type=submit]")
        await expect(dora.locator("main")).to_contain_text("No job to dispatch.")
        await dora.select_option("#d-vehicle", "bike")
        await dora.click("#dispatch-form button[type=submit]")
        await expect(dora).to_have_url(re.compile(r"place=Croix-Rousse.*vehicle=bike"))
        await expect(dora.locator("#d-place")).to_have_value("Croix-Rousse")
        await expect(board_titles(dora)).to_have_text([BREAD])
        await shot(dora, "dispatch-filtered-en")
        await in_french(dora, "dispatch-filtered")
        filtered = dora.url

        # she assigns Bob with the board's button, and comes back to the filtered board
        claim = dora.locator("tr.claim", has_text="bob")
        await claim.locator('input[name="contact"]').fill(CONTACT)
        await claim.locator("button").click()
        await expect(dora.locator("main .notice.ok")).to_have_text("The job is assigned to bob.")
        assert dora.url == filtered
        await expect(bread_item).to_have_attribute("data-status", "assigned")
        await expect(bread_item.locator(".holder")).to_have_text("Held by bob")
        await expect(bread_item.locator("tr.claim td:nth-child(2)")).to_have_text(
            ["Assigned to this courier", "Claim declined"]
        )
        await expect(bread_item.locator("form")).to_have_count(0)
        await shot(dora, "dispatch-assigned-en")

        # each courier's coop sees its own: Bob's, ours; Carol's, held outside
        await bob.click('nav a[href="/dispatch"]')
        mine = bob.locator("li.job", has_text=BREAD)
        await expect(mine.locator(".holder")).to_have_text("Held by bob (our coop)")
        await expect(mine.locator("tr.claim td:first-child")).to_have_text(["bob (our coop)"])
        await carol.click('nav a[href="/dispatch"]')
        hers = carol.locator("li.job", has_text=BREAD)
        await expect(hers.locator(".holder")).to_have_text("Held by a courier outside our coop")
        await expect(hers.locator("tr.claim td")).to_have_text(
            ["carol (our coop)", "Claim declined"]
        )
        await carol.goto(claims[1])
        await expect(carol.locator("#booking-state")).to_have_text("Declined")

        # Bob reports on the job's page; the board follows
        await bob.goto(claims[0])
        await expect(bob.locator("#private-contact")).to_have_text(CONTACT)
        await bob.fill("#progress-note-input", "Pain chargé")
        await bob.click('#progress-form button[value="picked_up"]')
        await expect(bob.locator("#steps")).to_contain_text("Picked up ✓")
        await dora.reload()
        await expect(bread_item.locator(".status")).to_have_text("Picked up")
        await expect(bread_item.locator(".holder")).to_have_text(
            "Held by bob · Picked up (Pain chargé)"
        )
        await bob.fill("#progress-note-input", "Remis en boulangerie")
        await bob.click('#progress-form button[value="delivered"]')
        await expect(bob.locator("#booking-state")).to_have_text("Done")
        await dora.reload()
        await expect(bread_item).to_have_attribute("data-status", "delivered")
        await expect(bread_item.locator(".status")).to_have_text("Delivered")
        await expect(bread_item.locator(".holder")).to_have_text(
            "Held by bob · Delivered (Remis en boulangerie)"
        )
        await shot(dora, "dispatch-delivered-en")
        await in_french(dora, "dispatch-delivered")
        for text in ("12 rue Sully", "5 place Joannès Ambre", CONTACT):
            await expect(dora.locator("main")).not_to_contain_text(text)
        await bob.goto(wardrobe)
        await expect(bob.locator("#ask-title")).to_have_text("Offer to take this job")
    finally:
        for page in (dora, bob, carol):
            await page.context.close()


async def test_subscribing_to_the_calendar(served: Instance, browser: Browser) -> None:
    """Bob's booking, once accepted, is in the calendar a program reads from his secret URL
    (made on the settings page, shown once); the booking's own ``.ics`` downloads from its
    page; revoked, the URL answers 404."""
    ride = await post_offer(served, samples.ride(title="Lyon → Annecy, le calendrier"))
    alice = await member_page(browser, served, "alice")
    bob = await member_page(browser, served, "bob")
    try:
        await bob.goto(ride)
        await bob.fill("#b-quantity", "1")
        await bob.click("#ask-form button[type=submit]")
        await expect(bob).to_have_url(BOOKING_URL)
        booking = bob.url
        await alice.goto(booking)
        await alice.click(".accept-form button[type=submit]")
        await bob.goto(booking)
        await expect(bob.locator("#booking-state")).to_have_text("Accepted")

        # the booking's own file, from its page
        async with bob.expect_download() as download_info:
            await bob.click("#booking-ics")
        download = await download_info.value
        saved = await asyncio.to_thread(Path(await download.path()).read_bytes)
        [event] = Calendar.from_ical(saved).walk("VEVENT")
        assert "Lyon → Annecy, le calendrier" in str(event["summary"])

        # the secret URL, made on the settings page and shown once
        await bob.goto(f"{served.base_url}/settings")
        await bob.click("#new-calendar-form button[type=submit]")
        url = (await bob.locator("#calendar-url-value").inner_text()).strip()
        await expect(bob.locator("#calendar-state")).to_contain_text("Not read yet")
        await shot(bob, "calendar-url-en")
        async with httpx.AsyncClient() as program:  # a calendar program: no session
            r = await program.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
        summaries = [str(e["summary"]) for e in Calendar.from_ical(r.content).walk("VEVENT")]
        assert any("Lyon → Annecy, le calendrier" in s for s in summaries), summaries
        await bob.goto(f"{served.base_url}/settings/calendar")
        await expect(bob.locator("#calendar-state")).to_contain_text("Last read on")
        await expect(bob.locator("#calendar-url-value")).to_have_count(0)  # never shown again

        # revoked: the program gets 404
        await bob.click("#revoke-calendar-form button[type=submit]")
        await expect(bob.locator("#calendar-state")).to_have_text("You have no calendar URL.")
        async with httpx.AsyncClient() as program:
            assert (await program.get(url)).status_code == 404
    finally:
        await alice.context.close()
        await bob.context.close()
