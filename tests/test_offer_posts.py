"""An offer as Mastodon and GoToSocial users read it: the exact HTML of each kind in each status,
in French and English (pinned in tests/expected/offer_posts.json: a change there is a change of
what every follower reads; update it deliberately and say so in FEDERATION.md), its hashtags, no
``name`` to become a content warning; and what coopub peers still read from it."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from activitypub.activities import language_first
from activitypub.offer_text import offer_content_html, place_tag
from activitypub.offers import as_to_offer_fields, offer_to_as
from federation.context import Federation
from federation.services.offers import create_offer, expire_offers, set_status
from models.activities import Activity
from models.actors import LocalActor
from models.offers import Offer, OfferStatus, Purpose
from tests import offer_samples as samples
from tests.test_offer_wire import AUTHOR, _sample_offer

PINS = Path(__file__).parent / "expected" / "offer_posts.json"
BACK = "https://velos.example/offers/ride-back"
CASES: dict[str, tuple[str, ...]] = {
    "ride": ("open", "one_left", "full", "closed", "cancelled", "expired"),
    "ride_request": ("open", "cancelled"),
    "delivery_job": (
        "open",
        "assigned",
        "picked_up",
        "delivered",
        "failed",
        "closed",
        "cancelled",
        "expired",
    ),
    "delivery_offer": ("open",),
    "stay": ("open", "full", "closed", "cancelled", "expired"),
    "stay_request": ("open",),
}
"""Every status each kind can be in (``federation.services.offers.ALLOWED_STATUS``, and
``expired``), and each kind asked for as well as offered."""


def case_offer(case: str, status: str) -> Offer:
    kind = case.removesuffix("_request").replace("delivery_offer", "delivery_job")
    offer = _sample_offer(kind)
    if case.endswith("_request") or case == "delivery_offer":
        offer.purpose = Purpose.OFFER if case == "delivery_offer" else Purpose.REQUEST
    if case == "ride":
        offer.details = {**offer.details, "return_trip": BACK}
    if case == "ride_request":
        offer.description = "Je pars tôt <b>!</b>\n\nMerci\nà bientôt"
        offer.price_cents = None
    offer.status = OfferStatus.OPEN if status == "one_left" else OfferStatus(status)
    if status == "one_left":
        offer.quantity_available = 1
    if status == "full" and kind == "ride":
        offer.quantity_available = 0
    return offer


def rendered() -> dict[str, dict[str, str]]:
    """What tests/expected/offer_posts.json holds (regenerate it from here, deliberately)."""
    out: dict[str, dict[str, str]] = {}
    for case, statuses in CASES.items():
        for status in statuses:
            offer = case_offer(case, status)
            out[f"{case}.{status}"] = {
                lang: offer_content_html(offer, offer.ap_id, lang) for lang in ("fr", "en")
            }
    return out


def test_the_html_of_every_kind_and_status_is_pinned() -> None:
    expected = json.loads(PINS.read_text(encoding="utf-8"))
    actual = rendered()
    assert actual.keys() == expected.keys()
    for key, texts in expected.items():
        assert actual[key] == texts, key


@pytest.mark.parametrize("key", [f"{c}.{s}" for c, statuses in CASES.items() for s in statuses])
def test_an_offer_that_is_not_open_never_reads_as_available(key: str) -> None:
    case, status = key.split(".")
    offer = case_offer(case, status)
    for lang in ("fr", "en"):
        text = offer_content_html(offer, offer.ap_id, lang)
        available = any(w in text for w in ("disponible(s)", "place(s)", "seat(s)"))
        assert available == (case == "ride" and status in ("open", "one_left")), (lang, text)
        unavailable = ("Cette offre n’est plus disponible.", "This offer is no longer available.")
        assert (unavailable[lang == "en"] in text) == (status not in ("open", "one_left"))


def _note(case: str, status: str) -> dict[str, Any]:
    offer = case_offer(case, status)
    return offer_to_as(offer, followers=f"{AUTHOR}/followers", url=offer.ap_id)


@pytest.mark.parametrize("case", list(CASES))
def test_a_post_mastodon_shows_expanded_in_both_languages(case: str) -> None:
    note = _note(case, "open")
    assert "name" not in note and "summary" not in note  # either becomes a content warning
    assert list(note["contentMap"]) == ["fr", "en"]  # the offer's language first
    assert note["content"] == note["contentMap"]["fr"]
    assert note["contentMap"]["en"] == rendered()[f"{case}.open"]["en"]
    # every hashtag either text links is a ``Hashtag`` tag, and the other way round
    linked = {
        (m["href"], m["name"])
        for text in note["contentMap"].values()
        for m in re.finditer(
            r'<a href="(?P<href>[^"]+)" class="mention hashtag" rel="tag">#<span>(?P<name>[^<]+)',
            text,
        )
    }
    tags = {(html.escape(t["href"]), t["name"][1:]) for t in note["tag"]}
    assert linked == tags
    assert all(t["type"] == "Hashtag" and t["name"].startswith("#") for t in note["tag"])


def test_the_hashtags_name_the_kind_and_the_places() -> None:
    names = [t["name"] for t in _note("ride", "open")["tag"]]
    assert names == ["#covoiturage", "#carpool", "#Lyon", "#Grenoble"]
    names = [t["name"] for t in _note("stay", "open")["tag"]]
    assert names == ["#hebergement", "#hospitality", "#Die"]
    english = _sample_offer("delivery_job")
    english.language = "en"
    note = offer_to_as(english, followers=f"{AUTHOR}/followers", url=english.ap_id)
    assert list(note["contentMap"]) == ["en", "fr"] and note["content"].startswith("<p><strong>")
    assert [t["name"] for t in note["tag"]][:2] == ["#delivery", "#livraison"]


@pytest.mark.parametrize(
    ("place", "tag"),
    [
        ("Lyon", ("Lyon", "Lyon")),
        ("Gare Part-Dieu, Lyon", ("Lyon", "Lyon")),
        ("Saint-Étienne", ("SaintEtienne", "Saint-Étienne")),
        ("69003 Lyon", ("Lyon", "Lyon")),
        ("L'Isle-d'Abeau, 38080", ("LIsleDAbeau", "L'Isle-d'Abeau")),
        ("aix en provence", ("AixEnProvence", "aix en provence")),
        ("12345", None),
        ("", None),
        ("#<script>", ("Script", "#<script>")),
        ("x" * 51, None),
    ],
)
def test_place_hashtags_are_sanitised_camel_case(place: str, tag: tuple[str, str] | None) -> None:
    assert place_tag(place) == tag


async def test_every_hashtag_link_answers(client: httpx.AsyncClient) -> None:
    """No ``/tags/`` page here: a hashtag opens the search, filtered by kind or by place."""
    hrefs = {t["href"] for case in CASES for t in _note(case, "open")["tag"]}
    assert {urlsplit(h).path for h in hrefs} == {"/search"}
    for href in sorted(hrefs):
        parts = urlsplit(href)
        r = await client.get(f"{parts.path}?{parts.query}")
        assert r.status_code == 200, (href, r.text[:500])


# --- what a coopub peer reads back --------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_coopub_peers_still_read_the_title_description_and_language(case: str) -> None:
    offer = case_offer(case, "open")
    note = _note(case, "open")
    fields = as_to_offer_fields(json.loads(json.dumps(note)), AUTHOR)
    assert (fields["title"], fields["description"]) == (offer.title, offer.description)
    assert fields["language"] == "fr"  # though compacted JSON-LD sorts the map: en, fr


def test_the_title_of_an_older_coopub_is_read_from_name() -> None:
    legacy = {k: v for k, v in _note("ride", "open").items() if k not in ("title", "description")}
    legacy["name"] = "Ancien titre"
    fields = as_to_offer_fields(legacy, AUTHOR)
    assert fields["title"] == "Ancien titre"
    assert fields["description"].startswith("Covoiturage proposé · Lyon → Grenoble")
    both = {**_note("ride", "open"), "name": "Ignoré"}
    assert as_to_offer_fields(both, AUTHOR)["title"] == "Lyon → Grenoble en covoiturage"
    untitled = {k: v for k, v in legacy.items() if k != "name"}
    assert as_to_offer_fields(untitled, AUTHOR)["title"] == "—"


def test_the_title_term_is_read_by_its_iri() -> None:
    """Contexts by URL (ours is bundled) and the title under its full IRI: the same term."""
    note = {k: v for k, v in _note("stay", "open").items() if k != "title"}
    note["@context"] = [
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/valueflows/ont/vf",
        "https://w3id.org/coopub/ns",
    ]
    note["https://w3id.org/coopub/ns#title"] = "Chambre à Die"
    assert as_to_offer_fields(note, AUTHOR)["title"] == "Chambre à Die"


def test_the_language_goes_first_again_after_the_database() -> None:
    """PostgreSQL's jsonb sorts a stored payload's keys; the delivery puts the offer's
    language back first, as Mastodon takes the first key for the post's language."""
    note = _note("ride", "open")
    stored = {**note, "contentMap": dict(sorted(note["contentMap"].items()))}
    assert list(stored["contentMap"]) == ["en", "fr"]
    create = {"type": "Create", "object": stored}
    assert list(language_first(create)["object"]["contentMap"]) == ["fr", "en"]
    assert language_first(stored)["contentMap"] == note["contentMap"]
    assert language_first({"type": "Delete", "object": "x"}) == {"type": "Delete", "object": "x"}


# --- a status change reaches followers in words -------------------------------------------


async def _last_update(offer: Offer) -> dict[str, Any]:
    update = await Activity.filter(type="Update").order_by("-id").first()
    assert update is not None and update.payload["object"]["id"] == offer.ap_id
    note: dict[str, Any] = update.payload["object"]
    return note


@pytest.mark.parametrize(
    ("status", "french", "english"),
    [
        (OfferStatus.CANCELLED, "Annulée", "Cancelled"),
        (OfferStatus.CLOSED, "Fermée", "Closed"),
        (OfferStatus.FULL, "Complet", "Full"),
    ],
)
async def test_a_status_change_sends_an_update_that_says_it(
    fed: Federation, member: LocalActor, status: OfferStatus, french: str, english: str
) -> None:
    offer = await create_offer(fed, member, samples.ride())
    await set_status(fed, member, offer, status)
    note = await _last_update(offer)
    assert note["status"] == status.value
    fr, en = note["contentMap"]["fr"], note["contentMap"]["en"]
    assert f"<p><strong>{french}</strong> · Cette offre n’est plus disponible.</p>" in fr
    assert f"<p><strong>{english}</strong> · This offer is no longer available.</p>" in en
    assert "disponible(s)" not in fr and "available" not in en.replace("no longer available", "")
    assert note["content"] == fr and "name" not in note


async def test_an_expired_offer_says_so(fed: Federation, member: LocalActor) -> None:
    offer = await create_offer(fed, member, samples.stay())
    await Offer.filter(id=offer.id).update(expires_at=offer.starts_at.replace(year=2020))
    assert await expire_offers(fed) >= 1
    note = await _last_update(offer)
    assert "<p><strong>Expirée</strong> · Cette offre n’est plus disponible.</p>" in note["content"]
