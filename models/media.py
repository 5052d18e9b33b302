"""Images uploaded here (avatars, headers, announcement pictures): checked, resized and stored
as files under the instance's media directory; the row says what and whose."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.actors import LocalActor


class MediaPurpose(StrEnum):
    AVATAR = "avatar"
    HEADER = "header"
    ATTACHMENT = "attachment"


class Media(Model):
    id = fields.IntField(primary_key=True)
    uuid = fields.CharField(max_length=36, unique=True)
    owner: fields.ForeignKeyRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="media", on_delete=fields.CASCADE
    )
    owner_id: int
    purpose = fields.CharEnumField(MediaPurpose, max_length=16)
    filename = fields.CharField(max_length=100)  # under [media] directory; uuid + extension
    media_type = fields.CharField(max_length=32)  # image/png, image/jpeg, image/webp
    width = fields.IntField()
    height = fields.IntField()
    size_bytes = fields.IntField()
    description = fields.CharField(max_length=1500, default="")  # alt text
    created_at = fields.DatetimeField()

    class Meta:
        table = "media"
        table_description = "Uploaded images"
