"""Joining in a real browser (no script on the page): an admin makes an invitation link on
/admin, a new person opens it, signs up and lands logged in, in the coop; a member who forgot
their password gets a one-time link from an admin and logs in with the new password."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.rig.instances import Instance
from tests.test_browser import REFUSED, chromium, require_chromium, shot, shots, watch_policy
from tests.test_browser_bookings import member_page
from tests.test_web import PASSWORD

__all__ = ["shots"]  # the fixture, from the browser tests

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[Instance]:
    require_chromium()
    served = await Instance.create("join", tmp_path)
    try:
        await served.coop("velos")
        await served.member("alice", "velos")
        await served.ok(
            "member",
            "create",
            "ada",
            "--coop",
            "velos",
            "--email",
            "ada@example.org",
            "--admin",
            "--password-stdin",
            stdin=f"{PASSWORD}\n",
        )
        yield served
    finally:
        await served.stop()


async def test_sign_up_with_an_invitation_made_on_the_admin_page(
    instance: Instance, shots: Path
) -> None:
    base = instance.base_url
    async with chromium() as browser:
        page = await member_page(browser, instance, "ada")  # the admin
        blocked = REFUSED[page]
        await page.goto(f"{base}/admin")
        await page.click("#join-admin-link")
        await expect(page).to_have_url(f"{base}/admin/join")
        await page.select_option("#invite-coop", "velos")
        await page.fill("#invite-uses", "1")
        await page.click("#invitation-form button[type=submit]")
        link = (await page.locator("#invitation-link").inner_text()).strip()
        assert re.fullmatch(rf"{re.escape(base)}/invite/[\w-]+", link), link
        await shot(page, "join-invitation-made")

        # someone else, in a browser of their own, opens the link and signs up
        guest = await browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 800})
        guest.set_default_timeout(10_000)
        new = await guest.new_page()
        guest_blocked = watch_policy(new)
        await new.goto(link)
        await expect(new.locator("#invited")).to_contain_text("Velos")
        await new.fill("#username", "bea")
        await new.fill("#email", "bea@example.org")
        await new.fill("#password", NEW_PASSWORD)
        await new.fill("#password_again", NEW_PASSWORD)
        await shot(new, "join-signup-fr")
        await new.click("main form button[type=submit]")
        await expect(new).to_have_url(f"{base}/settings")
        await expect(new.locator("main")).to_contain_text("Bienvenue ! Vous êtes membre de Velos.")
        await expect(new.locator("#nav-feed")).to_be_visible()  # logged in
        assert await new.evaluate("document.documentElement.scrollWidth") <= 390
        # the link is used up
        await new.goto(link)
        await expect(new.locator("main")).to_contain_text("déjà servi")
        assert blocked == [] and guest_blocked == []
    rows = await instance.query(
        "SELECT m.username, c.username FROM local_actor m JOIN local_actor c ON m.coop_id = c.id"
        " WHERE m.username = 'bea'"
    )
    assert rows == [("bea", "velos")]


async def test_password_reset_through_a_link_from_an_admin(instance: Instance, shots: Path) -> None:
    base = instance.base_url
    async with chromium() as browser:
        page = await member_page(browser, instance, "ada")  # the admin
        blocked = REFUSED[page]
        await page.goto(f"{base}/admin/join")
        await page.select_option("#reset-username", "alice")
        await page.click("#reset-form button[type=submit]")
        link = (await page.locator("#reset-link").inner_text()).strip()
        assert link.startswith(f"{base}/password/reset/")
        await shot(page, "join-reset-link")

        member = await browser.new_context(locale="en-GB", viewport={"width": 390, "height": 800})
        member.set_default_timeout(10_000)
        alice = await member.new_page()
        member_blocked = watch_policy(alice)
        await alice.goto(f"{base}/login")
        await alice.click("text=Forgot your password?")
        await expect(alice.locator("#ask-admin")).to_contain_text("Ask one of its administrators")
        await alice.goto(link)
        await expect(alice.locator("#reset-username")).to_have_text("alice")
        await alice.fill("#password", NEW_PASSWORD)
        await alice.fill("#password_again", NEW_PASSWORD)
        await alice.click("main form button[type=submit]")
        await expect(alice).to_have_url(f"{base}/login")
        await expect(alice.locator("main")).to_contain_text("Your password was changed")
        await alice.fill("#username", "alice")
        await alice.fill("#password", NEW_PASSWORD)
        await alice.click("main button[type=submit]")
        await expect(alice).to_have_url(f"{base}/my/offers")
        await shot(alice, "join-reset-logged-in")
        # the link worked once
        await alice.goto(link)
        await expect(alice.locator("main")).to_contain_text("already used")
        assert blocked == [] and member_blocked == []
