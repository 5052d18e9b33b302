"""Follow relationships in both directions (local or remote on either side)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.actors import LocalActor, RemoteActor


class FollowState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Follow(Model):
    """One follow. `ap_id` is the id of the `Follow` activity, which `Accept`/`Undo` refer to."""

    id = fields.IntField(primary_key=True)
    ap_id = fields.CharField(max_length=500, unique=True)
    follower_uri = fields.CharField(max_length=500)
    target_uri = fields.CharField(max_length=500)
    local_follower: fields.ForeignKeyNullableRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="following_rel", null=True, on_delete=fields.CASCADE
    )
    local_follower_id: int | None
    local_target: fields.ForeignKeyNullableRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="followers_rel", null=True, on_delete=fields.CASCADE
    )
    local_target_id: int | None
    remote_follower: fields.ForeignKeyNullableRelation[RemoteActor] = fields.ForeignKeyField(
        "models.RemoteActor", related_name="following_rel", null=True, on_delete=fields.CASCADE
    )
    remote_follower_id: int | None
    remote_target: fields.ForeignKeyNullableRelation[RemoteActor] = fields.ForeignKeyField(
        "models.RemoteActor", related_name="followers_rel", null=True, on_delete=fields.CASCADE
    )
    remote_target_id: int | None
    state = fields.CharEnumField(FollowState, max_length=16, default=FollowState.PENDING)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "follow"
        table_description = "Follow relationships"
        unique_together = (("follower_uri", "target_uri"),)
        indexes = (Index(fields=("target_uri", "state")), Index(fields=("follower_uri", "state")))
