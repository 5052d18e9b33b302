"""Password reset by email, against a real SMTP server on loopback (aiosmtpd): the email
arrives, in the asker's language, and its link works once; the form never tells whether an
account exists; SMTP failures are typed."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from instance.config import MailSettings
from instance.mail import MailFailed, reset_email, send_mail
from models.actors import LocalActor
from models.signups import PasswordReset
from tests.test_settings_admin import new_member
from tests.test_signup import NEW_PASSWORD, Client, log_in, make_client
from tests.test_web import csrf_of

__all__ = ["make_client"]  # the fixture

SENDER = "coopub@coop.test"


class Inbox:
    """aiosmtpd's handler: every message received, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Smtp:
    def __init__(self, authenticator: Any = None) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator,
            auth_require_tls=False,
        )

    def settings(self, **extra: Any) -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "from_address": SENDER,
            "timeout_seconds": 5.0,
            **extra,
        }


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    server.controller.start()
    yield server
    server.controller.stop()


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(r"https://coop\.test/password/reset/\S+", body.get_content())
    assert found, body.get_content()
    return found.group(0)


async def ask_for_link(client: Any, identifier: str, lang: str = "en") -> Any:
    headers = {"Accept-Language": lang}
    page = await client.get("/password/forgot", headers=headers)
    assert 'name="identifier"' in page.text
    return await client.post(
        "/password/forgot",
        data={"csrf_token": csrf_of(page.text), "identifier": identifier},
        headers=headers,
    )


async def test_reset_by_email_end_to_end(make_client: Client, coop: LocalActor, smtp: Smtp) -> None:
    ben = await new_member(coop, "ben")
    ben.email = "Ben@Example.org"
    await ben.save(update_fields=["email"])
    client = await make_client(mail=smtp.settings())
    r = await ask_for_link(client, "ben@example.org")  # an address, whatever its case
    assert r.status_code == 200 and 'id="reset-sent"' in r.text
    assert len(smtp.inbox.messages) == 1
    message = smtp.inbox.messages[0]
    assert smtp.inbox.envelopes[0] == (SENDER, ["Ben@Example.org"])
    assert message["Subject"] == "Choose a new password" and message["From"] == SENDER
    link = link_in(message)
    token = link.rsplit("/", 1)[1]
    assert token not in (await PasswordReset.get(member_id=ben.id)).token_hash
    # the link works, once
    visitor = await make_client(mail=smtp.settings())
    form = await visitor.get(link)
    assert form.status_code == 200 and ">ben<" in form.text
    data = {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    path = link.removeprefix("https://coop.test")
    r = await visitor.post(path, data={"csrf_token": csrf_of(form.text), **data})
    assert r.status_code == 303
    await log_in(await make_client(), "ben", NEW_PASSWORD)
    token = csrf_of((await visitor.get("/login")).text)  # the reset ended the session
    r = await visitor.post(path, data={"csrf_token": token, **data})
    assert r.status_code == 410


async def test_the_answer_never_tells_whether_an_account_exists(
    make_client: Client, coop: LocalActor, smtp: Smtp
) -> None:
    await new_member(coop, "ben")  # no email address: nothing can be sent
    client = await make_client(mail=smtp.settings())
    answers = [await ask_for_link(client, who) for who in ("ben", "nobody", "x@example.org")]
    texts = [re.sub(r'name="csrf_token" value="[^"]+"', "", r.text) for r in answers]
    assert {r.status_code for r in answers} == {200}
    assert texts[0] == texts[1] == texts[2]
    assert smtp.inbox.messages == [] and not await PasswordReset.exists()


async def test_the_email_is_in_the_askers_language(
    make_client: Client, coop: LocalActor, smtp: Smtp
) -> None:
    ben = await new_member(coop, "ben")
    ben.email = "ben@example.org"
    await ben.save(update_fields=["email"])
    client = await make_client(mail=smtp.settings())
    r = await ask_for_link(client, "ben", lang="fr")
    assert "un lien pour choisir un nouveau mot de passe" in r.text
    message = smtp.inbox.messages[0]
    assert message["Subject"] == "Choisir un nouveau mot de passe"
    body = message.get_body(("plain",))
    assert body is not None and "Bonjour ben" in body.get_content()
    assert "/password/reset/" in link_in(message)


async def test_forgot_form_is_rate_limited(
    make_client: Client, coop: LocalActor, smtp: Smtp
) -> None:
    client = await make_client(mail=smtp.settings(), limits={"join_burst": 1})
    assert (await ask_for_link(client, "nobody")).status_code == 200
    r = await ask_for_link(client, "nobody")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


async def test_smtp_login_is_used() -> None:
    seen: list[tuple[str, str]] = []

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        seen.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"s3cret")

    server = Smtp(authenticator=check)
    server.controller.start()
    try:
        good = MailSettings(**server.settings(username="coopub", password="s3cret"))
        message = reset_email(good, "a@example.org", "a", "https://x", datetime.now(UTC), "en")
        await send_mail(good, message)
        assert len(server.inbox.messages) == 1
        bad = MailSettings(**server.settings(username="coopub", password="wrong"))
        with pytest.raises(MailFailed):
            await send_mail(bad, message)
        assert seen == [("coopub", "s3cret"), ("coopub", "wrong")]
    finally:
        server.controller.stop()


async def test_smtp_failures_are_typed(smtp: Smtp) -> None:
    message = reset_email(
        MailSettings(**smtp.settings()), "a@example.org", "a", "https://x", datetime.now(UTC), "en"
    )
    no_tls = MailSettings(**smtp.settings(security="starttls"))  # the server offers none
    with pytest.raises(MailFailed):
        await send_mail(no_tls, message)
    closed = MailSettings(**{**smtp.settings(), "port": free_port()})
    with pytest.raises(MailFailed):
        await send_mail(closed, message)
    with pytest.raises(MailFailed):
        await send_mail(MailSettings(), message)  # no [mail] host
    assert smtp.inbox.messages == []
