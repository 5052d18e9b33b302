"""Anonymous visitors' pages kept while nothing is written (``instance/page_cache.py``): a kept
page is sent again only to a visitor without cookie, token or signature, for the same URL,
language and format, while the database's data version is unchanged and for at most
``[server] page_cache_seconds``."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import httpx
import pytest
from starlette.applications import Starlette

from federation.context import Federation
from federation.services import offers as service
from instance import page_cache
from instance.app import create_app
from instance.config import parse_config
from instance.page_cache import PageCache
from models.actors import LocalActor
from models.data_version import data_version
from models.db import sqlite_path
from models.offers import Offer, OfferStatus
from tests import offer_samples as samples
from tests.conftest import TEST_DOMAIN
from tests.rig.database import is_postgres
from tests.rig.web_clients import browser
from tests.skips import POSTGRES_CHECK

SEARCH = "/search?place=Lyon&radius_km=20"
TITLE = "Lyon → Grenoble en covoiturage"


def cache_of(app: Starlette) -> PageCache:
    cache = app.state.page_cache
    assert isinstance(cache, PageCache)
    return cache


async def test_a_visitor_gets_the_kept_page_until_something_is_written(
    app: Starlette, anonymous: httpx.AsyncClient, fed: Federation, alice: LocalActor
) -> None:
    cache = cache_of(app)
    first = await anonymous.get(SEARCH)
    again = await anonymous.get(SEARCH)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and TITLE not in first.text
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["content-language"] == first.headers["content-language"]
    assert (cache.hits, cache.misses) == (1, 1)

    await service.create_offer(fed, alice, samples.ride())  # written: the next visit sees it
    after = await anonymous.get(SEARCH)
    assert TITLE in after.text and (cache.hits, cache.misses) == (1, 2)
    assert (await anonymous.get(SEARCH)).content == after.content and cache.hits == 2


async def test_an_offer_page_shows_a_change_at_once(
    app: Starlette, anonymous: httpx.AsyncClient, fed: Federation, alice: LocalActor
) -> None:
    offer = await service.create_offer(fed, alice, samples.ride())
    path = f"/offers/{offer.local_uuid}"
    before = await anonymous.get(path)
    assert (await anonymous.get(path)).content == before.content
    assert cache_of(app).hits == 1
    await Offer.filter(id=offer.id).update(status=OfferStatus.CLOSED)
    after = await anonymous.get(path)
    assert after.status_code == 200 and after.content != before.content
    # servers get the offer's document, never a kept page
    as2 = await anonymous.get(path, headers={"Accept": "application/activity+json"})
    assert as2.headers["content-type"].startswith("application/activity+json")
    assert all("activity+json" not in key[4] for key in cache_of(app).pages)


async def test_members_tokens_and_signatures_get_their_own_page(
    app: Starlette, anonymous: httpx.AsyncClient, as_alice: httpx.AsyncClient
) -> None:
    cache = cache_of(app)
    visitor = await anonymous.get(SEARCH)
    member = await as_alice.get(SEARCH)
    assert member.status_code == 200 and member.content != visitor.content
    assert "alice" in member.text and "alice" not in visitor.text
    for header in ("Authorization", "Signature", "Signature-Input", "Cookie"):
        await anonymous.get(SEARCH, headers={header: "x=1"})
    assert (cache.hits, cache.misses, len(cache.pages)) == (0, 1, 1)


async def test_languages_and_queries_are_kept_apart(
    app: Starlette, anonymous: httpx.AsyncClient
) -> None:
    cache = cache_of(app)
    pages = {}
    for _ in range(2):
        for lang in ("fr", "en"):
            r = await anonymous.get("/search", headers={"Accept-Language": lang})
            assert r.headers["content-language"] == lang
            pages.setdefault(lang, r.content)
            assert r.content == pages[lang]
    assert pages["fr"] != pages["en"] and (cache.hits, cache.misses) == (2, 2)
    other = await anonymous.get("/search?place=Grenoble", headers={"Accept-Language": "fr"})
    assert other.content != pages["fr"] and cache.misses == 3


async def test_refusals_are_never_kept(app: Starlette, anonymous: httpx.AsyncClient) -> None:
    for _ in range(2):
        r = await anonymous.get("/search?lat=north&lon=4")
        assert r.status_code == 400
    assert cache_of(app).pages == {} and cache_of(app).hits == 0


async def test_a_kept_page_lasts_the_seconds_set_at_most(
    app: Starlette, anonymous: httpx.AsyncClient
) -> None:
    now = [1000.0]
    app.state.page_cache = cache = PageCache(10, clock=lambda: now[0])
    await anonymous.get(SEARCH)
    now[0] += 9.9
    await anonymous.get(SEARCH)
    now[0] += 0.2
    await anonymous.get(SEARCH)
    assert (cache.hits, cache.misses) == (1, 2)


async def test_the_least_recently_used_page_goes_first(
    app: Starlette, anonymous: httpx.AsyncClient
) -> None:
    app.state.page_cache = cache = PageCache(10, size=2)
    for path in ("/search?q=a", "/search?q=b", "/search?q=a", "/search?q=c"):
        await anonymous.get(path)
    assert [key[2] for key in cache.pages] == ["q=a", "q=c"]


@pytest.fixture
async def uncached(fed: Federation, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    config = parse_config(
        {
            "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
            "database": {"url": database_url},
            "server": {"page_cache_seconds": 0},
        }
    )
    app = create_app(config, run_worker=False, fed=fed)
    assert app.state.page_cache is None
    async with browser(app, None) as client:
        yield client


async def test_zero_seconds_renders_every_page(
    uncached: httpx.AsyncClient,
    fed: Federation,
    alice: LocalActor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """0 turns keeping off: no data version is read (it serves only to keep pages), and each
    visit renders its page (an offer published between two visits shows)."""

    async def never() -> str:
        raise AssertionError("the data version is read only to keep pages")

    monkeypatch.setattr(page_cache, "data_version", never)
    first = await uncached.get(SEARCH)
    assert first.status_code == 200 and TITLE not in first.text
    await service.create_offer(fed, alice, samples.ride())
    assert TITLE in (await uncached.get(SEARCH)).text


async def test_another_process_writing_changes_the_data_version(
    fed: Federation, alice: LocalActor, database_url: str
) -> None:
    """What makes a kept page stale in a web process: the other web and worker processes'
    writes (another connection), and its own."""
    offer = await service.create_offer(fed, alice, samples.ride())
    before = await data_version()
    assert await data_version() == before  # reading changes nothing
    path = sqlite_path(database_url)
    if path is not None:
        with sqlite3.connect(path) as other:
            other.execute("UPDATE offer SET title = 'Autre' WHERE id = ?", (offer.id,))
    else:
        other = await asyncpg.connect(database_url)
        try:
            await other.execute("UPDATE offer SET title = 'Autre' WHERE id = $1", offer.id)
        finally:
            await other.close()
    after_theirs = await data_version()
    assert after_theirs != before
    await Offer.filter(id=offer.id).update(title="Encore")
    assert await data_version() != after_theirs


@pytest.mark.skipif(not is_postgres(), reason=POSTGRES_CHECK)
async def test_a_write_that_ends_after_a_later_one_changes_the_data_version(
    fed: Federation, alice: LocalActor, database_url: str
) -> None:
    """PostgreSQL: a transaction that began writing before another committed, and commits
    after, still changes the version (the snapshot's in-progress list, not only its ``xmax``):
    a page read in between saw the later write, not this one."""
    one = await service.create_offer(fed, alice, samples.ride())
    other = await service.create_offer(fed, alice, samples.stay())
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        slow = first.transaction()
        await slow.start()
        await first.execute("UPDATE offer SET title = 'Lent' WHERE id = $1", one.id)
        await second.execute("UPDATE offer SET title = 'Vite' WHERE id = $1", other.id)
        seen = await data_version()  # a page read now shows 'Vite', not 'Lent'
        await slow.commit()
    finally:
        await first.close()
        await second.close()
    assert await data_version() != seen
