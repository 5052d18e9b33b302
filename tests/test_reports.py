"""Reports in process: a member reports a local offer, a remote post or a remote account (the form
checks what it is given), a forwarded report is a ``Flag`` from the instance actor; ``Flag``s
built as Mastodon and GoToSocial build them, posted signed to the inbox, reach ``/admin/reports``
with what they report; a redelivery makes one report, a report about someone else's content
is ignored, a domain blocked with ``reject_reports`` is not heard; the admins close reports by
dismissing them, silencing the account or removing the offer.

Signatures are real; outgoing HTTP goes to an in-process transport that records it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from activitypub.apobject import APObject
from activitypub.flags import MAX_OBJECTS, flag_to_as, read_flag
from activitypub.urls import path_for
from federation import blocks
from federation.context import Federation
from federation.inbox import process_due
from federation.services import posting
from federation.services.accounts import create_actor
from federation.services.domain_blocks import block_domain
from federation.services.offers import create_offer
from federation.services.reports import on_flag
from models.activities import Activity, InboxItem, InboxState
from models.actors import ActorKind, LocalActor, RemoteActor
from models.delivery import Delivery
from models.errors import Malformed, NotFound
from models.moderation import (
    ActionKind,
    BlockSeverity,
    DomainBlock,
    ModerationAction,
    Report,
    ReportState,
)
from models.notifications import Notification, NotificationKind
from models.offers import Offer
from models.posts import Post, PostKind, Visibility
from tests import offer_samples as samples
from tests.conftest import FIXTURES, TEST_DOMAIN
from tests.rig.canned import cache_with_key, document_at, keypair, offline, post_signed
from tests.rig.canned import remote_actor as canned_actor
from tests.rig.pages import csrf_of
from tests.rig.web_clients import browser
from tests.test_web import set_password

BASE = f"https://{TEST_DOMAIN}"
ALICE = f"{BASE}/u/alice"
NOW = datetime.now(UTC)


@pytest.fixture(autouse=True)
async def sent(fed: Federation) -> AsyncIterator[list[httpx.Request]]:
    blocks.invalidate()
    yield await offline(fed)
    await DomainBlock.all().delete()
    blocks.invalidate()


@pytest.fixture
async def camille(coop: LocalActor) -> LocalActor:
    admin = await create_actor(ActorKind.MEMBER, "camille", name="Camille", coop=coop)
    admin.is_admin = True
    return await set_password(admin)


@pytest.fixture
async def as_camille(app: Starlette, camille: LocalActor) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app, "camille") as client:
        yield client


@pytest.fixture
async def zoe(fed: Federation) -> RemoteActor:
    actor, _ = await canned_actor("zoe", key=keypair("a"))
    return actor


async def remote_post(author: RemoteActor, text: str = "<p>Achetez mes vélos volés</p>") -> Post:
    return await Post.create(
        ap_id=f"https://{author.domain}/users/{author.username}/statuses/{uuid.uuid4().int}",
        author_uri=author.ap_id,
        author_name=author.name,
        author_handle=f"@{author.handle}",
        kind=PostKind.NOTE,
        visibility=Visibility.PUBLIC,
        content=text,
        published_at=NOW,
        updated_at=NOW,
    )


def fixture_flag(name: str, **ids: str) -> dict[str, Any]:
    """A Flag fixture about this instance: its host put in, and the placeholder ids replaced."""
    text = (FIXTURES / name).read_text(encoding="utf-8").replace("coopub.example", TEST_DOMAIN)
    doc = json.loads(text)
    placeholders = [o for o in doc["object"] if "/u/" not in o]
    for placeholder, real in zip(placeholders, ids.values(), strict=True):
        doc["object"][doc["object"].index(placeholder)] = real
    return dict(doc)


async def instance_actor_of(host: str, path: str, label: str) -> tuple[RemoteActor, str]:
    """A remote server's instance actor (the sender of its Flags), cached with a test key."""
    key = keypair(label)
    doc = document_at(f"https://{host}{path}", public_pem=key.public_pem, actor_type="Application")
    return await cache_with_key(doc, key), key.private_pem


async def deliver_flag(
    client: httpx.AsyncClient, flag: dict[str, Any], signer: tuple[RemoteActor, str]
) -> httpx.Response:
    actor, pem = signer
    assert actor.key_id
    return await post_signed(client, f"{BASE}/inbox", flag, actor.key_id, pem)


async def process(fed: Federation) -> None:
    while await process_due(fed):
        pass


# --- the Flag itself ----------------------------------------------------------------------------


def test_flags_are_read_as_mastodon_and_gotosocial_send_them() -> None:
    mastodon = read_flag(APObject(json.loads((FIXTURES / "mastodon-flag.json").read_text())))
    assert mastodon.actor == "https://mastodon.example/actor"
    assert mastodon.object_ids[0] == "https://coopub.example/u/alice"
    assert mastodon.comment.startswith("Spam: the same ride")
    gts = json.loads((FIXTURES / "gotosocial-flag.json").read_text())
    assert read_flag(APObject(gts)).id == "https://gts.example/reports/01GP3AWY4CRDVRNZKW0TEAMB5R"
    alone = read_flag(APObject({**gts, "object": "https://coopub.example/u/alice"}))
    assert alone.object_ids == ["https://coopub.example/u/alice"]
    html = read_flag(APObject({**gts, "content": "<p>Spam &amp; <b>scam</b></p>"}))
    assert html.comment == "Spam & scam"
    assert read_flag(APObject({**gts, "content": None})).comment == ""
    for bad in (
        {"object": []},
        {"object": None},
        {"object": ["javascript:alert(1)"]},
        {"object": [{"type": "Note"}]},
        {"object": [f"https://x.example/{n}" for n in range(MAX_OBJECTS + 1)]},
        {"content": {"en": "map"}},
        {"type": "Like"},
    ):
        with pytest.raises(Malformed):
            read_flag(APObject({**gts, **bad}))


def test_the_flag_we_send_is_mastodons() -> None:
    flag = flag_to_as(
        f"{BASE}/activities/1",
        f"{BASE}/actor",
        "https://remote.example/users/zoe",
        ["https://remote.example/users/zoe/statuses/1", "https://remote.example/users/zoe"],
        "Spam",
    )
    assert flag == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{BASE}/activities/1",
        "type": "Flag",
        "actor": f"{BASE}/actor",
        "content": "Spam",
        "object": [
            "https://remote.example/users/zoe",
            "https://remote.example/users/zoe/statuses/1",
        ],
    }
    with pytest.raises(Malformed):
        flag_to_as(f"{BASE}/activities/2", f"{BASE}/actor", "mailto:zoe@x", [], "")


# --- a member reports ---------------------------------------------------------------------------


async def test_a_member_reports_a_local_offer_and_the_admins_see_it(
    fed: Federation,
    alice: LocalActor,
    bob: LocalActor,
    camille: LocalActor,
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    as_camille: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
) -> None:
    offer = await create_offer(fed, alice, samples.ride(title="Lyon → Die <b>louche</b>"))
    page = await as_bob.get(f"/offers/{offer.local_uuid}")
    assert 'id="report-offer"' in page.text
    assert 'id="report-offer"' not in (await as_alice.get(f"/offers/{offer.local_uuid}")).text
    assert 'id="report-offer"' not in (await anonymous.get(f"/offers/{offer.local_uuid}")).text
    form = await as_bob.get("/report", params={"offer": offer.ap_id})
    assert form.status_code == 200, form.text
    assert "Lyon → Die &lt;b&gt;louche&lt;/b&gt;" in form.text
    assert "@alice@coop.test" in form.text
    assert 'name="forward"' not in form.text  # a local account: nothing to forward
    data = {
        "csrf_token": csrf_of(form.text),
        "offer": offer.ap_id,
        "comment": "Cette annonce demande un paiement <script>d'avance</script>",
        "forward": "on",
    }
    r = await as_bob.post("/report", data=data)
    assert r.status_code == 303 and r.headers["location"] == f"/offers/{offer.local_uuid}"
    [report] = await Report.all()
    assert report.reporter_id == bob.id and report.origin_uri is None
    assert report.target_uri == ALICE and report.object_uris == [offer.ap_id]
    assert report.state == ReportState.OPEN and not report.forward
    assert not await Activity.filter(type="Flag").exists()
    [told] = await Notification.filter(kind=NotificationKind.MODERATION)
    assert told.recipient_id == camille.id and told.link == f"/admin/reports/{report.id}"

    listing = await as_camille.get("/admin/reports")
    assert listing.status_code == 200
    assert f'id="report-{report.id}" data-state="open"' in listing.text
    assert "Lyon → Die &lt;b&gt;louche&lt;/b&gt;" in listing.text
    assert "&lt;script&gt;d&#39;avance&lt;/script&gt;" in listing.text
    assert "Reported by Bob" in listing.text
    notifications = await as_camille.get("/notifications")
    assert "reported an account" in notifications.text
    assert f"/admin/reports/{report.id}" in notifications.text
    french = await as_camille.get("/admin/reports", headers={"Accept-Language": "fr"})
    assert "Signalements" in french.text
    assert (await as_bob.get("/admin/reports")).status_code == 403
    assert (await anonymous.get("/admin/reports")).status_code == 303


async def test_the_form_refuses_what_cannot_be_reported(
    fed: Federation,
    alice: LocalActor,
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
) -> None:
    offer = await create_offer(fed, alice, samples.ride())
    r = await anonymous.get("/report", params={"offer": offer.ap_id})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    cases = [
        ({"offer": "https://nowhere.example/offers/1"}, 404, "No such offer"),
        ({"post": f"{BASE}/posts/{uuid.uuid4()}"}, 404, "No such post"),
        ({"account": "https://nowhere.example/users/x"}, 404, "No such account"),
        ({"account": f"{BASE}/actor"}, 404, "No such account"),
        ({}, 400, "Say which offer, post or account you report"),
        ({"offer": offer.ap_id, "account": ALICE}, 400, "one offer, post or account at a time"),
    ]
    for params, status, message in cases:
        r = await as_bob.get("/report", params=params)
        assert r.status_code == status, (params, r.text)
        assert message in r.text, params
    own = await as_alice.get("/report", params={"offer": offer.ap_id})
    assert own.status_code == 409 and "cannot report your own" in own.text
    french = await as_bob.get(
        "/report", params={"offer": "https://x.example/o"}, headers={"Accept-Language": "fr"}
    )
    assert french.status_code == 404 and "No such offer" not in french.text
    token = csrf_of((await as_bob.get("/report", params={"offer": offer.ap_id})).text)
    r = await as_bob.post("/report", data={"offer": offer.ap_id, "comment": "x"})
    assert r.status_code == 403  # no CSRF token
    r = await as_bob.post("/report", data={"csrf_token": token, "offer": "https://x.example/o"})
    assert r.status_code == 404 and "No such offer" in r.text
    assert await Report.all().count() == 0


async def test_a_remote_post_forwarded_is_a_flag_from_the_instance_actor(
    fed: Federation,
    bob: LocalActor,
    camille: LocalActor,
    as_bob: httpx.AsyncClient,
    zoe: RemoteActor,
) -> None:
    post = await remote_post(zoe)
    feed_page = await as_bob.get("/report", params={"post": post.ap_id})
    assert feed_page.status_code == 200
    assert "Achetez mes vélos volés" in feed_page.text
    assert "Forward an anonymous copy to the moderators of remote.example" in feed_page.text
    data = {
        "csrf_token": csrf_of(feed_page.text),
        "post": post.ap_id,
        "comment": "Vélos volés",
        "forward": "on",
    }
    assert (await as_bob.post("/report", data=data)).status_code == 303
    report = await Report.get(target_uri=zoe.ap_id)
    assert report.forward and report.forwarded_at is not None
    assert report.object_uris == [post.ap_id]
    [activity] = await Activity.filter(type="Flag")
    instance = await LocalActor.get(kind=ActorKind.INSTANCE)
    assert activity.actor_id == instance.id and report.activity_id == activity.ap_id
    flag = activity.payload
    assert flag["actor"] == f"{BASE}/actor"
    assert flag["object"] == [zoe.ap_id, post.ap_id]
    assert flag["content"] == "Vélos volés"
    assert "bob" not in json.dumps(flag).lower()  # anonymous
    [delivery] = await Delivery.filter(activity_id=activity.id)
    assert delivery.inbox == zoe.shared_inbox == "https://remote.example/inbox"


async def test_a_remote_account_reported_without_forwarding(
    fed: Federation, bob: LocalActor, as_bob: httpx.AsyncClient, zoe: RemoteActor
) -> None:
    form = await as_bob.get("/report", params={"account": zoe.ap_id})
    assert form.status_code == 200 and "@zoe@remote.example" in form.text
    data = {"csrf_token": csrf_of(form.text), "account": zoe.ap_id, "comment": "Insultes"}
    assert (await as_bob.post("/report", data=data)).status_code == 303
    report = await Report.get(target_uri=zoe.ap_id)
    assert report.object_uris == [] and not report.forward and report.forwarded_at is None
    assert not await Activity.filter(type="Flag").exists()


async def test_an_offer_whose_author_we_no_longer_hold_is_reported_without_forwarding(
    fed: Federation, bob: LocalActor, as_bob: httpx.AsyncClient
) -> None:
    offer = await Offer.create(
        ap_id="https://gone.example/offers/1",
        author_uri="https://gone.example/users/ghost",
        instance_domain="gone.example",
        kind="ride",
        purpose="offer",
        title="Trajet orphelin",
        starts_at=NOW,
        published_at=NOW,
        updated_at=NOW,
        expires_at=NOW,
    )
    form = await as_bob.get("/report", params={"offer": offer.ap_id})
    assert form.status_code == 200 and "Trajet orphelin" in form.text
    assert 'name="forward"' not in form.text
    assert 'href="https://gone.example/users/ghost"' in form.text
    data = {"csrf_token": csrf_of(form.text), "offer": offer.ap_id, "forward": "on"}
    assert (await as_bob.post("/report", data=data)).status_code == 303
    report = await Report.get(target_uri="https://gone.example/users/ghost")
    assert not report.forward and report.object_uris == [offer.ap_id]
    assert not await Activity.filter(type="Flag").exists()


async def test_the_report_links_on_posts_and_profiles(
    fed: Federation,
    alice: LocalActor,
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
) -> None:
    post = await posting.announce(fed, alice, posting.Draft("Bonjour", "fr"))
    link = path_for("report", query={"post": post.ap_id})
    assert link in (await as_bob.get(f"/posts/{post.local_uuid}")).text
    assert link not in (await as_alice.get(f"/posts/{post.local_uuid}")).text
    assert 'id="report-account"' in (await as_bob.get("/u/alice")).text
    assert 'id="report-account"' not in (await as_alice.get("/u/alice")).text
    assert 'id="report-account"' not in (await anonymous.get("/u/alice")).text


# --- Flags from other servers -------------------------------------------------------------------


async def test_a_mastodon_flag_reaches_the_admin_page_once(
    fed: Federation,
    client: httpx.AsyncClient,
    alice: LocalActor,
    camille: LocalActor,
    as_camille: httpx.AsyncClient,
) -> None:
    offer = await create_offer(fed, alice, samples.ride(title="Covoiturage douteux"))
    flag = fixture_flag("mastodon-flag.json", offer=offer.ap_id)
    mastodon = await instance_actor_of("mastodon.example", "/actor", "m")
    r = await deliver_flag(client, flag, mastodon)
    assert r.status_code == 202, r.text
    await deliver_flag(client, flag, mastodon)  # delivered twice
    await process(fed)
    await on_flag(fed, APObject(flag), mastodon[0])  # and processed twice: one report still
    [report] = await Report.all()
    assert report.reporter_id is None and report.origin_uri == "https://mastodon.example/actor"
    assert report.activity_id == flag["id"]
    assert report.target_uri == ALICE and report.object_uris == [offer.ap_id]
    assert report.comment == flag["content"]
    assert await Notification.filter(kind=NotificationKind.MODERATION).count() == 1
    page = await as_camille.get("/admin/reports")
    assert "Reported by the server mastodon.example" in page.text
    assert "Covoiturage douteux" in page.text and "the same ride posted ten times" in page.text
    detail = await as_camille.get(f"/admin/reports/{report.id}")
    assert detail.status_code == 200 and 'value="dismiss"' in detail.text
    moderation = await as_camille.get(f"/admin/accounts/account?uri={ALICE}")
    assert moderation.status_code == 200  # the report links to the account's moderation page
    assert 'id="account-moderation"' in detail.text
    assert f'value="remove:{offer.ap_id}"' in detail.text


async def test_a_gotosocial_flag_about_a_post_or_an_account(
    fed: Federation,
    client: httpx.AsyncClient,
    alice: LocalActor,
    camille: LocalActor,
    as_camille: httpx.AsyncClient,
) -> None:
    post = await posting.announce(fed, alice, posting.Draft("Un message très vilain", "fr"))
    flag = fixture_flag("gotosocial-flag.json", post=post.ap_id)
    gts = await instance_actor_of("gts.example", "/users/gts.example", "g")
    assert (await deliver_flag(client, flag, gts)).status_code == 202
    alone = {**flag, "id": flag["id"] + "X", "object": ALICE, "content": "Le profil aussi"}
    assert (await deliver_flag(client, alone, gts)).status_code == 202
    await process(fed)
    first, second = await Report.all().order_by("id")
    assert first.object_uris == [post.ap_id] and first.target_uri == ALICE
    assert second.object_uris == [] and second.comment == "Le profil aussi"
    page = await as_camille.get("/admin/reports")
    assert "Un message très vilain" in page.text and "gts.example" in page.text


async def test_a_flag_about_someone_elses_content_is_ignored(
    fed: Federation, client: httpx.AsyncClient, alice: LocalActor, zoe: RemoteActor
) -> None:
    post = await remote_post(zoe)
    flag = {
        **fixture_flag("gotosocial-flag.json", post=post.ap_id),
        "object": [zoe.ap_id, post.ap_id, f"{BASE}/u/nobody", f"{BASE}/offers/{uuid.uuid4()}"],
    }
    gts = await instance_actor_of("gts.example", "/users/gts.example", "g")
    assert (await deliver_flag(client, flag, gts)).status_code == 202
    await process(fed)
    assert (await InboxItem.get(activity_id=flag["id"])).state == InboxState.IGNORED
    assert await Report.all().count() == 0
    with pytest.raises(NotFound):
        await on_flag(fed, APObject(flag), gts[0])


async def test_reports_from_a_domain_with_reject_reports_are_dropped(
    fed: Federation, client: httpx.AsyncClient, alice: LocalActor
) -> None:
    offer = await create_offer(fed, alice, samples.ride())
    flag = fixture_flag("mastodon-flag.json", offer=offer.ap_id)
    mastodon = await instance_actor_of("mastodon.example", "/actor", "m")
    await block_domain(fed, "example", BlockSeverity.LIMIT, reject_reports=False)
    await block_domain(fed, "mastodon.example", BlockSeverity.LIMIT, reject_reports=True)
    assert (await deliver_flag(client, flag, mastodon)).status_code == 202
    await process(fed)
    assert (await InboxItem.get(activity_id=flag["id"])).state == InboxState.IGNORED
    assert await Report.all().count() == 0
    # the most specific block decides: a subdomain's own block without the flag is heard
    await block_domain(fed, "mastodon.example", BlockSeverity.LIMIT, reject_reports=False)
    await on_flag(fed, APObject(flag), mastodon[0])
    assert await Report.all().count() == 1


# --- the admins close reports -------------------------------------------------------------------


async def _report_about(
    fed: Federation, bob: LocalActor, alice: LocalActor
) -> tuple[Report, Offer]:
    offer = await create_offer(fed, alice, samples.ride(title="Trajet fantôme"))
    report = await Report.create(
        reporter=bob, target_uri=ALICE, object_uris=[offer.ap_id], comment="Arnaque"
    )
    return report, offer


async def _close(
    web: httpx.AsyncClient, report: Report, action: str, reason: str = "Vu"
) -> httpx.Response:
    page = await web.get(f"/admin/reports/{report.id}")
    data = {"csrf_token": csrf_of(page.text), "action": action, "reason": reason}
    return await web.post(f"/admin/reports/{report.id}", data=data)


async def test_an_admin_dismisses_a_report(
    fed: Federation,
    alice: LocalActor,
    bob: LocalActor,
    camille: LocalActor,
    as_bob: httpx.AsyncClient,
    as_camille: httpx.AsyncClient,
) -> None:
    report, offer = await _report_about(fed, bob, alice)
    token = csrf_of((await as_bob.get("/my/offers")).text)
    r = await as_bob.post(
        f"/admin/reports/{report.id}", data={"csrf_token": token, "action": "dismiss"}
    )
    assert r.status_code == 403
    assert (await as_camille.post(f"/admin/reports/{report.id}", data={})).status_code == 403
    r = await _close(as_camille, report, "nonsense")
    assert r.status_code == 303
    assert "Choose what to do" in (await as_camille.get(r.headers["location"])).text
    r = await _close(as_camille, report, "dismiss", "Rien d'anormal")
    assert r.status_code == 303 and r.headers["location"] == "/admin/reports"
    await report.refresh_from_db()
    assert report.state == ReportState.DISMISSED and report.resolved_by_id == camille.id
    assert report.resolved_at is not None
    [action] = await ModerationAction.filter(report_id=report.id)
    assert action.kind == ActionKind.DISMISS and action.reason == "Rien d'anormal"
    assert action.moderator_id == camille.id and action.target_uri == ALICE
    assert await Offer.exists(id=offer.id)
    page = await as_camille.get("/admin/reports")
    assert f'id="report-{report.id}"' not in page.text
    dismissed = await as_camille.get("/admin/reports?state=dismissed")
    assert f'id="report-{report.id}" data-state="dismissed"' in dismissed.text
    detail = await as_camille.get(f"/admin/reports/{report.id}")
    assert 'data-kind="dismiss"' in detail.text and 'id="resolve-form"' not in detail.text
    again = await as_camille.post(
        f"/admin/reports/{report.id}",
        data={"csrf_token": csrf_of(detail.text), "action": "dismiss"},
    )
    assert "already closed" in (await as_camille.get(again.headers["location"])).text
    bad = await as_camille.get("/admin/reports?state=everything")
    assert bad.status_code == 400


async def test_an_admin_silences_the_account_then_removes_the_offer(
    fed: Federation,
    alice: LocalActor,
    bob: LocalActor,
    camille: LocalActor,
    as_camille: httpx.AsyncClient,
) -> None:
    report, offer = await _report_about(fed, bob, alice)
    r = await _close(as_camille, report, "silence", "Trop d'annonces")
    assert r.status_code == 303 and r.headers["location"] == "/admin/reports"
    await report.refresh_from_db()
    assert report.state == ReportState.RESOLVED and report.resolved_by_id == camille.id
    await alice.refresh_from_db()
    assert alice.silenced_at is not None
    [action] = await ModerationAction.filter(report_id=report.id)
    assert action.kind == ActionKind.SILENCE

    second, offer = await _report_about(fed, bob, alice)
    r = await _close(as_camille, second, f"remove:{BASE}/offers/{uuid.uuid4()}")
    assert "not part of the report" in (await as_camille.get(r.headers["location"])).text
    r = await _close(as_camille, second, f"remove:{offer.ap_id}", "Annonce frauduleuse")
    assert r.status_code == 303
    await second.refresh_from_db()
    assert second.state == ReportState.RESOLVED
    [removed] = await ModerationAction.filter(report_id=second.id)
    assert removed.kind == ActionKind.REMOVE_OFFER and removed.object_uri == offer.ap_id
    assert not await Offer.exists(id=offer.id)
    detail = await as_camille.get(f"/admin/reports/{second.id}")
    assert "No longer here" in detail.text and 'data-kind="remove_offer"' in detail.text
