"""The French pages show no English text the catalogue translates: a label shown without
``_()`` reads as its msgid, so any visible text (or a piece of it between ``·``, ``:``, ``→``…)
equal to an English msgid with a different French msgstr is a string left unmarked.

Pages are rendered in-process, logged in as a coop admin, with an offer of each kind, a
received offer and a directory entry, so that their lists and labels are filled in.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

from activitypub.bookings_input import BookingAsk
from federation.context import Federation
from federation.services import offers as service
from federation.services.accounts import create_actor
from federation.services.bookings import request_booking
from federation.services.directory import ensure_directory_actor
from federation.settings import DirectorySettings
from instance.passwords import hash_password
from instance.templating import TEMPLATE_DIR as TEMPLATES
from instance.templating import env
from models.actors import ActorKind, LocalActor
from models.bookings import Booking
from models.directory import DirectoryEntry, EntryState
from models.offers import Offer
from tests import offer_samples as samples
from tests.catalogue import entries
from tests.test_web import HTML, PASSWORD, csrf_of, received_request

SHOWN_ATTRIBUTES = ("aria-label", "placeholder", "title", "alt")
SEPARATORS = re.compile(r"\s*(?:[·:→×|()/]|\s[-–]\s|\.\s|\?\s)\s*")
PAGES = (
    "/",
    "/search",
    "/search?kind=ride&place=Lyon",
    "/my/offers",
    "/offers/new?kind=ride",
    "/offers/new?kind=delivery_job",
    "/offers/new?kind=stay",
    "/settings",
    "/settings/calendar",
    "/settings/move",
    "/settings/delete",
    "/notifications",
    "/home",
    "/posts/new",
    "/my/bookings",
    "/my/requests",
    "/coops/velos/dispatch",
    "/admin",
    "/admin/accounts",
    "/admin/reports",
    "/directory/instances",
    "/u/alice",
    "/c/velos",
    "/tags/Lyon",
)


class _Text(HTMLParser):
    """The text a reader sees or hears: text nodes and a few attributes, scripts left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        shown = dict(attrs)
        for name in SHOWN_ATTRIBUTES:
            if shown.get(name):
                self.chunks.append(str(shown[name]))
        if tag == "input" and shown.get("type") in ("submit", "button") and shown.get("value"):
            self.chunks.append(str(shown["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden - 1)

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.chunks.append(data)


def shown_chunks(page: str) -> set[str]:
    """Every visible chunk (a text node, a shown attribute), whitespace folded."""
    parser = _Text()
    parser.feed(page)
    return {" ".join(chunk.split()) for chunk in parser.chunks}


def shown_texts(page: str) -> set[str]:
    """Every visible chunk, and each piece of it between separators."""
    found: set[str] = set()
    for text in shown_chunks(page):
        found.add(text)
        found.update(piece for piece in SEPARATORS.split(text) if piece)
    return found


def english_msgids() -> dict[str, str]:
    """msgid → msgstr of the catalogue's messages whose French differs and that have no
    placeholder (those never show verbatim)."""
    return {
        e.msgid: e.msgstr
        for e in entries()
        if e.context is None
        and e.msgstr
        and e.msgstr != e.msgid
        and not re.search(r"%\(|\{", e.msgid)
    }


def untranslated(page: str, english: dict[str, str]) -> list[str]:
    return sorted(text for text in shown_texts(page) if text in english)


@pytest.fixture
async def french(
    client: httpx.AsyncClient, fed: Federation, member: LocalActor
) -> httpx.AsyncClient:
    member.password_hash = hash_password(PASSWORD)
    member.is_admin = True
    await member.save()
    offers = [
        await service.create_offer(fed, member, build())
        for build in (samples.ride, samples.delivery_job, samples.stay)
    ]
    bob = await create_actor(ActorKind.MEMBER, "bob", name="Bob", coop=await member.coop)
    for offer in offers[:2]:  # a request on the ride, a claim on the job: alice answers them
        await request_booking(fed, bob, offer, BookingAsk(quantity=1, message="Bonjour"))
    received = await received_request()
    fed.directory = DirectorySettings(enabled=True, admission="open")
    await ensure_directory_actor("Dir", "")
    await DirectoryEntry.create(
        domain="c.example",
        actor_uri="https://c.example/actor",
        inbox="https://c.example/inbox",
        state=EntryState.ADMITTED,
        name="Coop C",
        kinds=["ride", "stay"],
        open_registrations=True,
        chatons_member=True,
        last_seen_at=received.published_at,
        unreachable=True,
    )
    client.headers.update({**HTML, "Accept-Language": "fr"})
    client.cookies.set("lang", "fr")
    login = await client.get("/login")
    r = await client.post(
        "/login",
        data={"csrf_token": csrf_of(login.text), "username": "alice", "password": PASSWORD},
    )
    assert r.status_code == 303, r.text
    return client


def test_the_check_finds_an_english_label() -> None:
    """The check itself: an unmarked label is caught, a translated one and data are not."""
    english = english_msgids()
    page = (
        '<p>Pays <input name="country"></p><p class="muted">Kind of offers</p>'
        '<button aria-label="Filter">Filtrer</button><p>Lyon → Grenoble · Rides : 3</p>'
    )
    assert untranslated(page, english) == ["Filter", "Kind of offers", "Rides"]


async def test_french_pages_have_no_english_label(french: httpx.AsyncClient) -> None:
    english = english_msgids()
    offers = [o.local_uuid for o in await Offer.filter(local_uuid__not_isnull=True)]
    bookings = [b.local_uuid for b in await Booking.all()]
    pages = [
        *PAGES,
        *(f"/offers/{u}" for u in offers),
        *(f"/offers/{u}/edit" for u in offers),
        *(f"/bookings/{u}" for u in bookings),
    ]
    problems: list[str] = []
    for path in pages:
        r = await french.get(path)
        # alice is the only admin: the deletion page says, in French, why she cannot (409)
        assert r.status_code == (409 if path == "/settings/delete" else 200), (path, r.status_code)
        assert r.headers["content-language"] == "fr", path
        problems += [f"{path}: {text!r}" for text in untranslated(r.text, english)]
    assert not problems, "English on French pages:\n" + "\n".join(problems)


async def test_error_pages_in_french(french: httpx.AsyncClient) -> None:
    """An error's public message is a msgid: the HTML page shows it translated, the API (JSON)
    keeps the English."""
    r = await french.get("/offers/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404
    assert "Cette offre n’existe pas" in r.text and "No such offer" not in r.text
    assert untranslated(r.text, english_msgids()) == []
    r = await french.get("/u/nobody")
    assert r.status_code == 404 and "Aucun compte de ce nom" in r.text
    r = await french.get(
        "/offers/00000000-0000-0000-0000-000000000000", headers={"Accept": "application/json"}
    )
    assert r.status_code == 404 and r.json()["error"] == "No such offer"


TECHNICAL = {
    "allow_private_addresses",  # settings' names, as written in instance.toml
    "authorized_fetch",
    "Authorization: Bearer …",  # an HTTP header, as the API wants it
    "CHATONS",  # a name
}
"""Literal text the templates may show as it is, in every language."""
ADDRESS = re.compile(r"^(https?://)?@?[\w.-]+(@[\w.-]+)?\.[a-z]{2,}/?$")
"""An example address (``https://directory.example``, ``@name@instance.example``)."""


def test_templates_show_no_literal_text() -> None:
    """Text written in a template outside ``{{ }}`` reads the same in every language: each
    sentence goes through ``_()``. Jinja's lexer gives the template's own text (its ``data``)."""
    found: list[str] = []
    for path in sorted(TEMPLATES.glob("*.html")):
        data = "".join(
            value
            for _line, kind, value in env.lex(path.read_text(encoding="utf-8"))
            if kind == "data"
        )
        for text in shown_chunks(data):
            for allowed in TECHNICAL:
                text = text.replace(allowed, "")
            if re.search(r"[^\W\d_]{2}", text) and not ADDRESS.match(text):
                found.append(f"{path.name}: {text!r}")
    assert not found, "text not marked for translation:\n" + "\n".join(sorted(set(found)))
