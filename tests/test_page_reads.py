"""What the busiest pages read: the search page selects the columns it shows (never an offer's
``document``), shows the same as when it read whole offers, in English and French, and the
home page, an offer's page and the search page each make a bounded number of SQL queries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from tortoise import connections

from activitypub.offer_from_as import as_to_offer_fields
from federation.context import Federation
from federation.services import offers as service
from federation.services.search import parse_search, search_offers
from instance.forms.labels import KIND_LABELS
from instance.offer_view import SUMMARY_COLUMNS, offer_summary, offer_to_api, pages_of
from instance.templating import render
from models.actors import LocalActor
from models.offers import Offer
from tests import offer_samples as samples

HTML = {"Accept": "text/html"}


class Statements:
    """Every SQL statement the default connection runs while in use."""

    def __init__(self) -> None:
        self.conn = connections.get("default")
        self.original = self.conn.execute_query
        self.sql: list[str] = []

    async def _execute_query(self, query: str, values: list[Any] | None = None) -> Any:
        self.sql.append(query)
        return await self.original(query, values)

    @contextmanager
    def spying(self) -> Iterator[list[str]]:
        self.sql = []
        self.conn.execute_query = self._execute_query
        try:
            yield self.sql
        finally:
            del self.conn.execute_query  # back to the class's method


def received(document: dict[str, Any], n: int, url: Any) -> dict[str, Any]:
    """The fields of a copy of ``document`` received from ``other.example``, with its own id
    and the page ``url`` given (none when None), read as the inbox reads it."""
    author = "https://other.example/users/zoe"
    raw = {**document, "id": f"https://other.example/objects/{n}", "attributedTo": author}
    raw.pop("url", None)
    if url is not None:
        raw["url"] = url
    return as_to_offer_fields(raw, author)


@pytest.fixture
async def offers(fed: Federation, member: LocalActor) -> list[Offer]:
    """A ride, a delivery job and a stay published here; copies received from elsewhere whose
    page is on their host (a string, a ``Link``), on another host (not linked), or absent."""
    made = [
        await service.create_offer(fed, member, build())
        for build in (samples.ride, samples.delivery_job, samples.stay)
    ]
    urls: list[Any] = [
        "https://other.example/o/1",
        {"type": "Link", "href": "https://other.example/o/2", "mediaType": "text/html"},
        "https://elsewhere.example/o/3",
        None,
    ]
    document = await service.offer_document(fed, made[0])
    for n, url in enumerate(urls):
        made.append(await Offer.create(**received(document, n, url), author_name="Zoé"))
    return made


def request_for(client: httpx.AsyncClient, path: str, lang: str) -> Request:
    app = client._transport.app  # type: ignore[attr-defined]
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": f"lang={lang}".encode(),
        "headers": [(b"accept-language", lang.encode())],
        "app": app,
        "session": {},
        "scheme": "https",
        "server": ("test.example", 443),
    }
    return Request(scope)


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("query", [{}, {"place": "Lyon", "radius_km": "20"}])
async def test_the_search_page_shows_what_whole_offers_show(
    client: httpx.AsyncClient,
    fed: Federation,
    offers: list[Offer],
    query: dict[str, str],
    lang: str,
) -> None:
    """The page from ``SUMMARY_COLUMNS`` is, byte for byte, the page from whole offers."""
    params = parse_search(query)
    whole = await search_offers(params)
    partial = await search_offers(params, columns=SUMMARY_COLUMNS)
    assert [o.id for o in partial] == [o.id for o in whole] and len(whole) >= 4
    pages = await pages_of(partial)
    request = request_for(client, "/search", lang)
    context = {"values": query, "error": None, "searched": bool(query), "next_page": None}
    context["kinds"] = KIND_LABELS
    before = render(
        request, "search.html", {**context, "results": [offer_to_api(fed, o) for o in whole]}
    )
    after = render(
        request,
        "search.html",
        {**context, "results": [offer_summary(o, pages[o.id]) for o in partial]},
    )
    assert after.body == before.body
    seats, ask = {
        "en": ("Seats available", "See it and ask"),
        "fr": ("Places disponibles", "La voir"),
    }[lang]
    assert after.body.decode().count(seats) >= 4 and ask in after.body.decode()
    # the links: a local offer's id, a received one's page on its own host, else its id
    assert pages == {o.id: offer_to_api(fed, o)["url"] for o in whole}
    assert "https://other.example/o/1" in pages.values()
    assert "https://other.example/o/2" in pages.values()
    assert "https://elsewhere.example/o/3" not in pages.values()


async def test_the_search_page_reads_no_document(
    client: httpx.AsyncClient, offers: list[Offer]
) -> None:
    spy = Statements()
    for path in ("/search", "/search?place=Lyon&radius_km=20", "/search?q=Grenoble"):
        with spy.spying() as sql:
            r = await client.get(path, headers=HTML)
        assert r.status_code == 200 and 'class="result"' in r.text, path
        reads = [s for s in sql if re.search(r'\bFROM "?offer"?\b', s)]
        assert reads, path
        for statement in reads:
            assert '"document"' not in statement and '"private"' not in statement, statement
            assert not re.search(r"SELECT\s+\*", statement), statement


@pytest.mark.parametrize(
    ("path", "most"),
    [
        ("/", 2),  # the data version (instance/page_cache), the coops
        ("/offers/{uuid}", 7),
        ("/search", 6),
        ("/search?place=Lyon&radius_km=20", 8),
    ],
)
async def test_pages_make_a_bounded_number_of_queries(
    client: httpx.AsyncClient, offers: list[Offer], path: str, most: int
) -> None:
    """However many offers there are: no query per offer shown."""
    spy = Statements()
    with spy.spying() as sql:
        r = await client.get(path.format(uuid=offers[0].local_uuid), headers=HTML)
    assert r.status_code == 200
    assert len(sql) <= most, sql
