"""Saved searches and alerts, through the app in-process: a member saves the search the search
page shows (a place typed by name), a matching offer delivered to the inbox (signed, then
processed by the worker code) shows on the home page and in the member's secret Atom feed
(parsed back with ElementTree); offers the search would not find (another kind, place, day,
too few seats, closed, the member's own) never do; the secret URL is revocable; a coop's
public feed lists its open offers and public announcements only."""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.pofile import read_po
from starlette.applications import Starlette

from activitypub.activities import wrap_object
from activitypub.offer_input import parse_offer
from activitypub.offer_model import offer_fields
from activitypub.offers import offer_to_as
from federation.context import Federation
from federation.inbox import process_due
from federation.services import alerts, posting
from federation.services.offers import create_offer, set_status
from federation.services.search import offer_matches, parse_search
from instance.access import loggable_path
from instance.atom import Entry, Feed, atom_bytes
from models.actors import LocalActor, RemoteActor
from models.alerts import AlertMatch, SavedSearch
from models.feed_tokens import FeedToken
from models.follows import Follow, FollowState
from models.offers import Offer, OfferStatus
from models.posts import Post, Visibility
from tests import offer_samples as samples
from tests.conftest import TEST_DOMAIN
from tests.rig import peers
from tests.rig.canned import keypair, post_signed, remote_actor
from tests.rig.web_clients import browser
from tests.test_web import csrf_of

ROOT = Path(__file__).resolve().parent.parent
BASE = f"https://{TEST_DOMAIN}"
ATOM = "{http://www.w3.org/2005/Atom}"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
Signer = peers.Signer

sent = peers.sent
"""Every outgoing request answered offline (tests/rig/peers.py): no test reaches the network."""


@pytest.fixture
async def zoe(fed: Federation, alice: LocalActor) -> Signer:
    """Zoe on peer.example, whom Alice follows (an offer from a stranger is dropped)."""
    signer = await remote_actor("zoe", "peer.example", key=keypair("a"))
    await Follow.create(
        ap_id=fed.urls.new_activity_id(),
        follower_uri=fed.urls.actor(alice),
        target_uri=signer[0].ap_id,
        local_follower=alice,
        state=FollowState.ACCEPTED,
    )
    return signer


def offer_document(author: RemoteActor, body: dict[str, Any], n: int) -> dict[str, Any]:
    """``body`` (as the API takes it) as its author's instance publishes it."""
    now = datetime.now(UTC)
    copy = Offer(
        ap_id=f"https://{author.domain}/offers/{n}",
        author_uri=author.ap_id,
        author_name=author.name or author.username,
        instance_domain=author.domain,
        status="open",
        published_at=now,
        updated_at=now,
        **offer_fields(parse_offer(body), local=False),
    )
    return offer_to_as(copy, followers=f"{author.ap_id}/followers", url=copy.ap_id)


async def deliver(
    client: httpx.AsyncClient, fed: Federation, by: Signer, body: dict[str, Any], n: int
) -> Offer:
    """A ``Create`` of the offer, signed by ``by``, POSTed to the inbox and processed."""
    actor, pem = by
    doc = offer_document(actor, body, n)
    activity = wrap_object(
        "Create",
        f"{actor.ap_id}/activities/{n}",
        actor.ap_id,
        doc,
        cc=[f"{actor.ap_id}/followers"],
        published=datetime.now(UTC),
    )
    assert actor.key_id
    r = await post_signed(client, f"{BASE}/inbox", activity, actor.key_id, pem)
    assert r.status_code == 202, r.text
    while await process_due(fed):
        pass
    return await Offer.get(ap_id=doc["id"])


def parsed_feed(r: httpx.Response) -> ET.Element:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == ATOM_TYPE
    root = ET.fromstring(r.content)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None, required
    return root


def entry_titles(root: ET.Element) -> list[str]:
    return [e.findtext(f"{ATOM}title") or "" for e in root.iter(f"{ATOM}entry")]


def nantes_ride() -> dict[str, Any]:
    body = samples.ride(title="Nantes → Rennes")
    body["ride"]["origin"] = {"name": "Nantes", "latitude": 47.2184, "longitude": -1.5536}
    body["ride"]["destination"] = {"name": "Rennes", "latitude": 48.1173, "longitude": -1.6778}
    body["ride"]["waypoints"] = []
    return body


# --- the journey ------------------------------------------------------------------------------


async def test_a_saved_search_shows_a_remote_offer_at_home_and_in_the_feed(
    app: Starlette, fed: Federation, alice: LocalActor, zoe: Signer
) -> None:
    async with browser(app, "alice") as web, browser(app, None) as reader:
        # the search page offers to save what it shows, the place as typed
        query = {"kind": "ride", "purpose": "offer", "place": "Lyon", "radius_km": "30"}
        query["q"] = "Grenoble"
        page = await web.get("/search", params=query)
        assert page.status_code == 200 and 'id="save-search-form"' in page.text
        hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
        assert hidden.items() >= query.items()  # the form carries every criterion shown
        form = {"csrf_token": csrf_of(page.text), **query, "name": "Vers Grenoble"}
        r = await web.post("/searches", data=form)
        assert r.status_code == 303 and r.headers["location"] == "/searches"
        [saved] = await SavedSearch.filter(member_id=alice.id)
        assert (saved.kind, saved.purpose, saved.place, saved.radius_km) == (
            "ride",
            "offer",
            "Lyon",
            30.0,
        )
        assert saved.latitude == pytest.approx(45.76, abs=0.1)
        listing = await web.get("/searches")
        assert "Vers Grenoble" in listing.text and "Lyon" in listing.text

        # offers it would not find: another kind, another place, another instance's own words
        await deliver(web, fed, zoe, samples.delivery_job(), 1)
        await deliver(web, fed, zoe, nantes_ride(), 2)
        assert await AlertMatch.all().count() == 0
        home = await web.get("/home")
        assert 'id="alerts-empty"' in home.text

        # one it finds, from another instance
        ride = await deliver(web, fed, zoe, samples.ride(), 3)
        [match] = await AlertMatch.all()
        assert (match.search_id, match.offer_id, match.member_id) == (saved.id, ride.id, alice.id)
        home = await web.get("/home")
        alerts_part = home.text.split('id="alerts"', 1)[1].split("</section>", 1)[0]
        assert ride.title in alerts_part and "Vers Grenoble" in alerts_part
        assert ">New<" in alerts_part
        again = await web.get("/home")  # seen now
        assert ">New<" not in again.text.split('id="alerts"', 1)[1].split("</section>", 1)[0]

        # delivered again (an Update, a boost): still one alert
        await deliver(web, fed, zoe, samples.ride(), 3)
        assert await AlertMatch.all().count() == 1

        # the private feed: made once, read without a session
        page = await web.get("/searches")
        made = await web.post("/searches/feed/new", data={"csrf_token": csrf_of(page.text)})
        found = re.search(r'id="alerts-url-value">([^<]+)<', made.text)
        assert made.status_code == 200 and found
        url = found.group(1)
        assert url.startswith(f"{BASE}/alerts/") and url.endswith(".atom")
        token = url.removeprefix(f"{BASE}/alerts/").removesuffix(".atom")
        assert token not in (await web.get("/searches")).text  # shown once
        root = parsed_feed(await reader.get(url))
        assert entry_titles(root) == [ride.title]
        [entry] = root.iter(f"{ATOM}entry")
        assert entry.findtext(f"{ATOM}id") == ride.ap_id
        link = entry.find(f"{ATOM}link[@rel='alternate']")
        assert link is not None and link.get("href", "").startswith(f"{BASE}/bookings/new?offer=")
        content = entry.findtext(f"{ATOM}content") or ""
        assert "Grenoble" in content and samples.RIDE_MEETING_ADDRESS not in content
        assert (await FeedToken.get(member_id=alice.id)).last_used_at is not None

        # revoked: 404, whatever it was
        page = await web.get("/searches")
        r = await web.post("/searches/feed/revoke", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 303
        assert (await reader.get(url)).status_code == 404
        assert (await reader.get("/alerts/nothing.atom")).status_code == 404


async def test_matching_follows_the_search_rules(
    fed: Federation, alice: LocalActor, bob: LocalActor
) -> None:
    """Local offers too; dates (a regular ride on any of its days), seats, status, and never
    the member's own offers."""
    body = samples.ride()  # every Monday and Thursday at 08:00, from in 3 days
    start = datetime.fromisoformat(body["starts_at"])
    days = [start.date() + timedelta(days=d) for d in range(1, 15)]
    runs = next(d for d in days if d.weekday() == 0)  # a Monday after its start
    idle = next(d for d in days if d.weekday() == 2)  # a Wednesday
    on_day = await alerts.save_search(
        alice, parse_search({"place": "Lyon", "from": runs.isoformat(), "to": runs.isoformat()})
    )
    off_day = await alerts.save_search(
        alice, parse_search({"place": "Lyon", "from": idle.isoformat(), "to": idle.isoformat()})
    )
    many_seats = await alerts.save_search(
        alice, parse_search({"place": "Lyon", "min_quantity": "4"})
    )
    bobs = await alerts.save_search(bob, parse_search({"kind": "ride"}))
    wanted = await alerts.save_search(alice, parse_search({"purpose": "request"}))
    assert wanted.purpose == "request"

    ride = await create_offer(fed, alice, body)  # alice's own: bob's search only
    assert {m.search_id for m in await AlertMatch.all()} == {bobs.id}
    other = await create_offer(fed, bob, samples.ride(title="Lyon → Grenoble, jeudi"))
    matched = {m.search_id for m in await AlertMatch.filter(offer_id=other.id)}
    assert matched == {on_day.id}  # not the wrong day, not 4 seats, not bob's own
    assert off_day.id not in matched and many_seats.id not in matched
    assert wanted.id not in matched  # a ride offered, not wanted

    for status in (OfferStatus.FULL, OfferStatus.CLOSED):  # found by a search, not open
        shut = await create_offer(fed, bob, samples.ride(title=f"Pas ouvert {status}"))
        assert await AlertMatch.filter(offer_id=shut.id).count() == 1
        await AlertMatch.filter(offer_id=shut.id).delete()
        await set_status(fed, bob, shut, status)
        assert await alerts.match_offer(shut) == 0
        assert await AlertMatch.filter(offer_id=shut.id).count() == 0
    assert ride.id


async def test_saved_searches_are_limited_and_private(
    app: Starlette, alice: LocalActor, bob: LocalActor
) -> None:
    bobs = await alerts.save_search(bob, parse_search({"kind": "stay"}))
    for n in range(alerts.MAX_SEARCHES):
        await alerts.save_search(alice, parse_search({"q": f"mot{n}"}))
    async with browser(app, "alice") as web:
        page = await web.get("/searches")
        csrf = csrf_of(page.text)
        r = await web.post("/searches", data={"csrf_token": csrf, "kind": "ride"})
        assert r.status_code == 409 and "delete one first" in r.text
        r = await web.post(f"/searches/{bobs.id}/delete", data={"csrf_token": csrf})
        assert r.status_code == 404 and await SavedSearch.exists(id=bobs.id)
        r = await web.post("/searches", data={"kind": "ride"})  # no CSRF token
        assert r.status_code == 403
        mine = await SavedSearch.filter(member_id=alice.id).first()
        assert mine is not None
        r = await web.post(f"/searches/{mine.id}/delete", data={"csrf_token": csrf})
        assert r.status_code == 303
        assert await SavedSearch.filter(member_id=alice.id).count() == alerts.MAX_SEARCHES - 1
        r = await web.post("/searches", data={"csrf_token": csrf, "kind": ""})
        assert r.status_code == 400 and "at least one criterion" in r.text
        unknown = {"csrf_token": csrf, "place": "Xqzwvk"}
        r = await web.post("/searches", data=unknown)
        assert r.status_code == 400 and "Xqzwvk" not in r.text.split("<main>")[0]
        assert await SavedSearch.filter(member_id=alice.id).count() == alerts.MAX_SEARCHES - 1
    async with browser(app, None) as anonymous:
        assert (await anonymous.get("/searches")).status_code == 303


# --- the coop's public feed -------------------------------------------------------------------


async def test_a_coops_feed_lists_its_public_offers_and_announcements(
    app: Starlette, fed: Federation, coop: LocalActor, bob: LocalActor
) -> None:
    ride = await create_offer(fed, bob, samples.ride())
    stay = await create_offer(fed, bob, samples.stay())
    gone = await create_offer(fed, bob, samples.ride(title="Annulé"))
    await set_status(fed, bob, gone, OfferStatus.CANCELLED)
    public = await posting.announce(
        fed, coop, posting.Draft("Assemblée générale <jeudi> & fête", "fr")
    )
    private = await posting.announce(fed, coop, posting.Draft("Entre nous seulement", "fr"))
    await Post.filter(id=private.id).update(visibility=Visibility.FOLLOWERS)
    async with browser(app, None) as anonymous:
        page = await anonymous.get("/c/velos")
        assert '<link rel="alternate" type="application/atom+xml"' in page.text
        assert 'href="/c/velos/feed.atom"' in (await anonymous.get("/")).text
        r = await anonymous.get("/c/velos/feed.atom")
        root = parsed_feed(r)
        titles = entry_titles(root)
        assert ride.title in titles and stay.title in titles
        assert "Assemblée générale <jeudi> & fête" in titles  # escaped by the serializer
        assert gone.title not in titles and not [t for t in titles if "Entre nous" in t]
        assert samples.EXACT_ADDRESS not in r.text
        contents = [e.find(f"{ATOM}content") for e in root.iter(f"{ATOM}entry")]
        post_content = next(c for c in contents if c is not None and c.get("type") == "html")
        assert "&lt;jeudi&gt;" in (post_content.text or "")
        assert public.ap_id in [e.findtext(f"{ATOM}id") for e in root.iter(f"{ATOM}entry")]
        assert (await anonymous.get("/c/nobody/feed.atom")).status_code == 404


def test_atom_holds_any_text_as_valid_xml() -> None:
    now = datetime.now(UTC)
    hostile = 'Vélo <script>alert("x")</script> & \x01\x0b fin \U0001f6b2'
    feed = Feed(
        id="tag:coop.test,2026:x",
        title=hostile,
        self_url=f"{BASE}/x.atom?a=1&b=2",
        updated=now,
        language="fr",
        entries=[
            Entry(
                id=f"{BASE}/offers/1",
                title=hostile,
                link=f"{BASE}/o?a=1&b=2",
                updated=now,
                summary=hostile,
            )
        ],
    )
    root = ET.fromstring(atom_bytes(feed))
    expected = 'Vélo <script>alert("x")</script> &  fin \U0001f6b2'
    assert root.findtext(f"{ATOM}title") == expected
    [entry] = root.iter(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}content") == expected
    assert entry.find(f"{ATOM}link") is not None
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"


def test_the_secret_feed_path_never_reaches_the_log() -> None:
    assert loggable_path("/alerts/s3cr3t-t0ken.atom") == "/alerts/<secret>"
    assert loggable_path("/calendar/s3cr3t.ics") == "/calendar/<secret>"


def test_every_string_of_the_alert_pages_is_in_the_catalogue() -> None:
    with (ROOT / "instance" / "locale" / "fr.po").open("rb") as fh:
        known = {m.id for m in read_po(fh, locale="fr") if m.id and m.string}
    used: set[str] = set()
    sources = [ROOT / "templates" / f"{name}.html" for name in ("_alerts", "searches", "search")]
    sources += [
        ROOT / "instance" / name
        for name in ("alerts_view.py", "routes/alerts.py", "routes/feeds.py")
    ]
    for path in sources:
        text = path.read_text()
        used |= set(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', text))
        used |= set(re.findall(r"_\('((?:[^'\\]|\\.)*)'\)", text))
    used |= {alerts.TooManySearches.public_message, alerts.EmptySearch.public_message}
    used |= {"No such search", "No such feed"}
    used |= {
        "Search saved: new offers it finds will show on your home page.",
        "Saved search deleted.",
    }
    assert len(used) > 25 and sorted(used - known) == []


async def test_many_saved_searches_match_as_each_one_alone(
    fed: Federation, alice: LocalActor, bob: LocalActor
) -> None:
    """Saved searches are sorted out in Python, then asked of the database in statements of
    ``FOUND_PER_STATEMENT``: for every offer, the searches recorded are exactly those
    ``search.offer_matches`` (the search's rule, one saved search at a time) finds, the
    author's own aside. More searches than one statement holds, every criterion mixed."""
    rng = random.Random(14)
    start = datetime.fromisoformat(samples.ride()["starts_at"])
    places = [None, (45.7578, 4.8320, 20.0), (47.2184, -1.5536, 5.0), (44.75, 5.37, 30.0)]
    dates = [None, (start - timedelta(days=1), None), (None, start - timedelta(days=1))]
    dates += [(start + timedelta(days=2), start + timedelta(days=9))]
    now = datetime.now(UTC)
    searches = []
    for n in range(alerts.FOUND_PER_STATEMENT + 25):
        place = rng.choice(places)
        date_from, date_to = rng.choice(dates) or (None, None)
        searches.append(
            await SavedSearch.create(
                member_id=(alice if n % 3 else bob).id,
                kind=rng.choice([None, "ride", "stay", "delivery_job"]),
                purpose=rng.choice([None, "offer", "request"]),
                latitude=place[0] if place else None,
                longitude=place[1] if place else None,
                radius_km=place[2] if place else 25.0,
                date_from=date_from,
                date_to=date_to,
                min_quantity=rng.choice([None, None, 1, 3, 4]),
                text=rng.choice([None, None, "lyon", "Grenoble", "Drôme", "zzz", "%"]),
                created_at=now,
            )
        )
    bodies = [samples.ride(), samples.stay(), samples.delivery_job(), nantes_ride()]
    for body in bodies:
        offer = await create_offer(fed, bob, body)
        recorded = {m.search_id for m in await AlertMatch.filter(offer_id=offer.id)}
        expected = {
            s.id
            for s in searches
            if s.member_id != bob.id and await offer_matches(offer, alerts.params_of(s))
        }
        assert recorded == expected, body["title"]
    assert await AlertMatch.all().count() > 0
    assert await alerts.match_offer(offer) == 0  # recorded once: nothing new, nothing twice
    assert {m.search_id for m in await AlertMatch.filter(offer_id=offer.id)} == expected
    await AlertMatch.filter(offer_id=offer.id, search_id=min(expected)).delete()
    assert await alerts.match_offer(offer) == 1
    assert await AlertMatch.filter(offer_id=offer.id).count() == len(expected)
