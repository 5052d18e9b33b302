"""Joining a coop: a member without one asks, the coop's admins (or the instance's) decide.

An invitation to a coop skips this (its creator already chose). The decision is one
conditional ``UPDATE`` of a pending row, so two admins deciding at once cannot both act.
"""

from __future__ import annotations

from datetime import UTC, datetime

from federation.services.invitations import NotAllowed, may_manage_coop
from models.actors import ActorKind, LocalActor
from models.errors import Conflict, NotFound
from models.signups import MembershipRequest, RequestState


class AlreadyInACoop(Conflict):
    public_message = "You are already a member of a coop."


class AlreadyAsked(Conflict):
    public_message = "You have already asked to join this coop: its admins will answer."


class MembershipDecided(Conflict):
    public_message = "This request was already decided."


async def ask_to_join(member: LocalActor, coop: LocalActor, message: str = "") -> MembershipRequest:
    if coop.kind != ActorKind.COOP or coop.deleted_at is not None:
        raise NotFound(f"{coop.username} is not a coop", "No such coop")
    if member.coop_id is not None:
        raise AlreadyInACoop(f"{member.username} is in coop {member.coop_id}")
    if await MembershipRequest.exists(
        member_id=member.id, coop_id=coop.id, state=RequestState.PENDING
    ):
        raise AlreadyAsked(f"{member.username} already asked {coop.username}")
    return await MembershipRequest.create(
        member=member, coop=coop, message=message[:2000], created_at=datetime.now(UTC)
    )


async def pending_requests_of(member: LocalActor) -> list[MembershipRequest]:
    """The member's own requests still waiting (shown on their settings)."""
    return (
        await MembershipRequest.filter(member_id=member.id, state=RequestState.PENDING)
        .order_by("created_at")
        .prefetch_related("coop")
    )


async def requests_to_decide(decider: LocalActor) -> list[MembershipRequest]:
    """Pending requests this member may decide: every coop's for admins, else their coop's."""
    query = MembershipRequest.filter(state=RequestState.PENDING)
    if not decider.is_admin:
        if not (decider.coop_admin and decider.coop_id):
            return []
        query = query.filter(coop_id=decider.coop_id)
    return await query.order_by("created_at", "id").prefetch_related("member", "coop")


async def decide_membership(
    decider: LocalActor, request_id: int, approve: bool
) -> MembershipRequest:
    request = await MembershipRequest.get_or_none(id=request_id).prefetch_related("member", "coop")
    if request is None or not may_manage_coop(decider, request.coop_id):
        if request is not None:
            raise NotAllowed(f"{decider.username} may not decide for coop {request.coop_id}")
        raise NotFound(f"no membership request {request_id}")
    state = RequestState.APPROVED if approve else RequestState.REJECTED
    decided = await MembershipRequest.filter(id=request_id, state=RequestState.PENDING).update(
        state=state, decided_at=datetime.now(UTC)
    )
    if not decided:
        raise MembershipDecided(f"membership request {request_id} is {request.state}")
    if approve:
        # only a member still without a coop joins (they may have been invited meanwhile)
        await LocalActor.filter(id=request.member_id, coop_id=None).update(coop_id=request.coop_id)
        await MembershipRequest.filter(
            member_id=request.member_id, state=RequestState.PENDING
        ).update(state=RequestState.REJECTED, decided_at=datetime.now(UTC))
    request.state = state
    return request
