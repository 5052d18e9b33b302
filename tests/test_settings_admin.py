"""The settings page (API tokens), the admin page (queue, directories, admissions), and following
from an "interact" link, through the web forms with their CSRF tokens."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest

from activitypub.wire import ACTOR_CONTEXT
from federation.context import Federation, SiteInfo
from federation.delivery import publish
from federation.services.accounts import create_actor, ensure_instance_actor
from federation.services.directory import ensure_directory_actor
from federation.services.handlers import inbox_handlers
from federation.settings import DirectorySettings, FederationSettings
from federation.signatures import generate_rsa_keypair
from instance.passwords import hash_password
from models.actors import ActorKind, LocalActor, RemoteActor
from models.delivery import Delivery, DeliveryState, Host
from models.directory import DirectoryEntry, EntryState
from models.follows import Follow, FollowState
from models.offers import ApiToken, Offer
from tests import offer_samples as samples
from tests.conftest import TEST_DOMAIN
from tests.rig.instances import Instance
from tests.rig.remote import RemoteServer
from tests.test_web import HTML, PASSWORD, csrf_of

MANUAL_DIRECTORY = pytest.mark.parametrize(
    "directory_settings", [DirectorySettings(enabled=True, admission="manual")], ids=["directory"]
)


@pytest.fixture
def directory_settings() -> DirectorySettings:
    return DirectorySettings()


@pytest.fixture
async def fed(
    db: None, settings: FederationSettings, directory_settings: DirectorySettings
) -> AsyncIterator[Federation]:
    """conftest's federation, with directory mode when a test parametrizes it on."""
    federation = Federation.create(
        settings,
        f"https://{TEST_DOMAIN}",
        SiteInfo("Test coop", "For tests", ("fr", "en")),
        directory=directory_settings,
        handlers=inbox_handlers(),
    )
    await ensure_instance_actor(TEST_DOMAIN, "Test coop")
    if directory_settings.enabled:
        await ensure_directory_actor("Dir", "")
    yield federation
    await federation.aclose()


async def new_member(coop: LocalActor, username: str, *, admin: bool = False) -> LocalActor:
    member = await create_actor(
        ActorKind.MEMBER,
        username,
        name=username.title(),
        coop=coop,
        password_hash=hash_password(PASSWORD),
    )
    if admin:
        member.is_admin = True
        await member.save(update_fields=["is_admin"])
    return member


async def log_in(client: httpx.AsyncClient, username: str) -> None:
    client.headers.update(HTML)
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "username": username, "password": PASSWORD},
    )
    assert r.status_code == 303, r.text


async def csrf(client: httpx.AsyncClient) -> str:
    return csrf_of((await client.get("/my/offers")).text)


async def post_form(client: httpx.AsyncClient, url: str, data: dict[str, Any]) -> httpx.Response:
    return await client.post(url, data={"csrf_token": await csrf(client), **data})


def flash_of(html: str, kind: str = "ok") -> str | None:
    """The one-time message on the page, if it is of that kind (``ok`` or ``error``)."""
    found = re.search(r'<p class="notice( ok)?" role="status">([^<]*)</p>', html)
    if found is None or (found.group(1) is not None) != (kind == "ok"):
        return None
    return unescape(found.group(2))


@pytest.fixture
async def alice(coop: LocalActor) -> LocalActor:
    return await new_member(coop, "alice")


@pytest.fixture
async def camille(coop: LocalActor) -> LocalActor:
    return await new_member(coop, "camille", admin=True)


@pytest.fixture
async def as_alice(client: httpx.AsyncClient, alice: LocalActor) -> httpx.AsyncClient:
    await log_in(client, "alice")
    return client


@pytest.fixture
async def as_camille(client: httpx.AsyncClient, camille: LocalActor) -> httpx.AsyncClient:
    await log_in(client, "camille")
    return client


# --- settings: API tokens ---------------------------------------------------------------------

TOKEN = re.compile(r'<code id="token-value">(coopub_[A-Za-z0-9_-]+)</code>')


async def test_token_created_on_the_page_works_with_the_api_then_is_revoked(
    as_alice: httpx.AsyncClient, alice: LocalActor
) -> None:
    web = as_alice
    page = await web.get("/settings")
    assert page.status_code == 200
    assert "You have no API token." in page.text
    assert page.headers["cache-control"] == "private, no-store"

    r = await web.post("/settings/tokens", data={"csrf_token": csrf_of(page.text), "label": "ERP"})
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
    found = TOKEN.search(r.text)
    assert found, r.text
    token = found.group(1)
    assert "it will not be shown again" in r.text
    record = await ApiToken.get(member_id=alice.id)
    assert record.label == "ERP" and token not in record.token_hash  # only its SHA-256

    # shown once: the page lists the label, never the token
    again = await web.get("/settings")
    assert token not in again.text and "ERP" in again.text and "never" in again.text

    # the JSON API takes it
    auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    created = await web.post("/api/v1/offers", json=samples.ride(), headers=auth)
    assert created.status_code == 201, created.text
    assert await Offer.filter(author_id=alice.id).count() == 1
    assert "never" not in (await web.get("/settings")).text  # last use shown

    # revoked: gone from the page, refused by the API
    r = await post_form(web, f"/settings/tokens/{record.id}/revoke", {})
    assert r.status_code == 303 and r.headers["location"] == "/settings"
    page = await web.get("/settings")
    assert flash_of(page.text) == "The token was revoked: it no longer works."
    assert flash_of((await web.get("/settings")).text) is None  # shown once
    assert "You have no API token." in page.text
    r = await web.post("/api/v1/offers", json=samples.ride(), headers=auth)
    assert r.status_code == 401
    assert await ApiToken.all().count() == 0


async def test_another_members_token_cannot_be_revoked(
    as_alice: httpx.AsyncClient, coop: LocalActor
) -> None:
    bob = await new_member(coop, "bob")
    page = await as_alice.post(
        "/settings/tokens", data={"csrf_token": await csrf(as_alice), "label": "mine"}
    )
    assert page.status_code == 200
    other = await ApiToken.create(member=bob, token_hash="0" * 64, label="bob's")
    r = await post_form(as_alice, f"/settings/tokens/{other.id}/revoke", {})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    r = await post_form(as_alice, "/settings/tokens/999999/revoke", {})
    assert r.status_code == 404
    assert await ApiToken.filter(id=other.id).exists()
    assert "bob&#39;s" not in (await as_alice.get("/settings")).text


async def test_settings_forms_need_the_csrf_token(
    as_alice: httpx.AsyncClient, alice: LocalActor
) -> None:
    r = await as_alice.post("/settings/tokens", data={"label": "x"})
    assert r.status_code == 403 and "reload the page" in r.text
    r = await as_alice.post("/settings/tokens", data={"label": "x", "csrf_token": "y" * 43})
    assert r.status_code == 403
    assert await ApiToken.all().count() == 0
    token = await ApiToken.create(member=alice, token_hash="1" * 64, label="kept")
    r = await as_alice.post(f"/settings/tokens/{token.id}/revoke", data={"csrf_token": "no"})
    assert r.status_code == 403
    assert await ApiToken.filter(id=token.id).exists()


async def test_pages_need_login(client: httpx.AsyncClient) -> None:
    client.headers.update(HTML)
    for path in ("/settings", "/admin"):
        r = await client.get(path)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"


async def test_nav_links(as_alice: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    page = await as_alice.get("/my/offers")
    assert 'href="/settings"' in page.text and 'href="/admin"' not in page.text


# --- admin: who may -------------------------------------------------------------------------


@MANUAL_DIRECTORY
async def test_non_admin_gets_403_everywhere(
    as_alice: httpx.AsyncClient, fed: Federation, remote: RemoteServer
) -> None:
    candidate = await candidate_entry(fed, "one.example")
    r = await as_alice.get("/admin")
    assert r.status_code == 403
    assert "Only the administrators of this instance can open this page." in r.text
    fr = await as_alice.get("/admin", headers={"Accept-Language": "fr"})
    assert fr.status_code == 403 and "Seules les personnes" in fr.text
    for action, data in (
        ("/admin/directories/join", {"url": remote.base_url}),
        ("/admin/directories/leave", {"url": remote.url("/directory")}),
        ("/admin/directory/admit", {"domain": "one.example"}),
        ("/admin/directory/reject", {"domain": "one.example"}),
    ):
        r = await post_form(as_alice, action, data)
        assert r.status_code == 403, action
    await candidate.refresh_from_db()
    assert candidate.state == EntryState.CANDIDATE
    assert not remote.requests  # nothing fetched for a join
    assert await Follow.filter(local_follower__kind=ActorKind.INSTANCE).count() == 0
    assert await Delivery.all().count() == 0


async def test_admin_flag_from_the_cli(tmp_path: Path) -> None:
    """``coopub member create --admin`` and ``coopub member admin NAME [--revoke]``, on a real
    ``coopub serve`` (its database built by the migrations)."""
    instance = await Instance.create("admins", tmp_path)
    try:
        await instance.coop("velos")
        out = await instance.ok(
            *("member", "create", "camille", "--coop", "velos", "--email", "c@example.org"),
            *("--password-stdin", "--admin"),
            stdin=PASSWORD + "\n",
        )
        assert out.strip().endswith("(admin)")
        await instance.member("alice", "velos")

        async def admin_status(username: str) -> int:
            async with httpx.AsyncClient(base_url=instance.base_url, headers=HTML) as http:
                await log_in(http, username)
                return (await http.get("/admin")).status_code

        assert await admin_status("camille") == 200
        assert await admin_status("alice") == 403
        assert (await instance.ok("member", "admin", "alice")).strip() == "alice: admin"
        assert await admin_status("alice") == 200
        out = await instance.ok("member", "admin", "camille", "--revoke")
        assert out.strip() == "camille: not an admin"
        assert await admin_status("camille") == 403
        missing = await instance.cli("member", "admin", "nobody")
        assert missing.returncode == 1 and "No member named nobody" in missing.stderr
        rows = await instance.query("SELECT username, is_admin FROM local_actor ORDER BY id")
        assert {name: bool(flag) for name, flag in rows if name in ("camille", "alice")} == {
            "camille": False,
            "alice": True,
        }
    finally:
        await instance.stop()


async def test_admin_link_and_revoked_admin(
    as_camille: httpx.AsyncClient, camille: LocalActor
) -> None:
    page = await as_camille.get("/my/offers")
    assert 'href="/admin"' in page.text
    assert (await as_camille.get("/admin")).status_code == 200
    camille.is_admin = False
    await camille.save(update_fields=["is_admin"])
    assert (await as_camille.get("/admin")).status_code == 403  # checked on every request
    assert 'href="/admin"' not in (await as_camille.get("/my/offers")).text


# --- admin: instance settings and the delivery queue -----------------------------------------


async def test_admin_sees_settings_and_queue_counts(
    as_camille: httpx.AsyncClient, fed: Federation, camille: LocalActor
) -> None:
    note = {"type": "Note", "to": ["https://www.w3.org/ns/activitystreams#Public"]}
    for n in range(3):
        await publish(
            fed,
            camille,
            {**note, "id": fed.urls.new_activity_id(), "object": f"https://x/{n}"},
            [f"https://a{n}.example/inbox", f"https://b{n}.example/inbox"],
        )
    rows = await Delivery.all().order_by("id")
    await Delivery.filter(id=rows[0].id).update(state=DeliveryState.DELIVERED)
    await Delivery.filter(id__in=[rows[1].id, rows[2].id]).update(state=DeliveryState.FAILED)
    await Delivery.filter(id=rows[3].id).update(state=DeliveryState.SKIPPED)
    await Host.create(domain="down.example", unreachable=True)
    await Host.create(domain="fine.example", unreachable=False)

    r = await as_camille.get("/admin")
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
    counts = dict(re.findall(r'<td data-state="(\w+)">(\d+)</td>', r.text))
    assert counts == {"pending": "2", "delivered": "1", "failed": "2", "skipped": "1"}
    assert "down.example" in r.text and "fine.example" not in r.text
    assert f"<code>{TEST_DOMAIN}</code>" in r.text and "Test coop" in r.text
    assert re.search(r'id="allow-private">yes', r.text)  # the test settings allow loopback
    assert re.search(r'id="authorized-fetch">no', r.text)
    assert re.search(r'id="directory-mode">off', r.text)
    assert "Directory admissions" not in r.text  # directory mode is off
    fr = await as_camille.get("/admin", headers={"Accept-Language": "fr"})
    assert "File d’envoi" in fr.text and "Rejoindre un annuaire" in fr.text


# --- admin: joining and leaving a directory ---------------------------------------------------


def directory_doc(remote: RemoteServer) -> dict[str, Any]:
    _, public_pem = generate_rsa_keypair()
    actor_id = remote.url("/directory")
    return {
        "@context": ACTOR_CONTEXT,
        "id": actor_id,
        "type": "Service",
        "preferredUsername": "directory",
        "name": "Annuaire",
        "inbox": f"{actor_id}/inbox",
        "outbox": f"{actor_id}/outbox",
        "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": public_pem},
    }


async def test_join_and_leave_a_directory_from_the_page(
    as_camille: httpx.AsyncClient, fed: Federation, remote: RemoteServer
) -> None:
    remote.serve_json("/directory", directory_doc(remote))
    r = await post_form(as_camille, "/admin/directories/join", {"url": remote.base_url})
    assert r.status_code == 303 and r.headers["location"] == "/admin"

    instance = await fed.instance_actor()
    record = await Follow.get(local_follower_id=instance.id)
    assert record.target_uri == remote.url("/directory")
    assert record.state == FollowState.PENDING
    delivery = await Delivery.get().prefetch_related("activity")
    assert delivery.inbox == remote.url("/directory/inbox")
    assert delivery.state == DeliveryState.PENDING  # the worker sends it
    assert delivery.activity.type == "Follow"
    assert delivery.activity.payload["object"] == remote.url("/directory")
    assert not remote.posts

    page = await as_camille.get("/admin")
    assert flash_of(page.text) == f"Asked to join {remote.url('/directory')}: pending."
    assert re.search(r'<td data-state="pending"><strong>pending</strong>', page.text)

    # admitted: the directory's Accept arrived
    await Follow.filter(id=record.id).update(state=FollowState.ACCEPTED)
    page = await as_camille.get("/admin", headers={"Accept-Language": "fr"})
    assert '<td data-state="admitted"><strong>admis</strong>' in page.text

    r = await post_form(as_camille, "/admin/directories/leave", {"url": remote.url("/directory")})
    assert r.status_code == 303
    assert await Follow.filter(local_follower_id=instance.id).count() == 0
    undo = await Delivery.filter(activity__type="Undo").prefetch_related("activity")
    assert [d.inbox for d in undo] == [remote.url("/directory/inbox")]
    page = await as_camille.get("/admin")
    assert flash_of(page.text) == f"Left {remote.url('/directory')}."
    assert "This instance has not asked to join any directory." in page.text


async def test_join_failure_is_shown(as_camille: httpx.AsyncClient) -> None:
    r = await post_form(as_camille, "/admin/directories/join", {"url": "ftp://nowhere"})
    assert r.status_code == 303
    page = await as_camille.get("/admin")
    assert flash_of(page.text, "error") == "Give the directory's address, https://…"
    assert await Follow.all().count() == 0


# --- admin: admissions (directory mode, manual) ---------------------------------------------


async def candidate_entry(
    fed: Federation, domain: str, *, checks: dict[str, Any] | None = None, **fields: Any
) -> DirectoryEntry:
    """A candidate as ``on_join`` leaves it: its actor, its pending Follow, its entry."""
    actor_uri = f"https://{domain}/actor"
    actor = await RemoteActor.create(
        ap_id=actor_uri,
        type="Application",
        username=domain,
        domain=domain,
        inbox=f"https://{domain}/actor/inbox",
        shared_inbox=f"https://{domain}/inbox",
        fetched_at=datetime.now(UTC),
    )
    directory = await LocalActor.get(kind=ActorKind.DIRECTORY)
    await Follow.create(
        ap_id=f"https://{domain}/follows/1",
        follower_uri=actor_uri,
        target_uri=fed.urls.actor(directory),
        remote_follower=actor,
        local_target=directory,
        state=FollowState.PENDING,
    )
    default_checks = {
        "key_verified": True,
        "instance_actor": True,
        "nodeinfo": True,
        "activitypub": True,
        "domain_match": True,
        "chatonsinfos": False,
    }
    return await DirectoryEntry.create(
        domain=domain,
        actor_uri=actor_uri,
        inbox=actor.shared_inbox,
        url=f"https://{domain}",
        checks=checks if checks is not None else default_checks,
        **fields,
    )


@MANUAL_DIRECTORY
async def test_candidates_listed_with_their_checks_then_admitted_or_rejected(
    as_camille: httpx.AsyncClient, fed: Federation
) -> None:
    await candidate_entry(
        fed,
        "one.example",
        name="Vélos Nantes",
        software_name="coopub",
        software_version="0.4.0",
        open_registrations=True,
        chatons_member=True,
        country_code="FR",
        city="Nantes",
        latitude=47.22,
        longitude=-1.55,
        checks={
            "key_verified": True,
            "instance_actor": True,
            "nodeinfo": True,
            "activitypub": True,
            "domain_match": True,
            "chatonsinfos": True,
        },
    )
    await candidate_entry(
        fed,
        "two.example",
        checks={
            "key_verified": True,
            "instance_actor": False,
            "nodeinfo": False,
            "activitypub": False,
            "domain_match": False,
            "error": "no NodeInfo 2.1 on its own host",
            "chatonsinfos": False,
        },
    )
    page = await as_camille.get("/admin")
    assert page.status_code == 200
    assert re.search(r'id="directory-mode">on, admission: <code>manual</code>', page.text)
    one = row_of(page.text, "candidate-one.example")
    assert "Vélos Nantes" in one and "coopub 0.4.0" in one and "Nantes (FR)" in one
    assert "CHATONS member: yes" in one and "47.22, -1.55" in one
    assert checks_of(one) == {
        "key_verified": "yes",
        "instance_actor": "yes",
        "nodeinfo": "yes",
        "activitypub": "yes",
        "domain_match": "yes",
        "chatonsinfos": "yes",
    }
    two = row_of(page.text, "candidate-two.example")
    assert checks_of(two) == {
        "key_verified": "yes",
        "instance_actor": "no",
        "nodeinfo": "no",
        "activitypub": "no",
        "domain_match": "no",
        "chatonsinfos": "no",
    }
    assert "no NodeInfo 2.1 on its own host" in two
    assert 'action="/admin/directory/admit"' in one and 'action="/admin/directory/reject"' in one

    r = await post_form(as_camille, "/admin/directory/admit", {"domain": "one.example"})
    assert r.status_code == 303 and r.headers["location"] == "/admin"
    r = await post_form(as_camille, "/admin/directory/reject", {"domain": "two.example"})
    assert r.status_code == 303
    states = {e.domain: e.state for e in await DirectoryEntry.all()}
    assert states == {"one.example": EntryState.ADMITTED, "two.example": EntryState.REJECTED}
    follows = {f.follower_uri: f.state for f in await Follow.filter(remote_follower_id__gt=0)}
    assert follows == {
        "https://one.example/actor": FollowState.ACCEPTED,
        "https://two.example/actor": FollowState.REJECTED,
    }
    answers = {d.inbox: d.activity.type for d in await Delivery.all().prefetch_related("activity")}
    assert answers == {
        "https://one.example/actor/inbox": "Accept",
        "https://two.example/actor/inbox": "Reject",
    }

    page = await as_camille.get("/admin")
    assert flash_of(page.text) == "two.example rejected."
    assert "admitted-one.example" in page.text and "rejected-two.example" in page.text
    assert "candidate-" not in page.text and "No instance is waiting." in page.text
    # an admitted instance can still be rejected, a rejected one admitted
    assert 'action="/admin/directory/reject"' in row_of(page.text, "admitted-one.example")
    assert 'action="/admin/directory/admit"' in row_of(page.text, "rejected-two.example")


@MANUAL_DIRECTORY
async def test_admit_flash_and_unknown_candidate(
    as_camille: httpx.AsyncClient, fed: Federation
) -> None:
    await candidate_entry(fed, "one.example")
    await post_form(as_camille, "/admin/directory/admit", {"domain": "ONE.example"})
    page = await as_camille.get("/admin")
    assert flash_of(page.text) == "one.example admitted; 0 known offer(s) will be sent to it."
    r = await post_form(as_camille, "/admin/directory/admit", {"domain": "nobody.example"})
    assert r.status_code == 303
    page = await as_camille.get("/admin")
    assert flash_of(page.text, "error") == "No instance nobody.example asked to join"


async def test_admissions_need_directory_mode(as_camille: httpx.AsyncClient) -> None:
    r = await post_form(as_camille, "/admin/directory/admit", {"domain": "one.example"})
    assert r.status_code == 303
    page = await as_camille.get("/admin")
    assert flash_of(page.text, "error") == "This instance runs no directory."


def row_of(html: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{re.escape(row_id)}">(.*?)</tr>', html, re.S)
    assert found, row_id
    return found.group(1)


def checks_of(row: str) -> dict[str, str]:
    return dict(re.findall(r'data-check="(\w+)" data-ok="(yes|no)"', row))


# --- following from an "interact" link -----------------------------------------------------


def person_doc(remote: RemoteServer, name: str) -> dict[str, Any]:
    _, public_pem = generate_rsa_keypair()
    actor_id = remote.url(f"/users/{name}")
    return {
        "@context": ACTOR_CONTEXT,
        "id": actor_id,
        "type": "Person",
        "preferredUsername": name,
        "inbox": f"{actor_id}/inbox",
        "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": public_pem},
    }


async def test_interact_page_asks_to_log_in(client: httpx.AsyncClient) -> None:
    uri = "https://far.example/users/zoe"
    r = await client.get("/authorize_interaction", params={"uri": uri}, headers=HTML)
    assert r.status_code == 200
    assert "not available" not in r.text and 'action="/authorize_interaction"' not in r.text
    link = re.search(r'href="/login\?next=([^"]+)"', r.text)
    assert link
    target = unquote(link.group(1))
    assert target == "/authorize_interaction?uri=" + quote(uri, safe="/")


async def test_follow_from_the_interact_page(
    as_alice: httpx.AsyncClient, alice: LocalActor, fed: Federation, remote: RemoteServer
) -> None:
    uri = remote.serve_json("/users/zoe", person_doc(remote, "zoe"))
    page = await as_alice.get("/authorize_interaction", params={"uri": uri})
    assert 'action="/authorize_interaction"' in page.text
    # without the CSRF token: refused, nothing asked
    r = await as_alice.post("/authorize_interaction", data={"uri": uri})
    assert r.status_code == 403
    assert await Follow.all().count() == 0

    r = await as_alice.post(
        "/authorize_interaction", data={"uri": uri, "csrf_token": csrf_of(page.text)}
    )
    assert r.status_code == 303
    # back to the page, encoded as its login link encodes it (one query encoder, path_for)
    assert r.headers["location"] == "/authorize_interaction?uri=" + quote(uri, safe="/")
    record = await Follow.get(local_follower_id=alice.id)
    assert record.target_uri == uri and record.state == FollowState.PENDING
    delivery = await Delivery.get().prefetch_related("activity")
    assert delivery.activity.type == "Follow" and delivery.inbox == f"{uri}/inbox"
    page = await as_alice.get(r.headers["location"])
    assert flash_of(page.text) == f"Follow request sent to {uri}: it waits for their answer."


async def test_follow_from_the_interact_page_failure(
    as_alice: httpx.AsyncClient, remote: RemoteServer
) -> None:
    uri = remote.url("/users/nobody")  # 404
    page = await as_alice.get("/authorize_interaction", params={"uri": uri})
    r = await as_alice.post(
        "/authorize_interaction", data={"uri": uri, "csrf_token": csrf_of(page.text)}
    )
    assert r.status_code == 303
    page = await as_alice.get(r.headers["location"])
    assert flash_of(page.text, "error")
    assert await Follow.all().count() == 0
