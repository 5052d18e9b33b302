"""Joining from the command line, against a real `coopub serve`: an invitation printed by
`coopub member invite` signs someone up over HTTP, `member reset-link` prints a one-time link,
`member coop-admin` and `member create --coop-admin` make coop admins."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from instance.app import build_federation
from instance.config import ConfigError, parse_config
from tests.rig.instances import Instance
from tests.test_web import PASSWORD, csrf_of

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[Instance]:
    served = await Instance.create("joincli", tmp_path)
    try:
        await served.coop("velos")
        await served.member("alice", "velos")
        yield served
    finally:
        await served.stop()


async def test_invite_reset_link_and_coop_admin_commands(instance: Instance) -> None:
    out = await instance.ok("member", "invite", "--coop", "velos", "--uses", "2", "--days", "3")
    link = out.splitlines()[0]
    assert re.fullmatch(rf"{re.escape(instance.base_url)}/invite/[\w-]+", link), out
    assert "valid for 2 sign-up(s) to join velos" in out
    async with httpx.AsyncClient(headers={"Accept": "text/html"}) as client:
        form = await client.get(link)
        assert form.status_code == 200 and "Velos" in form.text
        code = link.rsplit("/", 1)[1]
        r = await client.post(
            f"{instance.base_url}/signup",
            data={
                "csrf_token": csrf_of(form.text),
                "invite": code,
                "username": "bea",
                "password": NEW_PASSWORD,
                "password_again": NEW_PASSWORD,
            },
        )
        assert r.status_code == 303, r.text
    rows = await instance.query(
        "SELECT c.username FROM local_actor m JOIN local_actor c ON m.coop_id = c.id"
        " WHERE m.username = 'bea'"
    )
    assert rows == [("velos",)]
    # a reset link for alice: one use, then refused
    out = await instance.ok("member", "reset-link", "alice")
    reset = out.splitlines()[0]
    assert reset.startswith(f"{instance.base_url}/password/reset/") and "works once" in out
    async with httpx.AsyncClient(headers={"Accept": "text/html"}) as client:
        page = await client.get(reset)
        assert page.status_code == 200
        data = {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
        r = await client.post(reset, data={"csrf_token": csrf_of(page.text), **data})
        assert r.status_code == 303
        assert (await client.get(reset)).status_code == 410
        login = await client.get(f"{instance.base_url}/login")
        r = await client.post(
            f"{instance.base_url}/login",
            data={"csrf_token": csrf_of(login.text), "username": "alice", "password": PASSWORD},
        )
        assert r.status_code == 401  # the old password no longer works
    # coop admins
    assert "alice: admin of their coop" in await instance.ok("member", "coop-admin", "alice")
    await instance.ok(
        "member",
        "create",
        "cid",
        "--coop",
        "velos",
        "--email",
        "cid@example.org",
        "--coop-admin",
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    listing = await instance.ok("member", "list")
    flagged = [line.split("\t")[0] for line in listing.splitlines() if "coop-admin" in line]
    assert sorted(flagged) == [f"@alice@{instance.domain}", f"@cid@{instance.domain}"]
    assert "not a coop admin" in await instance.ok("member", "coop-admin", "alice", "--revoke")
    refused = await instance.cli("member", "reset-link", "nobody")
    assert refused.returncode == 1 and "No such member" in refused.stderr
    refused = await instance.cli("member", "invite", "--uses", "0")
    assert refused.returncode == 1 and "1 to 1000" in refused.stderr


def test_join_settings_are_checked_and_told_in_nodeinfo() -> None:
    base = {"instance": {"domain": "velos.example", "secret_key": "s"}}
    with pytest.raises(ConfigError) as caught:
        parse_config({**base, "mail": {"host": "smtp.example"}})
    assert str(caught.value).startswith("configuration: [mail] from_address = ")
    assert str(caught.value).endswith("expected an email address when [mail] host is set")
    with pytest.raises(ConfigError) as caught:
        parse_config({**base, "signup": {"mode": "closed"}})
    assert "[signup] mode = \"closed\": expected one of 'invite', 'approval' or 'open'" in str(
        caught.value
    )
    config = parse_config({**base, "mail": {"host": "smtp.example", "from_address": "a@b.c"}})
    assert config.mail.enabled and config.signup.mode == "invite"
    assert not parse_config(base).mail.enabled
    for mode, told in (("invite", False), ("approval", True), ("open", True)):
        site = build_federation(parse_config({**base, "signup": {"mode": mode}})).site
        assert site.open_registrations is told, mode
