"""Domain blocks in process: a suspended domain refused at the inbox before any key fetch, never
contacted, purged; a limited one kept out of search unless followed; subdomains; Mastodon's
CSV both ways; our own domain refused; the admin page (admins only, CSRF) and /about/blocks.

Requests that must not leave go to a real loopback server (``RemoteServer``) whose recorded
requests are counted; the inbox is posted to with real signatures."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from federation import blocks
from federation.context import Federation
from federation.delivery import deliver_due, publish
from federation.services.accounts import create_actor
from federation.services.domain_blocks import (
    InvalidDomain,
    OwnDomain,
    block_domain,
    normalize_domain,
    obfuscated,
    unblock_domain,
)
from federation.services.domain_blocks_csv import HEADER, export_blocks, import_csv
from federation.services.search import SearchParams, search_offers
from instance.app import create_app
from instance.config import parse_config
from instance.passwords import hash_password
from models.activities import InboxItem
from models.actors import ActorKind, LocalActor, RemoteActor
from models.bookings import Booking, BookingState
from models.delivery import Delivery, DeliveryState
from models.follows import Follow, FollowState
from models.moderation import BlockSeverity, DomainBlock
from models.notifications import Notification, NotificationKind
from models.offers import Offer, OfferKind, Purpose
from models.posts import Post, PostKind, Reaction, ReactionKind, Visibility
from tests.conftest import TEST_DOMAIN
from tests.rig.canned import actor_document, keypair, post_signed, remote_actor
from tests.rig.pages import csrf_of
from tests.rig.remote import RemoteServer
from tests.test_web import HTML, PASSWORD

BASE = f"https://{TEST_DOMAIN}"
NOW = datetime.now(UTC)


@pytest.fixture(autouse=True)
async def fresh_rules(db: None) -> AsyncIterator[None]:
    """Each test starts and ends with this process's copy of the rules forgotten."""
    blocks.invalidate()
    yield
    await DomainBlock.all().delete()
    blocks.invalidate()


def follow_of(actor_id: str, target: str, n: int = 1) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor_id}#follows/{n}",
        "type": "Follow",
        "actor": actor_id,
        "object": target,
    }


async def remote_offer(author: str, title: str = "Lyon → Die") -> Offer:
    host = author.split("/")[2]
    return await Offer.create(
        ap_id=f"https://{host}/offers/{uuid.uuid4()}",
        author_uri=author,
        instance_domain=host,
        kind=OfferKind.RIDE,
        purpose=Purpose.OFFER,
        title=title,
        starts_at=NOW + timedelta(days=2),
        published_at=NOW,
        updated_at=NOW,
        expires_at=NOW + timedelta(days=3),
    )


# --- the rules ----------------------------------------------------------------------------------


def test_a_block_covers_subdomains_and_a_port_only_itself() -> None:
    assert blocks.covers("example.org", "a.b.example.org")
    assert blocks.covers("example.org", "example.org:8443")
    assert blocks.covers("example.org", "sub.example.org:8443")
    assert not blocks.covers("example.org", "badexample.org")
    assert not blocks.covers("example.org", "example.org.evil")
    assert blocks.covers("127.0.0.1:8001", "127.0.0.1:8001")
    assert not blocks.covers("127.0.0.1:8001", "127.0.0.1:8002")
    assert not blocks.covers("0.0.1", "127.0.0.1")  # an address is not split into labels


def test_domains_are_normalised_and_garbage_refused() -> None:
    assert normalize_domain(" https://Bad.Example/@zoe ") == "bad.example"
    assert normalize_domain("*.bad.example.") == "bad.example"
    assert normalize_domain("café.example") == "xn--caf-dma.example"
    assert normalize_domain("127.0.0.1:8001") == "127.0.0.1:8001"
    for bad in ("", "bad example", "a..b", "x" * 300, "host:99999", "<script>"):
        with pytest.raises(InvalidDomain):
            normalize_domain(bad)


def test_obfuscation_as_mastodon() -> None:
    assert obfuscated("bad.example.org") == "bad.*******.org"
    assert obfuscated("ab.cd") == "ab.*d"


async def test_our_own_domain_cannot_be_blocked(fed: Federation) -> None:
    for own in (TEST_DOMAIN, "COOP.test", "test", f"https://{TEST_DOMAIN}/u/alice"):
        with pytest.raises(OwnDomain):
            await block_domain(fed, own, BlockSeverity.SUSPEND)
    assert await DomainBlock.all().count() == 0


async def test_the_most_specific_block_wins(fed: Federation) -> None:
    await block_domain(fed, "example.org", BlockSeverity.LIMIT)
    await block_domain(fed, "bad.example.org", BlockSeverity.SUSPEND)
    assert await blocks.severity_of("x.bad.example.org") == BlockSeverity.SUSPEND
    assert await blocks.severity_of("good.example.org:443") == BlockSeverity.LIMIT
    assert await blocks.severity_of("example.net") is None


# --- the inbox ----------------------------------------------------------------------------------


async def test_inbox_refuses_a_suspended_domain_before_any_key_fetch(
    fed: Federation, client: httpx.AsyncClient, coop: LocalActor, remote: RemoteServer
) -> None:
    key = keypair("a")
    doc = actor_document("zoe", remote.host, public_pem=key.public_pem, scheme="http")
    remote.serve_json("/users/zoe", doc)
    follow = follow_of(doc["id"], f"{BASE}/c/velos")
    key_id = doc["publicKey"]["id"]
    await block_domain(fed, remote.host, BlockSeverity.SUSPEND)

    r = await post_signed(client, f"{BASE}/inbox", follow, key_id, key.private_pem)
    assert r.status_code == 403
    assert r.json()["error"] == blocks.DomainSuspended.public_message
    assert remote.requests == []  # the key was never fetched
    assert await InboxItem.all().count() == 0

    # a subdomain of a suspended domain, and a key on it for an actor elsewhere: refused too
    await block_domain(fed, "remote.example", BlockSeverity.SUSPEND)
    for actor, kid in (
        ("https://social.remote.example/users/yann", "https://social.remote.example/users/yann#k"),
        ("https://fine.example/users/yann", "https://a.remote.example/keys/1"),
    ):
        activity = follow_of(actor, f"{BASE}/c/velos")
        r = await post_signed(client, f"{BASE}/inbox", activity, kid, key.private_pem)
        assert r.status_code == 403, (actor, r.text)
    assert await InboxItem.all().count() == 0

    # lifted: the same request is verified (the key fetched) and stored
    await unblock_domain(remote.host)
    r = await post_signed(client, f"{BASE}/inbox", follow, key_id, key.private_pem)
    assert r.status_code == 202, r.text
    assert [q.path for q in remote.gets] == ["/users/zoe"]
    assert await InboxItem.all().count() == 1


# --- nothing goes out ---------------------------------------------------------------------------


async def test_nothing_is_fetched_from_or_delivered_to_a_suspended_domain(
    fed: Federation, coop: LocalActor, remote: RemoteServer
) -> None:
    remote.serve_json("/doc", {"id": remote.url("/doc")})
    inbox = remote.url("/inbox")
    before = await publish(fed, coop, _note(fed, "before"), [inbox])
    assert await Delivery.filter(activity_id=before.id).count() == 1
    await block_domain(fed, remote.host, BlockSeverity.SUSPEND)

    with pytest.raises(blocks.DomainSuspended):
        await fed.http.get_json(remote.url("/doc"), signer=None)
    after = await publish(fed, coop, _note(fed, "after"), [inbox, "https://other.example/inbox"])
    assert await Delivery.filter(activity_id=after.id).values_list("host", flat=True) == [
        "other.example"
    ]
    # what was queued before is dropped with the reason; one queued behind our back too
    late = await Delivery.create(
        activity=before, inbox=remote.url("/u/x/inbox"), host=remote.host, next_attempt_at=NOW
    )
    await Delivery.filter(host="other.example").delete()
    while await deliver_due(fed):
        pass
    rows = await Delivery.filter(host=remote.host)
    assert {(r.state, r.last_error) for r in rows} == {(DeliveryState.FAILED, "domain suspended")}
    assert late.id in {r.id for r in rows}
    assert remote.requests == []


def _note(fed: Federation, text: str) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": fed.urls.new_activity_id(),
        "type": "Create",
        "actor": f"{BASE}/c/velos",
        "object": {"id": f"{BASE}/posts/{uuid.uuid4()}", "type": "Note", "content": text},
    }


# --- purge --------------------------------------------------------------------------------------


async def test_suspending_purges_what_we_keep_of_the_domain(
    fed: Federation, coop: LocalActor, member: LocalActor
) -> None:
    zoe, _ = await remote_actor("zoe", "social.bad.example")
    yann, _ = await remote_actor("yann", "fine.example", key=keypair("b"))
    coop_uri, alice_uri = fed.urls.actor(coop), fed.urls.actor(member)
    for who in (zoe, yann):
        await Follow.create(
            ap_id=f"{who.ap_id}#f", follower_uri=who.ap_id, target_uri=coop_uri,
            remote_follower=who, local_target=coop, state=FollowState.ACCEPTED,
        )  # fmt: skip
    await Follow.create(
        ap_id=f"{BASE}/activities/{uuid.uuid4()}", follower_uri=alice_uri, target_uri=zoe.ap_id,
        local_follower=member, remote_target=zoe, state=FollowState.ACCEPTED,
    )  # fmt: skip
    theirs, kept = await remote_offer(zoe.ap_id), await remote_offer(yann.ap_id)
    await Post.create(
        ap_id=f"{zoe.ap_id}/statuses/1", author_uri=zoe.ap_id, kind=PostKind.NOTE,
        visibility=Visibility.PUBLIC, content="<p>hi</p>", published_at=NOW, updated_at=NOW,
    )  # fmt: skip
    await Reaction.create(
        ap_id=f"{zoe.ap_id}#like", kind=ReactionKind.LIKE, actor_uri=zoe.ap_id,
        object_uri=f"{BASE}/offers/x", created_at=NOW,
    )  # fmt: skip
    await Notification.create(
        recipient=member, kind=NotificationKind.LIKE, actor_uri=zoe.ap_id,
        dedupe_key=f"{zoe.ap_id}#like", created_at=NOW,
    )  # fmt: skip
    booking = await Booking.create(
        local_uuid=str(uuid.uuid4()), ap_id=f"{BASE}/bookings/{uuid.uuid4()}",
        offer=theirs, offer_uri=theirs.ap_id, kind=OfferKind.RIDE, purpose=Purpose.OFFER,
        title="Lyon → Die", booker=member, booker_uri=alice_uri, author_uri=zoe.ap_id,
        quantity=1, happens_at=NOW + timedelta(days=2), state=BookingState.ACCEPTED,
        private={"phone": "06"}, created_at=NOW, updated_at=NOW,
    )  # fmt: skip

    _, purged = await block_domain(fed, "bad.example", BlockSeverity.SUSPEND)

    assert purged is not None and (purged.actors, purged.offers, purged.bookings) == (1, 1, 1)
    assert not await RemoteActor.exists(id=zoe.id) and await RemoteActor.exists(id=yann.id)
    assert await Offer.filter(id__in=[theirs.id, kept.id]).values_list("id", flat=True) == [kept.id]
    assert await Post.all().count() == 0 and await Reaction.all().count() == 0
    assert await Notification.all().count() == 0
    assert await Follow.all().values_list("follower_uri", flat=True) == [yann.ap_id]
    cancelled = await Booking.get(id=booking.id)
    assert cancelled.state == BookingState.CANCELLED and cancelled.private == {}


# --- limit --------------------------------------------------------------------------------------


async def test_a_limited_domain_stays_out_of_search_unless_followed(
    fed: Federation, coop: LocalActor, member: LocalActor
) -> None:
    zoe, _ = await remote_actor("zoe", "social.quiet.example")
    other = await create_actor(ActorKind.MEMBER, "bob", name="Bob", coop=coop)
    limited = await remote_offer(zoe.ap_id, "Limited")
    open_ = await remote_offer("https://fine.example/users/yann", "Fine")
    await Follow.create(
        ap_id=f"{BASE}/activities/{uuid.uuid4()}", follower_uri=fed.urls.actor(member),
        target_uri=zoe.ap_id, local_follower=member, remote_target=zoe,
        state=FollowState.ACCEPTED,
    )  # fmt: skip

    def titles(found: list[Offer]) -> set[str]:
        return {o.title for o in found}

    assert titles(await search_offers(SearchParams())) == {"Limited", "Fine"}
    _, purged = await block_domain(fed, "quiet.example", BlockSeverity.LIMIT)
    assert purged is None and await Offer.exists(id=limited.id)  # kept, not purged
    assert titles(await search_offers(SearchParams())) == {open_.title}
    assert titles(await search_offers(SearchParams(), other)) == {open_.title}
    assert titles(await search_offers(SearchParams(), member)) == {"Limited", "Fine"}


# --- Mastodon's CSV -----------------------------------------------------------------------------

MASTODON_CSV = (
    "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
    "spam.example,suspend,true,true,Spam,false\n"
    'loud.example,silence,false,false,"Too loud, sometimes",true\n'
    "not a domain,suspend,false,false,,false\n"
    "odd.example,noop,false,false,,false\n"
    f"{TEST_DOMAIN},suspend,false,false,,false\n"
    "flag.example,suspend,maybe,false,,false\n"
    ",suspend,false,false,,false\n"
)


async def test_csv_import_keeps_valid_lines_and_reports_the_others(fed: Federation) -> None:
    report = await import_csv(fed, MASTODON_CSV)
    assert report.blocked == ["spam.example", "loud.example"]
    assert [(r.line, r.text) for r in report.refused] == [
        (4, "not a domain"),
        (5, "odd.example"),
        (6, TEST_DOMAIN),
        (7, "flag.example"),
        (8, ""),
    ]
    reasons = [r.reason for r in report.refused]
    assert reasons[0] == "That is not a domain name" and reasons[2] == OwnDomain.public_message
    loud = await DomainBlock.get(domain="loud.example")
    assert (loud.severity, loud.obfuscate, loud.public_comment) == (
        BlockSeverity.LIMIT,
        True,
        "Too loud, sometimes",
    )
    again = await import_csv(fed, MASTODON_CSV)
    assert again.blocked == [] and again.refused[0].reason == "already blocked"


async def test_csv_round_trip(fed: Federation) -> None:
    await import_csv(fed, MASTODON_CSV)
    exported = await export_blocks()
    lines = exported.splitlines()
    assert lines[0] == ",".join(HEADER)
    assert lines[1:] == [
        'loud.example,silence,false,false,"Too loud, sometimes",true',
        "spam.example,suspend,true,true,Spam,false",
    ]
    await DomainBlock.all().delete()
    blocks.invalidate()
    report = await import_csv(fed, exported)
    assert report.refused == [] and sorted(report.blocked) == ["loud.example", "spam.example"]
    assert await export_blocks() == exported


# --- the pages ----------------------------------------------------------------------------------


def _app(fed: Federation, database_url: str, public: bool = False) -> Any:
    config = parse_config(
        {
            "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
            "database": {"url": database_url},
            "moderation": {"public_blocklist": public},
        }
    )
    return create_app(config, run_worker=False, fed=fed)


@asynccontextmanager
async def _client(app: Any, username: str | None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=HTML) as client:
        if username:
            page = await client.get("/login")
            data = {"csrf_token": csrf_of(page.text), "username": username, "password": PASSWORD}
            assert (await client.post("/login", data=data)).status_code == 303
        yield client


async def test_the_admin_page_needs_an_admin_and_its_forms_a_csrf_token(
    fed: Federation, coop: LocalActor, database_url: str
) -> None:
    admin = await create_actor(
        ActorKind.MEMBER, "camille", coop=coop, password_hash=hash_password(PASSWORD)
    )
    admin.is_admin = True
    await admin.save()
    await create_actor(ActorKind.MEMBER, "bob", coop=coop, password_hash=hash_password(PASSWORD))
    app = _app(fed, database_url)
    async with _client(app, None) as anonymous:
        r = await anonymous.get("/admin/blocks")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    async with _client(app, "bob") as bob:
        assert (await bob.get("/admin/blocks")).status_code == 403
        token = csrf_of((await bob.get("/my/offers")).text)
        r = await bob.post("/admin/blocks", data={"csrf_token": token, "domain": "x.example"})
        assert r.status_code == 403
    async with _client(app, "camille") as web:
        page = await web.get("/admin/blocks")
        assert page.status_code == 200 and "No domain is blocked." in page.text
        assert (await web.post("/admin/blocks", data={"domain": "x.example"})).status_code == 403
        assert await DomainBlock.all().count() == 0
        token = csrf_of(page.text)
        form = {
            "csrf_token": token,
            "domain": "Spam.Example",
            "severity": "suspend",
            "public_comment": "Spam",
            "private_comment": "reports #12",
            "obfuscate": "on",
        }
        r = await web.post("/admin/blocks", data=form)
        assert r.status_code == 303
        page = await web.get("/admin/blocks")
        assert 'id="block-spam.example" data-severity="suspend"' in page.text
        assert "spam.example suspended." in page.text and "reports #12" in page.text
        r = await web.post("/admin/blocks", data={**form, "domain": TEST_DOMAIN})
        assert "cannot be blocked" in (await web.get("/admin/blocks")).text

        csv_file = {"file": ("blocks.csv", MASTODON_CSV.encode(), "text/csv")}
        r = await web.post("/admin/blocks/import", data={"csrf_token": token}, files=csv_file)
        assert r.status_code == 200, r.text
        assert "1 domain(s) blocked." in r.text and 'data-line="4"' in r.text
        export = await web.get("/admin/blocks/export.csv")
        assert export.headers["content-type"].startswith("text/csv")
        assert export.text.splitlines()[0] == ",".join(HEADER)
        assert {line.split(",")[0] for line in export.text.splitlines()[1:]} == {
            "spam.example",
            "loud.example",
        }
        lift = {"csrf_token": token, "domain": "loud.example"}
        r = await web.post("/admin/blocks/remove", data=lift)
        assert r.status_code == 303 and not await DomainBlock.exists(domain="loud.example")

        french = await web.get("/admin/blocks?lang=fr")
        assert "Domaines bloqués" in french.text and "Suspendre" in french.text


async def test_the_public_list_only_when_published(fed: Federation, database_url: str) -> None:
    await block_domain(
        fed, "bad.example.org", BlockSeverity.SUSPEND, public_comment="Harcèlement",
        private_comment="secret note", obfuscate=True,
    )  # fmt: skip
    await block_domain(fed, "loud.example", BlockSeverity.LIMIT, public_comment="Spam")
    async with _client(_app(fed, database_url), None) as closed:
        assert (await closed.get("/about/blocks")).status_code == 404
    async with _client(_app(fed, database_url, public=True), None) as web:
        page = await web.get("/about/blocks")
        assert page.status_code == 200
        assert "bad.*******.org" in page.text and "bad.example.org" not in page.text
        assert "Harcèlement" in page.text and "secret note" not in page.text
        assert "loud.example" in page.text
        french = await web.get("/about/blocks", headers={"Accept-Language": "fr"})
        assert "Serveurs modérés" in french.text and "Limiter" in french.text


async def test_the_search_page_shows_a_limited_offer_to_its_authors_followers_only(
    fed: Federation, coop: LocalActor, database_url: str
) -> None:
    zoe, _ = await remote_actor("zoe", "quiet.example")
    dora = await create_actor(
        ActorKind.MEMBER, "dora", coop=coop, password_hash=hash_password(PASSWORD)
    )
    await Follow.create(
        ap_id=f"{BASE}/activities/{uuid.uuid4()}", follower_uri=fed.urls.actor(dora),
        target_uri=zoe.ap_id, local_follower=dora, remote_target=zoe,
        state=FollowState.ACCEPTED,
    )  # fmt: skip
    await remote_offer(zoe.ap_id, "Trajet discret")
    await block_domain(fed, "quiet.example", BlockSeverity.LIMIT)
    app = _app(fed, database_url)
    async with _client(app, None) as anonymous:
        page = await anonymous.get("/search?q=discret")
        assert page.status_code == 200 and "Trajet discret" not in page.text
    async with _client(app, "dora") as follower:
        assert "Trajet discret" in (await follower.get("/search?q=discret")).text
