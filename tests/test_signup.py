"""Joining on the web: invitation links (made on /admin/join), the three sign-up modes, the
approval queue, requests to join a coop decided by its admins, and every refusal."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import httpx
import pytest

from federation.context import Federation
from federation.services import invitations
from federation.services.accounts import create_actor
from instance.app import create_app
from instance.config import parse_config
from models.actors import ActorKind, LocalActor
from models.errors import Conflict
from models.signups import Invitation, MembershipRequest, RequestState, SignupRequest
from tests.conftest import TEST_DOMAIN
from tests.test_settings_admin import new_member
from tests.test_web import HTML, PASSWORD, csrf_of

NEW_PASSWORD = "a brand new passphrase"
Client = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_client(fed: Federation, database_url: str) -> AsyncIterator[Client]:
    """In-process clients of an app with the given ``[signup]`` / ``[limits]`` / ``[mail]``."""
    opened: list[httpx.AsyncClient] = []

    async def make(**sections: dict[str, Any]) -> httpx.AsyncClient:
        config = parse_config(
            {
                "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
                "database": {"url": database_url},
                **sections,
            }
        )
        app = create_app(config, run_worker=False, fed=fed)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=f"https://{TEST_DOMAIN}",
            headers=HTML,
        )
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


async def log_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> None:
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "username": username, "password": password},
    )
    assert r.status_code == 303, r.text


async def post(client: httpx.AsyncClient, page: str, url: str, data: dict[str, Any]) -> Any:
    token = csrf_of((await client.get(page)).text)
    return await client.post(url, data={"csrf_token": token, **data})


def sign_up_form(username: str, **extra: str) -> dict[str, str]:
    return {
        "username": username,
        "email": f"{username}@example.org",
        "password": NEW_PASSWORD,
        "password_again": NEW_PASSWORD,
        **extra,
    }


def shown_link(html: str, element: str) -> str:
    found = re.search(rf'<code id="{element}">([^<]+)</code>', html)
    assert found, html
    return unescape(found.group(1))


def notice(html: str) -> str:
    found = re.search(r'<p class="notice[^"]*" role="(?:status|alert)"[^>]*>([^<]+)</p>', html)
    return unescape(found.group(1)) if found else ""


# --- invitations ------------------------------------------------------------------------------


async def test_admin_invites_and_the_guest_signs_up_into_the_coop(
    make_client: Client, coop: LocalActor
) -> None:
    admin_client, guest = await make_client(), await make_client()
    await new_member(coop, "ada", admin=True)
    await log_in(admin_client, "ada")
    page = await admin_client.get("/admin")
    assert 'href="/admin/join"' in page.text
    r = await post(admin_client, "/admin/join", "/admin/join/invitations", {"coop": "velos"})
    assert r.status_code == 200
    link = shown_link(r.text, "invitation-link")
    assert link.startswith(f"https://{TEST_DOMAIN}/invite/")
    code = link.rsplit("/", 1)[1]
    stored = await Invitation.get()
    assert stored.code_hash == invitations.digest(code) and code not in stored.code_hash
    # the link shows the form, naming the coop; the sign-up logs the guest in, in the coop
    form = await guest.get(link)
    assert form.status_code == 200 and "Vélos" in form.text
    r = await guest.post(
        "/signup", data={"csrf_token": csrf_of(form.text), "invite": code, **sign_up_form("bea")}
    )
    assert r.status_code == 303 and r.headers["location"] == "/settings"
    settings = await guest.get("/settings")
    assert "Welcome! You are a member of Vélos." in settings.text
    bea = await LocalActor.get(username="bea")
    assert bea.coop_id == coop.id and bea.kind == ActorKind.MEMBER and bea.email
    assert (await Invitation.get()).uses == 1
    # used up: refused with its reason, nothing created
    other = await make_client()
    again = await other.get(f"/signup?invite={code}")
    assert again.status_code == 410 and "already been used" in again.text
    r = await other.post(
        "/signup",
        data={"csrf_token": csrf_of(form.text), "invite": code, **sign_up_form("cid")},
    )
    assert r.status_code in (403, 410)  # the CSRF token is another session's, or used up
    assert not await LocalActor.exists(username="cid")


async def test_expired_revoked_and_unknown_invitations_are_refused(
    make_client: Client, coop: LocalActor
) -> None:
    admin = await new_member(coop, "ada", admin=True)
    old = await invitations.create_invitation(
        admin, coop, days=1, now=datetime.now(UTC) - timedelta(days=2)
    )
    client = await make_client()
    r = await client.get(f"/invite/{old.code}")
    assert r.status_code == 410 and "has expired" in r.text
    fresh = await invitations.create_invitation(admin, coop, max_uses=5)
    await invitations.revoke_invitation(admin, fresh.invitation.id)
    r = await client.get(f"/invite/{fresh.code}")
    assert r.status_code == 410 and "withdrawn" in r.text
    r = await client.get("/invite/not-a-code")
    assert r.status_code == 404 and "not valid" in r.text
    page = await client.get("/login")
    r = await client.post(
        "/signup",
        data={"csrf_token": csrf_of(page.text), "invite": old.code, **sign_up_form("dan")},
    )
    assert r.status_code == 410 and not await LocalActor.exists(username="dan")


async def test_admin_withdraws_an_invitation_on_the_page(
    make_client: Client, coop: LocalActor
) -> None:
    client = await make_client()
    admin = await new_member(coop, "ada", admin=True)
    made = await invitations.create_invitation(admin, None, max_uses=3)
    await log_in(client, "ada")
    page = await client.get("/admin/join")
    assert f'id="invitation-{made.invitation.id}"' in page.text and made.code not in page.text
    r = await post(
        client, "/admin/join", f"/admin/join/invitations/{made.invitation.id}/revoke", {}
    )
    assert r.status_code == 303
    assert (await Invitation.get()).revoked_at is not None


async def test_the_last_use_goes_to_one_sign_up_only(coop: LocalActor) -> None:
    admin = await new_member(coop, "ada", admin=True)
    made = await invitations.create_invitation(admin, coop, max_uses=1)
    results = await asyncio.gather(
        *(invitations.take_use(made.code) for _ in range(4)), return_exceptions=True
    )
    taken = [r for r in results if isinstance(r, Invitation)]
    refused = [r for r in results if isinstance(r, invitations.InvitationUsedUp)]
    assert len(taken) == 1 and len(refused) == 3
    assert (await Invitation.get()).uses == 1


async def test_coop_admins_invite_to_their_coop_only(make_client: Client, coop: LocalActor) -> None:
    other = await create_actor(ActorKind.COOP, "roues", name="Roues")
    lead = await new_member(coop, "lea")
    lead.coop_admin = True
    await lead.save(update_fields=["coop_admin"])
    await new_member(coop, "max")
    with pytest.raises(invitations.NotAllowed):
        await invitations.create_invitation(lead, other)
    with pytest.raises(invitations.NotAllowed):
        await invitations.create_invitation(lead, None)
    client = await make_client()
    await log_in(client, "lea")
    page = await client.get("/admin/join")
    assert page.status_code == 200 and 'value="roues"' not in page.text
    assert 'id="signups"' not in page.text and 'id="reset-links"' not in page.text
    r = await post(client, "/admin/join", "/admin/join/invitations", {"coop": "roues"})
    assert r.status_code == 303 and not await Invitation.exists()
    r = await post(client, "/admin/join", "/admin/join/invitations", {"coop": "velos"})
    assert r.status_code == 200 and "/invite/" in shown_link(r.text, "invitation-link")
    r = await post(client, "/admin/join", "/admin/join/reset", {"username": "max"})
    assert r.status_code == 403
    plain = await make_client()
    await log_in(plain, "max")
    assert (await plain.get("/admin/join")).status_code == 403
    anonymous = await make_client()
    r = await anonymous.get("/admin/join")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


# --- the sign-up modes ---------------------------------------------------------------------------


async def test_invite_mode_refuses_sign_up_without_a_link(make_client: Client, fed: Any) -> None:
    client = await make_client()
    r = await client.get("/signup")
    assert r.status_code == 403 and "by invitation only" in r.text
    login = await client.get("/login")
    assert 'href="/signup"' not in login.text and 'href="/password/forgot"' in login.text
    r = await client.post(
        "/signup", data={"csrf_token": csrf_of(login.text), **sign_up_form("eve")}
    )
    assert r.status_code == 403 and not await LocalActor.exists(username="eve")


async def test_approval_mode_queue(make_client: Client, coop: LocalActor) -> None:
    client = await make_client(signup={"mode": "approval"})
    login = await client.get("/login")
    assert 'id="signup-link"' in login.text
    page = await client.get("/signup")
    assert page.status_code == 200 and 'name="reason"' in page.text
    r = await client.post(
        "/signup",
        data={
            "csrf_token": csrf_of(page.text),
            **sign_up_form("fay", coop="velos", reason="Je livre à vélo"),
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/signup/pending"
    assert "waits for an administrator" in (await client.get("/signup/pending")).text
    request = await SignupRequest.get(username="fay")
    assert request.state == RequestState.PENDING and NEW_PASSWORD not in request.password_hash
    assert not await LocalActor.exists(username="fay")
    # the name is reserved while pending, on the web and for `coopub member create`
    r = await client.post("/signup", data={"csrf_token": csrf_of(page.text), **sign_up_form("fay")})
    assert r.status_code == 409 and "already taken" in r.text
    with pytest.raises(Conflict):
        await create_actor(ActorKind.MEMBER, "fay", coop=coop)
    # no log in before approval
    r = await client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "username": "fay", "password": NEW_PASSWORD},
    )
    assert r.status_code == 401
    # an admin approves: the member exists, the coop gets a membership request
    admin = await make_client(signup={"mode": "approval"})
    await new_member(coop, "ada", admin=True)
    await log_in(admin, "ada")
    queue = await admin.get("/admin/join")
    assert 'id="signup-fay"' in queue.text and "Je livre à vélo" in queue.text
    r = await post(admin, "/admin/join", f"/admin/join/signups/{request.id}/approve", {})
    assert r.status_code == 303
    fay = await LocalActor.get(username="fay")
    assert fay.coop_id is None and fay.password_hash == request.password_hash
    membership = await MembershipRequest.get(member_id=fay.id)
    assert membership.coop_id == coop.id and membership.state == RequestState.PENDING
    await log_in(await make_client(), "fay", NEW_PASSWORD)
    # deciding twice is refused
    r = await post(admin, "/admin/join", f"/admin/join/signups/{request.id}/reject", {})
    assert r.status_code == 303
    assert "already decided" in (await admin.get("/admin/join")).text
    # the coop's admin approves the membership
    r = await post(admin, "/admin/join", f"/admin/join/memberships/{membership.id}/approve", {})
    assert r.status_code == 303
    assert (await LocalActor.get(username="fay")).coop_id == coop.id


async def test_a_rejected_sign_up_frees_its_name(make_client: Client, coop: LocalActor) -> None:
    client = await make_client(signup={"mode": "approval"})
    page = await client.get("/signup")
    await client.post("/signup", data={"csrf_token": csrf_of(page.text), **sign_up_form("gus")})
    request = await SignupRequest.get(username="gus")
    admin = await make_client()
    await new_member(coop, "ada", admin=True)
    await log_in(admin, "ada")
    r = await post(admin, "/admin/join", f"/admin/join/signups/{request.id}/reject", {})
    assert r.status_code == 303 and not await SignupRequest.exists(username="gus")
    assert not await LocalActor.exists(username="gus")
    r = await client.post("/signup", data={"csrf_token": csrf_of(page.text), **sign_up_form("gus")})
    assert r.status_code == 303


async def test_open_mode_and_asking_to_join_a_coop(make_client: Client, coop: LocalActor) -> None:
    client = await make_client(signup={"mode": "open"})
    page = await client.get("/signup")
    r = await client.post("/signup", data={"csrf_token": csrf_of(page.text), **sign_up_form("hal")})
    assert r.status_code == 303
    settings = await client.get("/settings")
    assert 'id="join-coop-link"' in settings.text and 'href="/password"' in settings.text
    hal = await LocalActor.get(username="hal")
    assert hal.coop_id is None
    r = await post(client, "/settings/coop", "/settings/coop", {"coop": "velos", "message": "Hi"})
    assert r.status_code == 303
    r = await post(client, "/settings/coop", "/settings/coop", {"coop": "velos"})
    assert r.status_code == 409 and "already asked" in r.text
    # the coop's admin (not an instance admin) decides; a plain member cannot
    lead = await new_member(coop, "lea")
    lead.coop_admin = True
    await lead.save(update_fields=["coop_admin"])
    request = await MembershipRequest.get(member_id=hal.id)
    admin = await make_client()
    await log_in(admin, "lea")
    assert 'id="membership-hal"' in (await admin.get("/admin/join")).text
    r = await post(admin, "/admin/join", f"/admin/join/memberships/{request.id}/reject", {})
    assert r.status_code == 303
    assert (await LocalActor.get(username="hal")).coop_id is None
    assert (await MembershipRequest.get(id=request.id)).state == RequestState.REJECTED


@pytest.mark.parametrize(
    ("form", "status", "words"),
    [
        (sign_up_form("Bad Name", email=""), 400, "lowercase letters"),
        (sign_up_form("admin"), 400, "lowercase letters"),
        (sign_up_form("alice"), 409, "already taken"),
        ({**sign_up_form("ivy"), "password_again": "something else"}, 422, "differ"),
        ({**sign_up_form("ivy"), "password": "short", "password_again": "short"}, 422, "10"),
        (sign_up_form("ivy", email="not an address"), 422, "does not look right"),
    ],
    ids=["bad-name", "reserved", "taken", "mismatch", "short", "email"],
)
async def test_sign_up_refusals_show_the_form_again(
    make_client: Client, member: LocalActor, form: dict[str, str], status: int, words: str
) -> None:
    client = await make_client(signup={"mode": "open"})
    page = await client.get("/signup")
    r = await client.post("/signup", data={"csrf_token": csrf_of(page.text), **form})
    assert r.status_code == status and words in notice(r.text)
    assert 'name="username"' in r.text and NEW_PASSWORD not in r.text
    assert await LocalActor.filter(kind=ActorKind.MEMBER).count() == 1


async def test_sign_up_french(make_client: Client, coop: LocalActor) -> None:
    client = await make_client(signup={"mode": "open"})
    page = await client.get("/signup", headers={"Accept-Language": "fr"})
    assert "Inscription" in page.text and "Mot de passe" in page.text
    closed = await make_client()
    r = await closed.get("/signup", headers={"Accept-Language": "fr"})
    assert r.status_code == 403 and "sur invitation" in r.text


async def test_sign_up_posts_are_rate_limited_per_address(
    make_client: Client, coop: LocalActor
) -> None:
    client = await make_client(signup={"mode": "open"}, limits={"join_burst": 2})
    page = await client.get("/signup")
    token = csrf_of(page.text)
    for name in ("jo1", "jo2"):
        r = await client.post("/signup", data={"csrf_token": token, **sign_up_form(name)})
        assert r.status_code == 303
        await client.post(
            "/logout", data={"csrf_token": csrf_of((await client.get("/settings")).text)}
        )
        token = csrf_of((await client.get("/signup")).text)
    r = await client.post("/signup", data={"csrf_token": token, **sign_up_form("jo3")})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert not await LocalActor.exists(username="jo3")


async def test_a_member_without_a_coop_can_use_the_pages(
    make_client: Client, coop: LocalActor
) -> None:
    client = await make_client(signup={"mode": "open"})
    page = await client.get("/signup")
    r = await client.post("/signup", data={"csrf_token": csrf_of(page.text), **sign_up_form("kim")})
    assert r.status_code == 303
    for path in (
        "/settings",
        "/dispatch",
        "/my/offers",
        "/offers/new?kind=ride",
        "/home",
        "/u/kim",
    ):
        r = await client.get(path)
        assert r.status_code < 500, (path, r.status_code)
    r = await client.get("/u/kim", headers={"Accept": "application/activity+json"})
    assert r.status_code == 200 and r.json()["preferredUsername"] == "kim"
