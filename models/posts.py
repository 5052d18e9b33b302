"""Posts that are not offers: a coop's announcements, members' replies, and the notes we
receive from the Fediverse (replies to our offers and posts, posts of the accounts members
follow), with the favourites and boosts our objects receive.

One table for every note, local or remote, so that a thread, a home feed and a ``replies``
collection are one query each. Remote HTML is stored sanitised (nh3), never as received.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.actors import LocalActor
from models.json_column import read_json


class Visibility(StrEnum):
    PUBLIC = "public"  # to Public
    UNLISTED = "unlisted"  # Public in cc only
    FOLLOWERS = "followers"  # the author's followers, not Public
    DIRECT = "direct"  # named recipients only


class PostKind(StrEnum):
    ANNOUNCEMENT = "announcement"  # a coop's (or member's) own public post
    REPLY = "reply"  # an answer to a post or an offer
    NOTE = "note"  # a remote post that answers nothing here


class Post(Model):
    id = fields.IntField(primary_key=True)
    ap_id = fields.CharField(max_length=500, unique=True)
    local_uuid = fields.CharField(max_length=36, null=True, unique=True)
    author: fields.ForeignKeyNullableRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="posts", null=True, on_delete=fields.CASCADE
    )
    author_id: int | None
    author_uri = fields.CharField(max_length=500)
    author_name = fields.CharField(max_length=200, default="")
    author_handle = fields.CharField(max_length=300, default="")  # @name@host
    kind = fields.CharEnumField(PostKind, max_length=16)
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PUBLIC)
    summary = fields.CharField(max_length=500, default="")  # a content warning
    content = fields.TextField(default="")  # sanitised HTML
    language = fields.CharField(max_length=16, default="")
    url = fields.CharField(max_length=500, default="")
    in_reply_to = fields.CharField(max_length=500, null=True)
    attachments: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(
        decoder=read_json, default=list
    )
    """``[{"url", "media_type", "description"}]``: shown as links, never fetched."""
    document: fields.JSONField[dict[str, Any] | None] = fields.JSONField(
        decoder=read_json, null=True
    )
    published_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    pinned_at = fields.DatetimeField(null=True)  # in the author's ``featured`` collection

    class Meta:
        table = "post"
        table_description = "Announcements, replies and followed accounts' posts"
        indexes = (
            Index(fields=["author_uri", "published_at"]),
            Index(fields=["in_reply_to", "published_at"]),
            Index(fields=["published_at"]),
        )


class ReactionKind(StrEnum):
    LIKE = "like"
    BOOST = "boost"


class Reaction(Model):
    """A favourite (``Like``) or a boost (``Announce``) of one of our offers or posts."""

    id = fields.IntField(primary_key=True)
    ap_id = fields.CharField(max_length=500, unique=True)  # the Like or Announce activity
    kind = fields.CharEnumField(ReactionKind, max_length=16)
    actor_uri = fields.CharField(max_length=500)
    object_uri = fields.CharField(max_length=500)
    created_at = fields.DatetimeField()

    class Meta:
        table = "reaction"
        table_description = "Favourites and boosts of our offers and posts"
        unique_together = (("kind", "actor_uri", "object_uri"),)
        indexes = (Index(fields=["object_uri", "kind"]),)
