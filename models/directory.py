"""The instance directory, directory side: the instances that asked to be listed.

The instance side needs no table of its own: joining a directory is its instance actor
following the directory's actor, an ordinary ``Follow``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.json_column import read_json


class EntryState(StrEnum):
    CANDIDATE = "candidate"
    ADMITTED = "admitted"
    REJECTED = "rejected"


class DirectoryEntry(Model):
    id = fields.IntField(primary_key=True)
    domain = fields.CharField(max_length=253)
    actor_uri = fields.CharField(max_length=500)
    inbox = fields.CharField(max_length=500, null=True)
    state = fields.CharEnumField(EntryState, max_length=16, default=EntryState.CANDIDATE)
    source = fields.CharField(max_length=500, null=True)
    """None for instances that joined here; else the directory we mirrored the entry from."""
    name = fields.CharField(max_length=200, default="")
    description = fields.TextField(default="")
    url = fields.CharField(max_length=500, default="")
    country_code = fields.CharField(max_length=2, null=True)
    city = fields.CharField(max_length=200, null=True)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    kinds: fields.JSONField[list[str]] = fields.JSONField(decoder=read_json, default=list)
    open_registrations = fields.BooleanField(null=True)
    chatons_member = fields.BooleanField(default=False)
    software_name = fields.CharField(max_length=100, default="")
    software_version = fields.CharField(max_length=100, default="")
    checks: fields.JSONField[dict[str, Any]] = fields.JSONField(decoder=read_json, default=dict)
    follow_ap_id = fields.CharField(max_length=500, null=True)
    first_seen_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(null=True)
    checked_at = fields.DatetimeField(null=True)
    failing_since = fields.DatetimeField(null=True)
    unreachable = fields.BooleanField(default=False)

    class Meta:
        table = "directory_entry"
        table_description = "Instances listed by this directory"
        unique_together = (("domain", "source"),)
        indexes = (Index(fields=("state", "domain")),)
