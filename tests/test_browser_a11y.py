"""Every page, in a real browser, checked for accessibility: axe-core's WCAG 2.0/2.1 A and AA
rules and no sideways scrolling (``tests/rig/axe.py``), at 1280 px and at 390 px wide (a phone),
in English and in French, logged out, as a member and as an admin, with data on every page.

The pages come from the route table (every GET route, its path parameters filled with real
ids) and from the same-origin links found on the pages visited, so a new page is checked as
soon as it is routed or linked. Answers that are not HTML (JSON, iCalendar, images, the
stylesheet) are left out. One browser; a context per viewport, person and language, a few
crawling at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from activitypub.urls import path_for
from instance.app import routes
from tests import offer_samples as samples
from tests.rig import booking_api as api
from tests.rig.axe import AxeMissing, axe_source, problems
from tests.rig.crawl import HTML, Crawl
from tests.rig.instances import Instance
from tests.skips import in_ci
from tests.test_browser import chromium, require_chromium, watch_policy
from tests.test_web import PASSWORD, csrf_of

VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}
LOCALES = {"en": "en-GB", "fr": "fr-FR"}
"""The two languages, as the browser asks for them (``Accept-Language``)."""
PEOPLE = (None, "bob", "alice")
"""Logged out, a member, an admin (alice)."""
NOT_PAGES = {
    # documents for programs, files and feeds: never an HTML page
    "healthz",
    "metrics",
    "stylesheet",
    "favicon",
    "media",
    "webfinger",
    "host_meta",
    "nodeinfo_links",
    "nodeinfo",
    "chatonsinfos",
    "instance_actor_collection",
    "directory_actor_collection",
    "directory_listing",
    "actor_collection",
    "offer_replies",
    "post_replies",
    "activity",
    "context",
    "offer_ics",
    "booking_ics",
    "calendar_feed",
    "openapi",
}
"""GET routes not filled in from the table, nor are the JSON API's (``api_*``): a link to one
is still followed, and left out when its answer is not HTML. Any other route whose parameters
``Data.values`` cannot fill fails the test."""
CONCURRENT = 3
"""Crawls at a time (each its own context): the server and the browser work in parallel."""


@dataclass
class Data:
    """What the pages show: ids to fill the route table's parameters with."""

    offers: list[str] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)
    bookings: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    """Pages only a query string reaches (a reply form, search results, an error)."""

    def values(self, route: str, param: str) -> list[str] | None:
        """The values of ``param`` in the path named ``route``; None when unknown."""
        if param == "uuid":
            if "booking" in route or "agreement" in route:
                return self.bookings
            if "post" in route:
                return self.posts
            if "offer" in route:
                return self.offers
            return None
        return {
            "prefix": ["c", "u"],
            "username": ["velos", "alice", "bob"],
            "name": ["velo"] if route == "tag" else ["velos"],
            "token": ["not-a-real-token"],  # a link gone stale: its error page
            "id": ["1"],
        }.get(param)


@contextlib.asynccontextmanager
async def form_client(instance: Instance, username: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client logged in through the form, as a browser would be."""
    async with httpx.AsyncClient(base_url=instance.base_url, headers=HTML) as client:
        page = await client.get("/login")
        form = {"csrf_token": csrf_of(page.text), "username": username, "password": PASSWORD}
        r = await client.post("/login", data=form)
        assert r.status_code == 303, r.text
        yield client


async def submit(
    client: httpx.AsyncClient, form_url: str, action: str, data: dict[str, str]
) -> str:
    """Fill the form found at ``form_url`` and post it to ``action``; where it led (nowhere
    for a page shown once, like a new calendar URL)."""
    token = csrf_of((await client.get(form_url)).text)
    r = await client.post(action, data={"csrf_token": token, **data})
    assert r.status_code in (200, 303), f"{action}: {r.status_code} {r.text[:500]}"
    return r.headers.get("location", "")


async def fill(instance: Instance) -> Data:
    """Velos, its admin Alice and its member Bob; an offer of each kind by Alice, booked by Bob
    and accepted; a post of Alice's with a hashtag, and Bob's reply (a notification); a calendar
    feed and an API token (listed in the settings); a saved search and its alerts feed."""
    data = Data()
    await instance.coop("velos")
    for name, flags in (("alice", ["--admin"]), ("bob", [])):
        await instance.ok(
            "member", "create", name, "--coop", "velos", "--email", f"{name}@example.org",
            "--password-stdin", *flags, stdin=PASSWORD + "\n",
        )  # fmt: skip
    alice, bob = await api.token(instance, "alice"), await api.token(instance, "bob")
    offers = [samples.ride(), samples.delivery_job(), samples.stay()]
    for body in offers:
        created = await api.ok(instance, "POST", "/api/v1/offers", alice, body)
        data.offers.append(created["id"])
    ride = await api.ok(instance, "GET", f"/api/v1/offers/{data.offers[0]}", alice)
    booked = await api.ok(
        instance, "POST", "/api/v1/bookings", bob, {"offer": ride["ap_id"], "quantity": 1}
    )
    await api.act(instance, alice, booked["id"], "accept", {"contact": "06 12 34 56 78"})
    data.bookings.append(booked["id"])
    stay = await api.ok(instance, "GET", f"/api/v1/offers/{data.offers[2]}", alice)
    arrival = datetime.fromisoformat(stay["starts_at"]) + timedelta(days=1)
    nights = {
        "starts_at": arrival.isoformat(),
        "ends_at": (arrival + timedelta(days=2)).isoformat(),
    }
    ask = {"offer": stay["ap_id"], "message": "Deux nuits ?", **nights}
    asked = await api.ok(instance, "POST", "/api/v1/bookings", bob, ask)
    data.bookings.append(asked["id"])  # waiting for Alice's answer
    async with form_client(instance, "alice") as client:
        text = "Atelier réparation samedi #velo, venez nombreux"
        post = {"as": "alice", "text": text}
        where = await submit(client, path_for("new_post"), path_for("new_post"), post)
        post_id = where.rsplit("/", 1)[-1]  # the post's page
        data.posts.append(post_id)
        calendar = path_for("calendar_settings")
        await submit(client, calendar, path_for("new_calendar_feed"), {})
        await submit(client, path_for("settings"), path_for("new_token"), {"label": "ci"})
    post_url = f"{instance.base_url}{path_for('post', uuid=post_id)}"
    async with form_client(instance, "bob") as client:
        reply = {"in_reply_to": post_url, "text": "Je viens avec deux vélos !"}
        await submit(client, path_for("reply", query={"to": post_url}), path_for("reply"), reply)
        searches = path_for("searches")
        await submit(client, searches, searches, {"place": "Lyon", "kind": "ride", "name": "Lyon"})
        await submit(client, searches, path_for("new_alerts_feed"), {})
        report = {"post": post_url, "comment": "Hors sujet"}  # /admin/reports/1 shows it
        form = path_for("report", query={"post": post_url})
        await submit(client, form, path_for("report"), report)
    data.extra = [
        f"/reply?to={post_url}",
        f"/bookings/new?offer={stay['ap_id']}",
        "/search?place=Lyon",
        "/search?kind=ride&from=not-a-date",  # the form with an error
        "/offers/new?kind=nothing",  # the kind chooser with an error
        "/offers/00000000-0000-4000-8000-000000000000",  # 404
        f"/authorize_interaction?uri={post_url}",
    ]
    return data


def not_a_page(name: str) -> bool:
    return name in NOT_PAGES or name.startswith("api_")  # the JSON API


def seeds(data: Data) -> list[str]:
    """Every GET route of the table with its parameters filled, then ``data.extra``."""
    found: list[str] = []
    unfilled: list[str] = []
    for route in routes():
        if "GET" not in (route.methods or {"GET"}) or not_a_page(route.name):
            continue
        params = list(route.param_convertors)
        choices = [data.values(route.name, p) or [] for p in params]
        if not all(choices):
            unfilled.append(route.name)
            continue
        for combo in itertools.product(*choices):
            path = path_for(route.name, **dict(zip(params, combo, strict=True)))
            if path not in found:
                found.append(path)
    assert not unfilled, f"GET routes with parameters this test cannot fill: {unfilled}"
    return found + data.extra


async def person_page(
    browser: Browser, base: str, viewport: str, lang: str, username: str | None
) -> Page:
    """A context of its own for one person in one language (``Accept-Language``), logged in."""
    width, height = VIEWPORTS[viewport]
    context = await browser.new_context(
        locale=LOCALES[lang], viewport={"width": width, "height": height}
    )
    context.set_default_timeout(20_000)
    page = await context.new_page()
    if username is not None:
        await page.goto(f"{base}/login")
        await page.fill("#username", username)
        await page.fill("#password", PASSWORD)
        await page.click("main button[type=submit]")
        await expect(page.locator("header form button")).to_contain_text(username)
    return page


@pytest.fixture(scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Instance, Data]]:
    require_chromium()
    try:
        axe_source()
    except AxeMissing as missing:
        if in_ci():
            pytest.fail(str(missing))
        pytest.skip(str(missing))
    instance = await Instance.create("a11y", tmp_path_factory.mktemp("a11y"))
    try:
        yield instance, await fill(instance)
    finally:
        await instance.stop()


@pytest.fixture(scope="module")
async def browser(site: tuple[Instance, Data]) -> AsyncIterator[Browser]:
    async with chromium() as opened:
        yield opened


async def check_every_page(browser: Browser, site: tuple[Instance, Data], viewport: str) -> None:
    instance, data = site
    start = seeds(data)
    running = asyncio.Semaphore(CONCURRENT)

    async def crawl(lang: str, person: str | None) -> tuple[Crawl, list[str]]:
        async with running:
            page = await person_page(browser, instance.base_url, viewport, lang, person)
            refused = watch_policy(page)
            done = Crawl(page, instance.base_url, f"[{viewport} {lang} {person or 'anonymous'}]")
            try:
                await done.run(start)
            finally:
                await page.context.close()
            return done, refused

    crawls = await asyncio.gather(*(crawl(lang, who) for who in PEOPLE for lang in LOCALES))
    failures = {where: found for done, _ in crawls for where, found in done.failures.items()}
    report = "\n".join(f"{where}:\n  " + "\n  ".join(found) for where, found in failures.items())
    assert not failures, f"{len(failures)} pages with problems:\n{report}"
    # axe ran under the real policy, and the pages needed nothing it refuses
    assert [refused for _, refused in crawls if refused] == []
    pages = {p for done, _ in crawls for p in done.visited}
    assert len(pages) >= 40, sorted(pages)  # the crawl reached the app's pages
    for must in ("/admin", "/settings", "/notifications", f"/bookings/{data.bookings[0]}"):
        assert must in pages, must


async def test_every_page_on_a_desktop(browser: Browser, site: tuple[Instance, Data]) -> None:
    await check_every_page(browser, site, "desktop")


async def test_every_page_on_a_phone(browser: Browser, site: tuple[Instance, Data]) -> None:
    await check_every_page(browser, site, "phone")


async def test_the_checks_can_fail(browser: Browser, site: tuple[Instance, Data]) -> None:
    """The same checks on a page spoiled on purpose: an image with no text alternative, a
    field with no label, a line too wide for a phone."""
    instance, _ = site
    page = await person_page(browser, instance.base_url, "phone", "en", None)
    try:
        await page.goto(f"{instance.base_url}/login")
        assert await problems(page) == []
        spoil = """() => document.querySelector("main").insertAdjacentHTML("beforeend",
            '<img src="/static/none.png"><input type="text"><pre>' + "x".repeat(200) + '</pre>')"""
        await page.evaluate(spoil)
        found = "\n".join(await problems(page))
        assert "image-alt (critical)" in found, found
        assert "label (critical)" in found, found
        assert "sideways scrolling:" in found and "pre" in found, found
        assert "https://dequeuniversity.com/rules/axe/" in found, found
    finally:
        await page.context.close()


async def test_the_browser_shows_the_icon(browser: Browser, site: tuple[Instance, Data]) -> None:
    """Both icons decode in Chromium: the SVG the pages link and ``/favicon.ico``."""
    instance, _ = site
    page = await person_page(browser, instance.base_url, "desktop", "en", None)
    refused = watch_policy(page)
    try:
        await page.goto(f"{instance.base_url}/login")
        icons = page.locator("link[rel=icon]")
        await expect(icons).to_have_count(2)
        load = """href => new Promise(done => { const image = new Image();
            image.onload = () => done(image.naturalWidth); image.onerror = () => done(0);
            image.src = href; })"""
        for href in await icons.evaluate_all("links => links.map(l => l.href)"):
            assert await page.evaluate(load, href) > 0, href
        assert refused == []
    finally:
        await page.context.close()


NO_VALIDATION = "() => document.querySelectorAll('form').forEach(f => { f.noValidate = true; })"
"""Let the browser send a form as it is, so the server's error page is what gets checked."""


async def error_states(
    page: Page, base: str, data: Data, label: str
) -> tuple[dict[str, list[str]], int]:
    """Forms sent empty or wrong (as Bob: he may book Alice's offers); the pages that answer,
    each with its error message, checked like the others. The problems, and the pages seen."""
    stay = f"/offers/{data.offers[2]}"
    forms = [
        *((f"/offers/new?kind={kind}", "main form") for kind in ("ride", "delivery_job", "stay")),
        ("/posts/new", "#post-form"),
        (f"/reply?to={base}/posts/{data.posts[0]}", "#reply-form"),
        (stay, "#ask-form"),
    ]
    failures: dict[str, list[str]] = {}
    for path, form in forms:
        await page.goto(base + path)
        await page.evaluate(NO_VALIDATION)
        await page.locator(f"{form} button[type=submit]").click()
        await page.wait_for_load_state()
        await expect(page.locator("[role=alert], .error").first).to_be_visible()
        if found := await problems(page):
            failures[f"{label} {path}, sent with errors"] = found
    return failures, len(forms)


async def test_forms_with_errors(browser: Browser, site: tuple[Instance, Data]) -> None:
    """The pages a wrong form leads to, at both widths and in both languages: the messages
    must be as readable as the form (labels, contrast, no sideways scrolling)."""
    instance, data = site
    failures: dict[str, list[str]] = {}
    for viewport, lang in itertools.product(VIEWPORTS, LOCALES):
        label = f"[{viewport} {lang}]"
        page = await person_page(browser, instance.base_url, viewport, lang, None)
        refused = watch_policy(page)
        try:
            await page.goto(f"{instance.base_url}/login")
            await page.fill("#username", "bob")
            await page.fill("#password", "not the password")
            await page.click("main button[type=submit]")
            await expect(page.locator("#login-error")).to_be_visible()
            if found := await problems(page):
                failures[f"{label} /login, wrong password"] = found
            await page.fill("#password", PASSWORD)
            await page.click("main button[type=submit]")
            await expect(page.locator("header form button")).to_contain_text("bob")
            found_here, seen = await error_states(page, instance.base_url, data, label)
            failures |= found_here
            assert seen == 6 and refused == []
        finally:
            await page.context.close()
    report = "\n".join(f"{where}:\n  " + "\n  ".join(found) for where, found in failures.items())
    assert not failures, f"{len(failures)} pages with problems:\n{report}"
