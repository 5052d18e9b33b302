"""Activities: those our actors published (outbox) and those received (inbox queue)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.actors import LocalActor
from models.json_column import read_json

if TYPE_CHECKING:
    from models.delivery import Delivery


class Activity(Model):
    """An activity published by a local actor, kept verbatim for the outbox and redelivery."""

    id = fields.IntField(primary_key=True)
    ap_id = fields.CharField(max_length=500, unique=True)
    actor: fields.ForeignKeyRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="activities", on_delete=fields.CASCADE
    )
    actor_id: int
    type = fields.CharField(max_length=32)
    object_uri = fields.CharField(max_length=500, null=True)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(decoder=read_json)
    public = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    deliveries: fields.ReverseRelation[Delivery]

    class Meta:
        table = "activity"
        table_description = "Activities published by local actors"
        indexes = (
            Index(fields=("actor_id", "public", "id")),
            # a Tombstone's lookup (``Delete`` of this object), an offer's ``Create`` removed
            Index(fields=("object_uri", "type")),
        )


class InboxState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    IGNORED = "ignored"
    FAILED = "failed"


class InboxItem(Model):
    """A verified incoming activity waiting to be (or already) processed; dedupes on its id."""

    id = fields.IntField(primary_key=True)
    activity_id = fields.CharField(max_length=500, unique=True)
    actor_uri = fields.CharField(max_length=500)
    type = fields.CharField(max_length=64)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(decoder=read_json)
    recipient: fields.ForeignKeyNullableRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="inbox_items", null=True, on_delete=fields.SET_NULL
    )
    recipient_id: int | None
    state = fields.CharEnumField(InboxState, max_length=16, default=InboxState.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    claim_token = fields.CharField(max_length=32, null=True)
    error = fields.TextField(null=True)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "inbox_item"
        table_description = "Verified incoming activities"
        indexes = (
            Index(fields=("state", "next_attempt_at")),
            Index(fields=("state", "received_at")),
        )
