"""Actors: the ones this instance hosts, and the cached copies of remote ones."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.json_column import read_json


class ActorKind(StrEnum):
    INSTANCE = "instance"
    COOP = "coop"
    MEMBER = "member"
    DIRECTORY = "directory"


class LocalActor(Model):
    """An actor hosted here. Its keys are generated once and never change behind peers' backs."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ActorKind, max_length=16)
    username = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200, default="")
    summary = fields.TextField(default="")
    locked = fields.BooleanField(default=False)
    coop: fields.ForeignKeyNullableRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="members", null=True, on_delete=fields.RESTRICT
    )
    coop_id: int | None
    email = fields.CharField(max_length=254, null=True)
    password_hash = fields.CharField(max_length=255, null=True)
    is_admin = fields.BooleanField(default=False, db_default=False)
    """May open the admin page (instance settings, directory, delivery queue). ``db_default``
    matches migration 0005, so ``makemigrations`` finds nothing to alter on this table."""
    coop_admin = fields.BooleanField(default=False, db_default=False)
    """Admins their own coop (``coop``): approves who joins it, invites people to it."""
    disabled = fields.BooleanField(default=False, db_default=False)
    """May not log in nor use API tokens (``coopub member disable``); still federated."""
    deleted_at = fields.DatetimeField(null=True)
    """Set by ``coopub member delete``: the actor answers 410 Gone, its name stays reserved and
    its keys stay to sign the ``Delete`` that tells other servers."""
    private_key_pem = fields.TextField()
    public_key_pem = fields.TextField()
    profile_fields: fields.JSONField[list[dict[str, str]] | None] = fields.JSONField(
        decoder=read_json, null=True
    )
    """``[{"name", "value"}]``: website, area served…, sent as ``PropertyValue`` attachments."""
    avatar_uuid = fields.CharField(max_length=36, null=True)  # a models.media.Media
    header_uuid = fields.CharField(max_length=36, null=True)
    silenced_at = fields.DatetimeField(null=True)
    """Set by a moderator: its offers and posts stay out of search, tags and others' feeds
    unless followed (Mastodon's "limit"); it can still log in and publish."""
    suspended_at = fields.DatetimeField(null=True)
    """Set by a moderator: cannot log in, its actor and offers are hidden; reversible (the
    row, keys and follows are kept, unlike ``deleted_at``)."""
    also_known_as: fields.JSONField[list[str] | None] = fields.JSONField(
        decoder=read_json, null=True
    )
    """Its other accounts (``alsoKnownAs``): an account moving here names the old one so that
    the old one's ``Move`` is believed."""
    moved_to = fields.CharField(max_length=500, null=True)
    """The account it moved to (``movedTo``); set when the member sends ``Move``."""
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "local_actor"
        table_description = "Actors hosted on this instance"

    def __str__(self) -> str:
        return f"{self.kind}:{self.username}"


class RemoteActor(Model):
    """A remote actor as last fetched: its inboxes and key, plus the document as fetched."""

    id = fields.IntField(primary_key=True)
    ap_id = fields.CharField(max_length=500, unique=True)
    type = fields.CharField(max_length=32)
    username = fields.CharField(max_length=200)
    domain = fields.CharField(max_length=253)
    name = fields.TextField(default="")
    summary = fields.TextField(default="")
    url = fields.CharField(max_length=500, null=True)
    icon_url = fields.CharField(max_length=500, null=True)
    inbox = fields.CharField(max_length=500)
    shared_inbox = fields.CharField(max_length=500, null=True)
    outbox = fields.CharField(max_length=500, null=True)
    followers_url = fields.CharField(max_length=500, null=True)
    following_url = fields.CharField(max_length=500, null=True)
    key_id = fields.CharField(max_length=500, null=True)
    public_key_pem = fields.TextField(null=True)
    locked = fields.BooleanField(default=False)
    document: fields.JSONField[dict[str, Any]] = fields.JSONField(decoder=read_json, default=dict)
    fetched_at = fields.DatetimeField()
    silenced_at = fields.DatetimeField(null=True)
    """Set by a moderator here: as a limited domain, for this one account."""
    suspended_at = fields.DatetimeField(null=True)
    """Set by a moderator here: its activities are refused and its content purged; the row
    stays (a refetch must not forget the suspension)."""

    class Meta:
        table = "remote_actor"
        table_description = "Cached remote actors"
        indexes = (Index(fields=("key_id",)), Index(fields=("domain", "username")))

    @property
    def handle(self) -> str:
        return f"{self.username}@{self.domain}"

    @property
    def delivery_inbox(self) -> str:
        return self.shared_inbox or self.inbox
