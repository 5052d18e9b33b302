"""Notifications: who is told of what (replies, mentions, followers, favourites, boosts,
booking events), once; the page (French and English, newest first, paged, read once shown,
"mark all read"), the unread count in the navigation, and ``GET /api/v1/notifications``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

from activitypub.bookings_input import BookingAsk
from federation.context import Federation
from federation.services.accounts import create_actor
from federation.services.bookings import request_booking
from federation.services.bookings_decide import accept_booking, decline_booking
from federation.services.bookings_lifecycle import cancel
from federation.services.bookings_messages import post_message
from federation.services.follows import follow
from federation.services.notifications import dedupe_key, notify
from federation.services.offers import create_offer
from instance.auth import create_token
from instance.interactions_view import WHAT
from models.actors import ActorKind, LocalActor
from models.notifications import Notification, NotificationKind
from models.offers import Offer
from tests import offer_samples as samples
from tests.conftest import TEST_DOMAIN
from tests.rig import peers
from tests.rig.peers import Signer
from tests.test_bookings_inbox import deliver, request
from tests.test_replies import ALICE, reply
from tests.test_web import HTML, log_in, set_password

ROOT = Path(__file__).resolve().parent.parent
BASE = f"https://{TEST_DOMAIN}"

sent, bob, yann = peers.sent, peers.bob, peers.yann


@pytest.fixture
async def alice(member: LocalActor) -> LocalActor:
    return await set_password(member)


@pytest.fixture
async def offer(fed: Federation, alice: LocalActor) -> Offer:
    return await create_offer(fed, alice, samples.ride())


@pytest.fixture
async def carol(fed: Federation, coop: LocalActor) -> LocalActor:
    return await set_password(
        await create_actor(ActorKind.MEMBER, "carol", name="Carol", coop=coop)
    )


async def told(recipient: LocalActor) -> list[tuple[str, str]]:
    """(kind, event) of what ``recipient`` was told, oldest first."""
    found = await Notification.filter(recipient_id=recipient.id).order_by("id")
    return [(n.kind.value, n.event) for n in found]


async def _many(recipient: LocalActor, count: int) -> None:
    start = datetime.now(UTC) - timedelta(hours=count)
    for n in range(count):
        await Notification.create(
            recipient_id=recipient.id,
            kind=NotificationKind.MENTION,
            actor_uri="https://peer.example/users/bob",
            actor_name="Bob",
            link="https://peer.example/@bob/1",
            text=f"message {n}",
            dedupe_key=f"mention:{recipient.id}:{n}",
            created_at=start + timedelta(hours=n),
        )


# --- who is told ----------------------------------------------------------------------------------


def test_the_key_names_the_event_and_fits_its_column() -> None:
    key = dedupe_key(NotificationKind.BOOKING, "accepted", 7, "https://p.example/b/1")
    assert key == "booking.accepted:7:https://p.example/b/1"
    long = dedupe_key(NotificationKind.REPLY, "", 7, "https://p.example/" + "x" * 480)
    assert len(long) < 500 and long.startswith("reply:7:sha256:")


async def test_notify_tells_once(fed: Federation, alice: LocalActor) -> None:
    args = {"actor_uri": "https://p.example/u/b", "actor_name": "B", "source": "https://p/1"}
    assert await notify(alice.id, NotificationKind.LIKE, **args)
    assert not await notify(alice.id, NotificationKind.LIKE, **args)
    assert await Notification.all().count() == 1


async def test_followers_from_here_and_elsewhere_are_told(
    client: httpx.AsyncClient, fed: Federation, alice: LocalActor, carol: LocalActor, bob: Signer
) -> None:
    remote = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{bob[0].ap_id}#follows/1",
        "type": "Follow",
        "actor": bob[0].ap_id,
        "object": ALICE,
    }
    assert await deliver(client, fed, remote, bob) == "done"
    await follow(fed, carol, ALICE)
    assert await told(alice) == [("follow", ""), ("follow", "")]
    actors = await Notification.filter(recipient_id=alice.id).values_list("actor_uri", flat=True)
    assert list(actors) == [bob[0].ap_id, f"{BASE}/u/carol"]


async def test_booking_events_tell_the_other_party(
    fed: Federation, alice: LocalActor, carol: LocalActor, offer: Offer
) -> None:
    asked = await request_booking(fed, carol, offer, BookingAsk(quantity=1, message="Bonjour"))
    assert await told(alice) == [("booking", "requested")]
    await accept_booking(fed, alice, asked)
    await post_message(fed, carol, asked, "Merci !")
    await cancel(fed, await asked.__class__.get(id=asked.id), "author", "Panne")
    assert await told(carol) == [
        ("booking", "accepted"),
        ("booking", "cancelled"),
    ]
    assert await told(alice) == [("booking", "requested"), ("booking", "message")]
    [message] = await Notification.filter(recipient_id=alice.id, dedupe_key__contains="message")
    assert message.text == f"{offer.title} — Merci !"
    assert message.link.startswith("/bookings/")
    second = await create_offer(fed, alice, samples.ride())
    other = await request_booking(fed, carol, second, BookingAsk(quantity=1))
    await decline_booking(fed, alice, other, "Complet")
    assert (await told(carol))[-1] == ("booking", "declined")


async def test_a_remote_request_tells_the_author(
    client: httpx.AsyncClient, fed: Federation, alice: LocalActor, offer: Offer, bob: Signer
) -> None:
    assert await deliver(client, fed, request(bob[0], offer.ap_id, quantity="1"), bob) == "done"
    assert await told(alice) == [("booking", "requested")]


# --- the page -------------------------------------------------------------------------------------


async def test_the_page_needs_a_login(client: httpx.AsyncClient) -> None:
    r = await client.get("/notifications", headers=HTML)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/notifications")


@pytest.mark.parametrize(
    "lang, texts",
    [
        ("en", ("replied to your offer", "favourited your offer", "followed you", "Notifications")),
        ("fr", ("a répondu à votre offre", "a mis votre offre en favori", "vous suit", "Tout")),
    ],
)
async def test_the_page_in_both_languages(
    client: httpx.AsyncClient,
    fed: Federation,
    alice: LocalActor,
    offer: Offer,
    bob: Signer,
    lang: str,
    texts: tuple[str, ...],
) -> None:
    assert await deliver(client, fed, reply(bob[0], 1, offer.ap_id, "<p>Je viens</p>"), bob)
    like = {"id": f"{bob[0].ap_id}#likes/1", "type": "Like", "actor": bob[0].ap_id}
    assert await deliver(client, fed, {**like, "object": offer.ap_id}, bob) == "done"
    follow_bob = {"id": f"{bob[0].ap_id}#f", "type": "Follow", "actor": bob[0].ap_id}
    assert await deliver(client, fed, {**follow_bob, "object": ALICE}, bob) == "done"
    client.headers.update(HTML)
    client.cookies.set("lang", lang)
    await log_in(client)
    before = await client.get("/my/offers")
    assert re.search(r'id="unread-count"[^>]*>3<', before.text), before.text
    page = await client.get("/notifications")
    assert page.status_code == 200
    for text in texts:
        assert text in page.text
    assert "Je viens" in page.text and "@bob@peer.example" in page.text
    assert f'href="/offers/{offer.local_uuid}#reply-' in page.text
    assert page.text.count('class="notification ') == 3
    assert page.text.index("followed you" if lang == "en" else "vous suit") < page.text.index(
        "replied to your offer" if lang == "en" else "a répondu"
    )  # newest first
    assert 'id="unread-count"' not in page.text  # read, now that they are shown
    assert await Notification.filter(read_at__isnull=True).count() == 0
    again = await client.get("/notifications")
    assert "unread" not in re.findall(r'class="notification ([^"]*)"', again.text)[0]


async def test_paged_and_all_marked_read(
    client: httpx.AsyncClient, fed: Federation, alice: LocalActor
) -> None:
    await _many(alice, 25)
    client.headers.update(HTML)
    token = await log_in(client)
    first = await client.get("/notifications")
    assert first.text.count('class="notification ') == 20
    assert "message 24" in first.text and "message 4" not in first.text
    assert 'href="/notifications?page=2"' in first.text
    assert await Notification.filter(read_at__isnull=True).count() == 5
    second = await client.get("/notifications?page=2")
    assert second.text.count('class="notification ') == 5 and "message 0" in second.text
    assert (await client.get("/notifications?page=x")).status_code == 400
    await Notification.filter(id__gt=0).update(read_at=None)  # the form marks them all
    r = await client.post("/notifications/read", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/notifications"
    assert await Notification.filter(read_at__isnull=True).count() == 0
    refused = await client.post("/notifications/read", data={"csrf_token": "wrong"})
    assert refused.status_code == 403


async def test_a_member_sees_only_their_own(
    client: httpx.AsyncClient, fed: Federation, alice: LocalActor, carol: LocalActor
) -> None:
    await _many(carol, 2)
    client.headers.update(HTML)
    await log_in(client)
    page = await client.get("/notifications")
    assert 'id="no-notifications"' in page.text
    assert await Notification.filter(read_at__isnull=True).count() == 2


# --- the API --------------------------------------------------------------------------------------


async def test_the_api_lists_them(
    client: httpx.AsyncClient, fed: Federation, alice: LocalActor, offer: Offer, bob: Signer
) -> None:
    assert await deliver(client, fed, reply(bob[0], 1, offer.ap_id, "<p>Oui</p>"), bob) == "done"
    assert (await client.get("/api/v1/notifications")).status_code == 401
    token = await create_token(alice)
    auth = {"Authorization": f"Bearer {token}"}
    listing = (await client.get("/api/v1/notifications", headers=auth)).json()
    assert (listing["count"], listing["unread"], listing["limit"]) == (1, 1, 20)
    [item] = listing["items"]
    assert (item["kind"], item["event"], item["text"], item["read"]) == (
        "reply",
        "offer",
        "Oui",
        False,
    )
    assert item["actor"] == {
        "id": bob[0].ap_id,
        "name": "Bob",
        "handle": "bob@peer.example",
        "url": "https://peer.example/@bob",
    }
    assert item["link"].startswith(f"{BASE}/offers/{offer.local_uuid}#reply-")
    assert item["object"] == offer.ap_id
    bad = await client.get("/api/v1/notifications?limit=-1", headers=auth)
    assert bad.status_code == 400
    capped = (await client.get("/api/v1/notifications?limit=1000", headers=auth)).json()
    assert capped["limit"] == 100
    doc = (await client.get("/api/openapi.json")).json()
    assert "get" in doc["paths"]["/api/v1/notifications"]
    assert {"kind", "event", "actor", "link"} <= set(
        doc["components"]["schemas"]["Notification"]["properties"]
    )


def test_every_string_of_the_pages_is_in_the_catalogue() -> None:
    with (ROOT / "instance" / "locale" / "fr.po").open("rb") as fh:
        catalog = read_po(fh, locale="fr")
    known = {m.id for m in catalog if m.id and m.string}
    used: set[str] = set(WHAT.values()) | {"Every notification is marked as read."}
    used |= {"Notifications", "Unread"}  # the navigation's link (base.html)
    for name in ("notifications", "_interactions"):
        source = (ROOT / "templates" / f"{name}.html").read_text()
        used |= set(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', source))
        used |= set(re.findall(r"_\('((?:[^'\\]|\\.)*)'\)", source))
    assert sorted(used - known) == []
