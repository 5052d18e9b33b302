"""What happened that a member should know: a reply, a mention, a new follower, a favourite, a
boost, a booking event. Read state per row; the navigation shows the unread count."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.actors import LocalActor


class NotificationKind(StrEnum):
    REPLY = "reply"
    MENTION = "mention"
    FOLLOW = "follow"
    LIKE = "like"
    BOOST = "boost"
    BOOKING = "booking"
    MODERATION = "moderation"  # a moderator acted on the member's account or offer
    MOVE = "move"  # a followed account moved; the follow went to its new account


class Notification(Model):
    id = fields.IntField(primary_key=True)
    recipient: fields.ForeignKeyRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="notifications", on_delete=fields.CASCADE
    )
    recipient_id: int
    kind = fields.CharEnumField(
        NotificationKind,
        max_length=16,
        # Pinned to migration 0009's text: a new kind changes no column, and the AlterField
        # that makemigrations would write for a new description rebuilds the table on SQLite
        # and drops its indexes.
        description="REPLY: reply\nMENTION: mention\nFOLLOW: follow\nLIKE: like\nBOOST: boost\n"
        "BOOKING: booking",
    )
    actor_uri = fields.CharField(max_length=500)  # who did it
    actor_name = fields.CharField(max_length=300, default="")
    object_uri = fields.CharField(max_length=500, default="")  # what it concerns (offer, post)
    link = fields.CharField(max_length=500, default="")  # a local page about it
    text = fields.CharField(max_length=500, default="")  # a short excerpt, plain text
    event = fields.CharField(max_length=16, default="", db_default="")
    """What happened to a booking (``requested``, ``accepted``…), a follow ``request``, or
    empty: with ``kind``, which words the notification shows."""
    dedupe_key = fields.CharField(max_length=500, unique=True)
    """The activity's id (or ``kind:actor:object``): a redelivery notifies once."""
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        table_description = "Members' notifications"
        indexes = (
            Index(fields=["recipient_id", "read_at"]),
            Index(fields=["recipient_id", "created_at"]),
        )
