"""Invitation links: who may create them, and their use, one sign-up at a time.

The code is shown once, to its creator; only its SHA-256 digest is stored (as for API tokens),
so a copy of the database lets nobody sign up. A use is taken by one conditional ``UPDATE``
(``uses < max_uses``, not revoked, not expired): two people redeeming the last use at the
same moment cannot both get it, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F

from models.actors import ActorKind, LocalActor
from models.errors import Blocked, Gone, Malformed, NotFound
from models.signups import Invitation

MAX_USES = 1000
MAX_DAYS = 365.0


class NotAllowed(Blocked):
    public_message = "Only the instance's admins, or this coop's admins, may do this."


class InvitationUnknown(NotFound):
    public_message = "This invitation link is not valid: check that it was copied whole."


class InvitationExpired(Gone):
    public_message = "This invitation link has expired: ask for a new one."


class InvitationUsedUp(Gone):
    public_message = "This invitation link has already been used as many times as it allows."


class InvitationRevoked(Gone):
    public_message = "This invitation link was withdrawn by the person who made it."


class InvitationOptionsRefused(Malformed):
    public_message = "An invitation is valid 1 to 365 days, for 1 to 1000 sign-ups."


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    code: str
    """Shown once; never stored."""


def may_manage_coop(actor: LocalActor, coop_id: int | None) -> bool:
    """Admins manage every coop (and invitations to none); a coop admin only their own."""
    if actor.is_admin:
        return True
    return actor.coop_admin and coop_id is not None and actor.coop_id == coop_id


def may_manage_joining(actor: LocalActor) -> bool:
    """Whether the joining page (invitations, requests) is open to this member at all."""
    return actor.is_admin or (actor.coop_admin and actor.coop_id is not None)


async def create_invitation(
    creator: LocalActor,
    coop: LocalActor | None,
    *,
    max_uses: int = 1,
    days: float = 7.0,
    now: datetime | None = None,
) -> NewInvitation:
    if coop is not None and coop.kind != ActorKind.COOP:
        raise NotFound(f"{coop.username} is not a coop", "No such coop")
    if not may_manage_coop(creator, coop.id if coop else None):
        raise NotAllowed(f"{creator.username} may not invite to {coop.username if coop else '-'}")
    return await _insert(creator, coop, max_uses, days, now)


async def operator_invitation(
    coop: LocalActor | None, *, max_uses: int = 1, days: float = 7.0
) -> NewInvitation:
    """An invitation made on the command line (``coopub member invite``): whoever runs it
    administers the instance; the instance actor stands as its creator."""
    if coop is not None and coop.kind != ActorKind.COOP:
        raise NotFound(f"{coop.username} is not a coop", "No such coop")
    instance = await LocalActor.get(kind=ActorKind.INSTANCE)
    return await _insert(instance, coop, max_uses, days, None)


async def _insert(
    creator: LocalActor,
    coop: LocalActor | None,
    max_uses: int,
    days: float,
    now: datetime | None,
) -> NewInvitation:
    if not 1 <= max_uses <= MAX_USES or not 0 < days <= MAX_DAYS:
        raise InvitationOptionsRefused(f"uses={max_uses} days={days}")
    code = secrets.token_urlsafe(24)
    moment = now or now_utc()
    invitation = await Invitation.create(
        code_hash=digest(code),
        created_by=creator,
        coop=coop,
        max_uses=max_uses,
        expires_at=moment + timedelta(days=days),
        created_at=moment,
    )
    return NewInvitation(invitation, code)


def _refusal(invitation: Invitation, now: datetime) -> Gone | None:
    if invitation.revoked_at is not None:
        return InvitationRevoked(f"invitation {invitation.id} revoked")
    if invitation.expires_at <= now:
        return InvitationExpired(f"invitation {invitation.id} expired")
    if invitation.uses >= invitation.max_uses:
        return InvitationUsedUp(f"invitation {invitation.id} used up")
    return None


async def valid_invitation(code: str, now: datetime | None = None) -> Invitation:
    """The invitation with this code while it may still be used (its coop fetched)."""
    invitation = await Invitation.get_or_none(code_hash=digest(code.strip())).prefetch_related(
        "coop"
    )
    if invitation is None:
        raise InvitationUnknown("unknown invitation code")
    refusal = _refusal(invitation, now or now_utc())
    if refusal is not None:
        raise refusal
    return invitation


async def take_use(code: str, now: datetime | None = None) -> Invitation:
    """One use of the invitation, atomically; refused when there is none left."""
    moment = now or now_utc()
    invitation = await valid_invitation(code, moment)
    taken = await Invitation.filter(
        id=invitation.id,
        revoked_at__isnull=True,
        expires_at__gt=moment,
        uses__lt=F("max_uses"),
    ).update(uses=F("uses") + 1)
    if not taken:  # someone took the last use, or it was revoked, in between
        await invitation.refresh_from_db()
        raise _refusal(invitation, moment) or InvitationUsedUp(f"invitation {invitation.id}")
    return invitation


async def give_back(invitation: Invitation) -> None:
    """Return a use taken for a sign-up that then failed (nothing else was created)."""
    await Invitation.filter(id=invitation.id, uses__gt=0).update(uses=F("uses") - 1)


async def list_invitations(actor: LocalActor) -> list[Invitation]:
    """The invitations this member may see: every one for admins, their coop's otherwise."""
    query = Invitation.all()
    if not actor.is_admin:
        if not (actor.coop_admin and actor.coop_id):
            return []
        query = query.filter(coop_id=actor.coop_id)
    return await query.order_by("-created_at", "-id").prefetch_related("coop", "created_by")


async def revoke_invitation(actor: LocalActor, invitation_id: int) -> Invitation:
    invitation = await Invitation.get_or_none(id=invitation_id)
    if invitation is None or not may_manage_coop(actor, invitation.coop_id):
        raise NotFound(f"no invitation {invitation_id} for {actor.username}")
    if invitation.revoked_at is None:
        invitation.revoked_at = now_utc()
        await invitation.save(update_fields=["revoked_at"])
    return invitation
