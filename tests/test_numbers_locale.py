"""Prices, weights and durations written by Babel in the page's language ("7,50 €", "12,5 kg"
on a French page, "€7.50", "12.5 kg" on an English one), and in the post sent to the Fediverse."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx

from activitypub.offer_text import offer_content_html
from federation.context import Federation
from federation.services import offers as service
from federation.services.directory import ensure_directory_actor
from federation.settings import DirectorySettings
from instance.number_format import day, distance, money, weight
from models.actors import LocalActor
from models.directory import DirectoryEntry, EntryState
from models.offers import Offer
from tests import offer_samples as samples
from tests.test_web import HTML

SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})
"""Babel separates with no-break spaces (U+00A0, narrow U+202F); compared as plain spaces."""


def plain(text: str) -> str:
    return text.translate(SPACES)


def visible(page: str) -> str:
    """The page's text without its tags, spaces plain and runs of them as one."""
    return " ".join(plain(unescape(re.sub(r"<[^>]+>", " ", page))).split())


def test_the_formats() -> None:
    assert plain(money(7.5, "EUR", "fr")) == "7,50 €"
    assert money(7.5, "EUR", "en") == "€7.50"
    assert plain(money(1234, "CHF", "fr")) == "1 234,00 CHF"
    assert plain(weight(12500, "fr")) == "12,5 kg" and plain(weight(12500, "en")) == "12.5 kg"
    assert plain(weight(800, "fr")) == "800 g"
    assert plain(distance(2.5, "fr")) == "2,5 km"
    assert day("2026-12-01T08:00:00+00:00", "fr") == "1 déc. 2026"
    assert day("2026-12-01T08:00:00+00:00", "en") == "Dec 1, 2026"


async def _job(fed: Federation, alice: LocalActor) -> Offer:
    job = samples.delivery_job(price_cents=750)
    job["delivery"]["weight_grams"] = 12500
    return await service.create_offer(fed, alice, job)


async def test_offer_and_search_pages(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor
) -> None:
    offer = await _job(fed, member)
    page = f"/offers/{offer.local_uuid}"
    for lang, price, kilos in (("fr", "7,50 €", "12,5 kg"), ("en", "€7.50", "12.5 kg")):
        r = await client.get(page, params={"lang": lang}, headers=HTML)
        assert r.status_code == 200 and r.headers["content-language"] == lang
        text = plain(r.text)
        assert price in text and kilos in text, lang
        assert "EUR" not in text.replace('value="EUR"', "")
        found = plain((await client.get("/search", params={"lang": lang}, headers=HTML)).text)
        assert price in found, lang


async def test_a_ride_flexibility_in_minutes(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor
) -> None:
    offer = await service.create_offer(fed, member, samples.ride(price_cents=1250))
    page = f"/offers/{offer.local_uuid}"
    fr = plain((await client.get(page, params={"lang": "fr"}, headers=HTML)).text)
    assert "12,50 €" in fr and "± 15 min" in fr
    en = plain((await client.get(page, params={"lang": "en"}, headers=HTML)).text)
    assert "€12.50" in en and "12.50 EUR" not in en


async def test_the_post_text(fed: Federation, member: LocalActor) -> None:
    """The Fediverse post, in each language of its ``contentMap``."""
    offer = await _job(fed, member)
    french = plain(offer_content_html(offer, offer.ap_id, "fr"))
    english = plain(offer_content_html(offer, offer.ap_id, "en"))
    assert "Prix : 7,50 €" in french and "Poids : 12,5 kg" in french
    assert "Price: €7.50" in english and "Weight: 12.5 kg" in english


async def test_the_directory_listing_in_french(client: httpx.AsyncClient, fed: Federation) -> None:
    fed.directory = DirectorySettings(enabled=True, admission="open")
    await ensure_directory_actor("Dir", "")
    seen = datetime(2026, 12, 1, 9, tzinfo=UTC)
    for n in range(2):
        await DirectoryEntry.create(
            domain=f"c{n}.example",
            actor_uri=f"https://c{n}.example/actor",
            inbox=f"https://c{n}.example/inbox",
            state=EntryState.ADMITTED,
            name=f"Coop {n}",
            kinds=["ride", "delivery_job"],
            open_registrations=True,
            last_seen_at=seen - timedelta(days=n),
        )
    r = await client.get("/directory/instances", params={"lang": "fr"}, headers=HTML)
    assert r.status_code == 200
    text = visible(r.text)
    for french in (
        "Type d’offres",
        "Covoiturages",
        "Pays",
        "Membres des CHATONS",
        "Inscriptions ouvertes",
        "Filtrer",
        "2 instances",
        "inscriptions ouvertes",
        "vu le 1 déc. 2026",
        "Covoiturage, Course de livraison",
    ):
        assert french in text, french
    for english in ("Kind of offers", "instance(s)", "last seen", "delivery_job", "Source:"):
        assert english not in text, english
    r = await client.get("/directory/instances", params={"lang": "en"}, headers=HTML)
    assert "2 instances" in r.text and "last seen on Dec 1, 2026" in visible(r.text)
