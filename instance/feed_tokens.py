"""Secret feed URLs (``models.feed_tokens``): one per member and purpose, shown once when made,
kept only as a SHA-256 digest, replaced or revoked from the settings page.

A feed is read by programs without a session (a calendar program, a feed reader), so the
token in its URL is the credential: 32 random bytes, URL-safe. Making a new one revokes the
previous one of the same purpose, so a leaked URL is ended by making a new one.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from models.actors import ActorKind, LocalActor
from models.feed_tokens import FeedPurpose, FeedToken

TOKEN_BYTES = 32


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def feed_token(member: LocalActor, purpose: FeedPurpose) -> FeedToken | None:
    """The member's live token for ``purpose`` (its digest and dates; never the token)."""
    return await FeedToken.filter(member_id=member.id, purpose=purpose).order_by("-id").first()


async def new_feed_token(member: LocalActor, purpose: FeedPurpose) -> str:
    """A new token for ``purpose``, replacing the member's previous one (which stops working)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    async with in_transaction():
        await FeedToken.filter(member_id=member.id, purpose=purpose).delete()
        await FeedToken.create(
            member_id=member.id,
            purpose=purpose,
            token_hash=digest(token),
            created_at=datetime.now(UTC),
        )
    return token


async def revoke_feed_token(member: LocalActor, purpose: FeedPurpose) -> bool:
    """Revoke the member's token for ``purpose``; False when there was none."""
    return await FeedToken.filter(member_id=member.id, purpose=purpose).delete() > 0


async def member_for_feed(token: str, purpose: FeedPurpose) -> LocalActor | None:
    """The member a feed URL belongs to, None for an unknown or revoked token, another
    purpose's token, or a disabled or deleted member. Notes when it was last read."""
    if not token or len(token) > 100:
        return None
    record = await FeedToken.get_or_none(token_hash=digest(token), purpose=purpose)
    if record is None:
        return None
    member = await LocalActor.get_or_none(id=record.member_id, kind=ActorKind.MEMBER)
    if member is None or member.disabled or member.deleted_at is not None:
        return None
    await FeedToken.filter(id=record.id).update(last_used_at=datetime.now(UTC))
    return member
