"""One-time password-reset links: issued by an admin (instances often send no email) or sent
by email when ``[mail]`` is configured.

Only the token's SHA-256 digest is stored. A link is used once (a conditional ``UPDATE`` marks
it used before the password changes), expires after ``[signup] reset_hours``, and a newer link
voids the member's older ones. The new password changes the hash every session cookie is
stamped with (``instance/sessions.password_stamp``), which ends the member's other sessions.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from federation.services.accounts import set_password
from federation.services.invitations import digest
from models.actors import ActorKind, LocalActor
from models.errors import Gone, NotFound
from models.signups import PasswordReset


class ResetLinkInvalid(Gone):
    public_message = (
        "This password-reset link is not valid: it was already used, has expired, or was "
        "replaced by a newer one. Ask for a new link."
    )


@dataclass(frozen=True)
class NewReset:
    member: LocalActor
    token: str
    """Shown once (the admin's page, the CLI) or emailed; never stored."""
    expires_at: datetime


def _active(member: LocalActor | None) -> bool:
    return (
        member is not None
        and member.kind == ActorKind.MEMBER
        and member.deleted_at is None
        and not member.disabled
    )


async def issue_reset(member: LocalActor, hours: float, now: datetime | None = None) -> NewReset:
    if not _active(member):
        raise NotFound(f"{member.username} may not log in", "No such member")
    moment = now or datetime.now(UTC)
    await PasswordReset.filter(member_id=member.id, used_at=None).update(used_at=moment)
    token = secrets.token_urlsafe(32)
    expires = moment + timedelta(hours=hours)
    await PasswordReset.create(
        member=member, token_hash=digest(token), created_at=moment, expires_at=expires
    )
    return NewReset(member, token, expires)


async def member_named(username: str) -> LocalActor:
    member = await LocalActor.get_or_none(username=username.strip().lower(), kind=ActorKind.MEMBER)
    if member is None or not _active(member):
        raise NotFound(f"no active member {username[:64]}", "No such member")
    return member


async def members_for(identifier: str) -> list[LocalActor]:
    """The active members a "forgot password" form names, by username or email (an address
    may belong to several members); only those with an email address can be sent one."""
    text = identifier.strip()
    if not text:
        return []
    found = await LocalActor.filter(
        Q(username=text.lower()) | Q(email__iexact=text), kind=ActorKind.MEMBER
    )
    return [m for m in found if _active(m) and m.email]


async def valid_reset(token: str, now: datetime | None = None) -> PasswordReset:
    moment = now or datetime.now(UTC)
    reset = await PasswordReset.get_or_none(token_hash=digest(token)).prefetch_related("member")
    if reset is None or reset.used_at is not None or reset.expires_at <= moment:
        raise ResetLinkInvalid("reset token unknown, used or expired")
    if not _active(reset.member):
        raise ResetLinkInvalid(f"{reset.member.username} may not log in")
    return reset


async def use_reset(token: str, password_hash: str, now: datetime | None = None) -> LocalActor:
    """Spend the link (once) and set the new password; the member, with its new hash."""
    moment = now or datetime.now(UTC)
    reset = await valid_reset(token, moment)
    spent = await PasswordReset.filter(id=reset.id, used_at=None, expires_at__gt=moment).update(
        used_at=moment
    )
    if not spent:
        raise ResetLinkInvalid("reset token used meanwhile")
    member = reset.member
    await set_password(member, password_hash)
    await PasswordReset.filter(member_id=member.id, used_at=None).update(used_at=moment)
    return member
