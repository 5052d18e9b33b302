"""Outgoing email through the SMTP server of ``[mail]``: password-reset links.

The standard library's ``smtplib`` runs in a thread (``asyncio.to_thread``): one short message
now and then needs no extra dependency. STARTTLS and implicit TLS verify the server's
certificate against the system's authorities. Texts come from the catalogue, in the language
the reset was asked for.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from instance.config import MailSettings
from instance.i18n import translations
from models.errors import RemoteUnavailable

log = logging.getLogger(__name__)


class MailFailed(RemoteUnavailable):
    public_message = "The email could not be sent"


def reset_email(
    settings: MailSettings, to: str, username: str, link: str, expires: datetime, lang: str
) -> EmailMessage:
    _ = translations(lang).gettext
    message = EmailMessage()
    message["From"] = settings.from_address
    message["To"] = to
    message["Subject"] = _("Choose a new password")
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.from_address.rpartition("@")[2])
    body = _(
        "Hello {username},\n\nSomeone (you, we hope) asked to choose a new password for this "
        "account. Open this link to choose it:\n\n{link}\n\nThe link works once, until {expires} "
        "(UTC). If you did not ask for it, ignore this email: your password stays as it is.\n"
    )
    when = expires.strftime("%Y-%m-%d %H:%M")
    message.set_content(body.format(username=username, link=link, expires=when))
    return message


def _send(settings: MailSettings, message: EmailMessage) -> None:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.security == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout_seconds, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    with smtp:
        if settings.security == "starttls":
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, settings.password)
        smtp.send_message(message)


async def send_mail(settings: MailSettings, message: EmailMessage) -> None:
    """Send one message; ``MailFailed`` when the server cannot be reached or refuses it."""
    if not settings.enabled:
        raise MailFailed("no [mail] host configured")
    try:
        await asyncio.to_thread(_send, settings, message)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailFailed(f"{settings.host}:{settings.port}: {type(exc).__name__}: {exc}") from exc
    log.info("email sent", extra={"subject": str(message["Subject"]), "server": settings.host})
