"""A member posts a ride typing only place names, in a real browser (no script on the page):
the form comes back with the places found, the member picks one, publishes."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from tests.rig.instances import Instance
from tests.test_browser import OFFER_URL, chromium, fill_form, instance, shot, shots, watch_policy
from tests.test_web import PASSWORD, ride_form

__all__ = ["instance", "shots"]  # the fixtures, from the browser tests


async def test_post_a_ride_typing_only_place_names(instance: Instance, shots: Path) -> None:
    base = instance.base_url
    typed = ride_form(
        origin_name="Lyon Part-Dieu", destination_name="38000", via_name="", price="7.50"
    )
    for place in ("origin", "destination", "via"):
        typed.pop(f"{place}_latitude")
        typed.pop(f"{place}_longitude")
    async with chromium() as browser:
        context = await browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 800})
        context.set_default_timeout(10_000)
        page = await context.new_page()
        blocked = watch_policy(page)
        await page.goto(f"{base}/login")
        await page.fill("#username", "alice")
        await page.fill("#password", PASSWORD)
        await page.click("main button[type=submit]")
        await page.goto(f"{base}/offers/new?kind=ride")
        await fill_form(page, typed)
        await page.click("main form button[type=submit]")
        # the places found, to confirm; the coordinates filled in
        await expect(page.locator("#places-found")).to_contain_text("Vérifiez les lieux trouvés")
        await expect(page.locator("#field-destination_name")).to_contain_text("Grenoble (38)")
        await expect(page.locator("#field-origin_name")).to_contain_text("Lyon (69)")
        await expect(page.locator("#f-destination_latitude")).to_have_value("45.1787")
        checked = page.locator('input[name="destination_choice"]:checked')
        await expect(checked).to_have_count(1)
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await shot(page, "places-confirm-fr")
        await page.click("main form button[type=submit]")
        await expect(page).to_have_url(OFFER_URL)
        await expect(page.locator("article")).to_contain_text("Grenoble")
        await expect(page.locator("article")).to_contain_text("Lyon Part-Dieu")
        assert blocked == []
    rows = await instance.query("SELECT place_name, dest_name, dest_latitude FROM offer")
    assert rows == [("Lyon Part-Dieu", "Grenoble", 45.1787)]
