"""Secret feed URLs: a member's calendar of bookings (``/calendar/<token>.ics``), and later
the Atom feed of their saved searches. Calendar programs fetch these without a session, so
the URL is the only credential: it is shown once, only its SHA-256 digest is kept, and the
member revokes it (or replaces it) from the settings page."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.actors import LocalActor


class FeedPurpose(StrEnum):
    CALENDAR = "calendar"  # the member's confirmed bookings, as iCalendar
    ALERTS = "alerts"  # the offers matching the member's saved searches, as Atom


class FeedToken(Model):
    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="feed_tokens", on_delete=fields.CASCADE
    )
    member_id: int
    purpose = fields.CharEnumField(FeedPurpose, max_length=16)
    token_hash = fields.CharField(max_length=64, unique=True)
    """The SHA-256 (hex) of the token in the URL; the token itself is never stored."""
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)
    """The last fetch (the settings page shows whether a calendar program still reads it)."""

    class Meta:
        table = "feed_token"
        table_description = "Members' secret feed URLs (calendar, alerts): SHA-256 digests only"
        indexes = (Index(fields=("member_id", "purpose")),)
