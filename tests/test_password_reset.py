"""Passwords: the member changes theirs (the current one needed, other sessions ended), an
admin gives a one-time reset link, and every way a link is refused."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from federation.services import invitations, password_resets
from instance.passwords import verify_password
from models.actors import LocalActor
from models.signups import PasswordReset
from tests.test_settings_admin import new_member
from tests.test_signup import NEW_PASSWORD, Client, log_in, make_client, notice, post, shown_link
from tests.test_web import PASSWORD, csrf_of

__all__ = ["make_client"]  # the fixture


def change_form(current: str, new: str = NEW_PASSWORD, again: str | None = None) -> dict[str, str]:
    return {
        "current_password": current,
        "password": new,
        "password_again": new if again is None else again,
    }


async def test_change_password_needs_the_current_one_and_ends_other_sessions(
    make_client: Client, coop: LocalActor
) -> None:
    await new_member(coop, "ana")
    here, elsewhere = await make_client(), await make_client()
    await log_in(here, "ana")
    await log_in(elsewhere, "ana")
    page = await here.get("/password")
    assert page.status_code == 200 and 'name="current_password"' in page.text
    r = await post(here, "/password", "/password", change_form("not my password"))
    assert r.status_code == 403 and "current password is wrong" in notice(r.text)
    r = await post(here, "/password", "/password", change_form(PASSWORD, again="other words"))
    assert r.status_code == 422 and "differ" in notice(r.text)
    r = await post(here, "/password", "/password", change_form(PASSWORD))
    assert r.status_code == 303 and r.headers["location"] == "/settings"
    assert "your other sessions are logged out" in (await here.get("/settings")).text
    # the other browser is logged out; the new password works, the old one not
    r = await elsewhere.get("/settings")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    await log_in(await make_client(), "ana", NEW_PASSWORD)
    fresh = await make_client()
    login = await fresh.get("/login")
    r = await fresh.post(
        "/login",
        data={"csrf_token": csrf_of(login.text), "username": "ana", "password": PASSWORD},
    )
    assert r.status_code == 401


async def test_wrong_current_passwords_lock_like_logins(
    make_client: Client, coop: LocalActor
) -> None:
    await new_member(coop, "ana")
    client = await make_client(limits={"login_account_failures": 2})
    await log_in(client, "ana")
    for _ in range(2):
        r = await post(client, "/password", "/password", change_form("guess guess guess"))
        assert r.status_code == 403
    r = await post(client, "/password", "/password", change_form(PASSWORD))
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    stored = (await LocalActor.get(username="ana")).password_hash
    assert stored is not None and verify_password(stored, PASSWORD)  # unchanged


async def test_admin_reset_link_works_once(make_client: Client, coop: LocalActor) -> None:
    await new_member(coop, "ada", admin=True)
    member = await new_member(coop, "ben")
    admin, ben = await make_client(), await make_client()
    await log_in(admin, "ada")
    await log_in(ben, "ben")  # a session opened with the old password
    page = await admin.get("/admin/join")
    assert 'id="reset-form"' in page.text and 'value="ben"' in page.text
    r = await post(admin, "/admin/join", "/admin/join/reset", {"username": "ben"})
    assert r.status_code == 200
    link = shown_link(r.text, "reset-link")
    token = link.rsplit("/", 1)[1]
    assert token not in (await PasswordReset.get(member_id=member.id)).token_hash
    assert token not in (await admin.get("/admin/join")).text  # shown once
    visitor = await make_client()
    form = await visitor.get(link)
    assert form.status_code == 200 and 'id="reset-username">ben<' in form.text
    path = link.removeprefix("https://coop.test")
    r = await visitor.post(
        path,
        data={"csrf_token": csrf_of(form.text), "password": "too short", "password_again": "x"},
    )
    assert r.status_code == 422
    r = await visitor.post(
        path,
        data={
            "csrf_token": csrf_of(form.text),
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "log in with it" in (await visitor.get("/login")).text
    await log_in(visitor, "ben", NEW_PASSWORD)
    assert (await ben.get("/settings")).status_code == 303  # the old session ended
    # used: refused, on the page and on a second post
    again = await make_client()
    r = await again.get(link)
    assert r.status_code == 410 and "already used" in r.text
    r = await again.post(
        path,
        data={
            "csrf_token": csrf_of((await again.get("/login")).text),
            "password": "yet another passphrase",
            "password_again": "yet another passphrase",
        },
    )
    assert r.status_code == 410
    await log_in(await make_client(), "ben", NEW_PASSWORD)


async def test_expired_and_replaced_links_are_refused(
    make_client: Client, coop: LocalActor
) -> None:
    member = await new_member(coop, "ben")
    old = await password_resets.issue_reset(member, 24, now=datetime.now(UTC) - timedelta(hours=25))
    client = await make_client()
    r = await client.get(f"/password/reset/{old.token}")
    assert r.status_code == 410 and "has expired" in r.text
    first = await password_resets.issue_reset(member, 24)
    second = await password_resets.issue_reset(member, 24)
    assert (await client.get(f"/password/reset/{first.token}")).status_code == 410
    assert (await client.get(f"/password/reset/{second.token}")).status_code == 200
    assert (await client.get("/password/reset/nothing-like-a-token")).status_code == 410
    member.disabled = True
    await member.save(update_fields=["disabled"])
    assert (await client.get(f"/password/reset/{second.token}")).status_code == 410


async def test_forgot_password_without_mail_says_to_ask_an_admin(
    make_client: Client, coop: LocalActor
) -> None:
    await new_member(coop, "ben")
    client = await make_client()
    login = await client.get("/login")
    assert 'href="/password/forgot"' in login.text
    page = await client.get("/password/forgot")
    assert "Ask one of its administrators" in page.text and 'name="identifier"' not in page.text
    r = await client.post(
        "/password/forgot", data={"csrf_token": csrf_of(login.text), "identifier": "ben"}
    )
    assert r.status_code == 200 and "Ask one of its administrators" in r.text
    assert not await PasswordReset.exists()
    french = await client.get("/password/forgot", headers={"Accept-Language": "fr"})
    assert "administrateurs" in french.text


async def test_logs_never_carry_reset_tokens_nor_invitation_codes(
    make_client: Client, coop: LocalActor, caplog: pytest.LogCaptureFixture
) -> None:
    member = await new_member(coop, "ben")
    reset = await password_resets.issue_reset(member, 24)
    made = await invitations.create_invitation(await new_member(coop, "ada", admin=True), coop)
    client = await make_client()
    caplog.set_level(logging.INFO)
    assert (await client.get(f"/password/reset/{reset.token}")).status_code == 200
    assert (await client.get(f"/invite/{made.code}")).status_code == 200
    assert (await client.get(f"/signup?invite={made.code}")).status_code == 200
    ours = [r for r in caplog.records if r.name.split(".")[0] in ("coopub", "instance")]
    assert ours and not any(
        secret in str(r.__dict__) for r in ours for secret in (reset.token, made.code)
    )
    paths = [r.__dict__.get("path") for r in ours if r.name == "coopub.access"]
    assert "/password/reset/<secret>" in paths and "/invite/<secret>" in paths
