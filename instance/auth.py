"""API tokens: shown once at creation, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from starlette.requests import Request

from models.actors import ActorKind, LocalActor
from models.errors import Conflict, CoopubError, NotFound
from models.offers import ApiToken

TOKEN_PREFIX = "coopub_"


class Unauthorized(CoopubError):
    public_message = "A valid API token is required (Authorization: Bearer …)"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(member: LocalActor, label: str = "") -> str:
    if member.kind != ActorKind.MEMBER:
        raise NotFound(f"{member.username} is not a member", "API tokens belong to members")
    if member.disabled or member.deleted_at is not None:
        state = "deleted" if member.deleted_at is not None else "disabled"
        raise Conflict(f"{member.username} is {state}", f"The member {member.username} is {state}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await ApiToken.create(member=member, token_hash=_digest(token), label=label[:100])
    return token


async def member_for_request(request: Request) -> LocalActor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("no bearer token")
    record = await ApiToken.get_or_none(token_hash=_digest(token.strip())).prefetch_related(
        "member"
    )
    if record is None:
        raise Unauthorized("unknown token")
    if record.member.disabled or record.member.deleted_at is not None:
        raise Unauthorized(f"token of disabled member {record.member.username}")
    if record.member.suspended_at is not None:
        raise Unauthorized(f"token of suspended member {record.member.username}")
    await ApiToken.filter(id=record.id).update(last_used_at=datetime.now(UTC))
    return record.member


async def list_tokens(member: LocalActor | None = None) -> list[ApiToken]:
    """Every API token (or one member's), oldest first; only digests are stored."""
    query = ApiToken.all() if member is None else ApiToken.filter(member_id=member.id)
    return await query.order_by("id").prefetch_related("member")


async def revoke_token(token_id: int) -> ApiToken:
    record = await ApiToken.get_or_none(id=token_id).prefetch_related("member")
    if record is None:
        raise NotFound(f"no token {token_id}", f"No API token with id {token_id}")
    await record.delete()
    return record
