"""Signing up on the web: with an invitation, at once (open mode), or by asking an admin.

The password arrives already hashed (``instance/passwords``): this layer never sees it. Names
follow the rules of ``coopub member create`` (``accounts.check_username``); a pending sign-up
reserves its name, so nobody else can take it while an admin decides. Nothing is federated
about an applicant before they are a member: a ``SignupRequest`` is not an actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from tortoise.exceptions import IntegrityError

from federation.services import invitations
from federation.services.accounts import RESERVED as RESERVED_NAMES
from federation.services.accounts import USERNAME, create_actor
from federation.services.memberships import ask_to_join
from models.actors import ActorKind, LocalActor
from models.errors import Blocked, Conflict, Malformed, NotFound
from models.signups import MembershipRequest, RequestState, SignupRequest

Mode = Literal["invite", "approval", "open"]


class SignupClosed(Blocked):
    public_message = "Sign-up on this instance is by invitation only: ask a member for a link."


class NameRefused(Malformed):
    public_message = "A name is 1 to 30 characters: lowercase letters, digits and _."


class NameTaken(Conflict):
    public_message = "This name is already taken: choose another one."


class AlreadyDecided(Conflict):
    public_message = "This request was already decided."


@dataclass(frozen=True)
class Applicant:
    username: str
    password_hash: str
    email: str | None = None
    coop: LocalActor | None = None
    """The coop they ask to join (an invitation to a coop overrides it)."""
    reason: str = ""
    lang: str = "en"


@dataclass(frozen=True)
class Outcome:
    member: LocalActor | None = None
    """Created: the new member (log them in)."""
    request: SignupRequest | None = None
    """Or waiting for an admin."""
    membership: MembershipRequest | None = None
    """A request to join the coop they chose, waiting for its admins."""


async def check_available(username: str) -> str:
    """The name if a new member may take it (rules, reserved, taken, pending sign-up)."""
    if username in RESERVED_NAMES or not USERNAME.match(username):
        raise NameRefused(f"bad username {username[:64]!r}")
    if await LocalActor.exists(username=username) or await SignupRequest.exists(
        username=username, state=RequestState.PENDING
    ):
        raise NameTaken(f"{username} taken")
    return username


async def coops() -> list[LocalActor]:
    """The coops one may ask to join, by name."""
    return await LocalActor.filter(kind=ActorKind.COOP, deleted_at=None).order_by("username")


async def coop_named(username: str) -> LocalActor | None:
    if not username:
        return None
    coop = await LocalActor.get_or_none(username=username, kind=ActorKind.COOP, deleted_at=None)
    if coop is None:
        raise NotFound(f"no coop {username[:64]}", "No such coop")
    return coop


async def _create_member(applicant: Applicant, coop: LocalActor | None) -> LocalActor:
    try:
        return await create_actor(
            ActorKind.MEMBER,
            applicant.username,
            name=applicant.username,
            coop=coop,
            email=applicant.email,
            password_hash=applicant.password_hash,
        )
    except Conflict as exc:  # taken between the check and now
        raise NameTaken(exc.detail) from exc
    except IntegrityError as exc:  # taken at the same moment, by another process
        raise NameTaken(f"{applicant.username} taken meanwhile") from exc


async def sign_up(applicant: Applicant, mode: Mode, invitation_code: str = "") -> Outcome:
    """Create the member (with an invitation, or in open mode), or the request an admin will
    decide (approval mode). Refused in invite mode without a valid invitation."""
    await check_available(applicant.username)
    if invitation_code:
        invitation = await invitations.take_use(invitation_code)
        try:
            member = await _create_member(applicant, invitation.coop)
        except Exception:
            await invitations.give_back(invitation)
            raise
        if invitation.coop is None and applicant.coop is not None:
            return Outcome(member=member, membership=await ask_to_join(member, applicant.coop))
        return Outcome(member=member)
    if mode == "open":
        member = await _create_member(applicant, None)
        if applicant.coop is None:
            return Outcome(member=member)
        return Outcome(member=member, membership=await ask_to_join(member, applicant.coop))
    if mode == "approval":
        try:
            request = await SignupRequest.create(
                username=applicant.username,
                email=applicant.email,
                password_hash=applicant.password_hash,
                reason=applicant.reason[:2000],
                coop=applicant.coop,
                lang=applicant.lang[:8],
                created_at=datetime.now(UTC),
            )
        except IntegrityError as exc:  # the same name asked for at the same moment
            raise NameTaken(f"{applicant.username} asked for meanwhile") from exc
        return Outcome(request=request)
    raise SignupClosed("invite mode, no invitation")


async def pending_signups() -> list[SignupRequest]:
    return (
        await SignupRequest.filter(state=RequestState.PENDING)
        .order_by("created_at", "id")
        .prefetch_related("coop")
    )


async def _claim(request_id: int, state: RequestState) -> SignupRequest:
    """Mark the pending request decided, once (a second admin clicking too is refused)."""
    request = await SignupRequest.get_or_none(id=request_id).prefetch_related("coop")
    if request is None:
        raise NotFound(f"no sign-up request {request_id}")
    decided = await SignupRequest.filter(id=request_id, state=RequestState.PENDING).update(
        state=state, decided_at=datetime.now(UTC)
    )
    if not decided:
        raise AlreadyDecided(f"sign-up request {request_id} is {request.state}")
    return request


async def approve_signup(admin: LocalActor, request_id: int) -> Outcome:
    """The member is created as ``coopub member create`` does; the coop they chose gets a
    membership request for its admins."""
    if not admin.is_admin:
        raise invitations.NotAllowed(f"{admin.username} is not an admin")
    request = await _claim(request_id, RequestState.APPROVED)
    applicant = Applicant(
        username=request.username,
        password_hash=request.password_hash,
        email=request.email,
        lang=request.lang,
    )
    try:
        member = await _create_member(applicant, None)
    except Exception:
        await SignupRequest.filter(id=request_id).update(state=RequestState.PENDING)
        raise
    if request.coop is None:
        return Outcome(member=member, request=request)
    membership = await ask_to_join(member, request.coop)
    return Outcome(member=member, request=request, membership=membership)


async def reject_signup(admin: LocalActor, request_id: int) -> SignupRequest:
    """Rejected: the request (and its password hash) is deleted, so the name is free again
    (``username`` is unique in the table)."""
    if not admin.is_admin:
        raise invitations.NotAllowed(f"{admin.username} is not an admin")
    request = await _claim(request_id, RequestState.REJECTED)
    await SignupRequest.filter(id=request_id).delete()
    return request
