"""Offers (rides, delivery jobs, stays): local ones and the remote copies we received.

Searchable facts are columns with indexes (the spatial and text ones, on expressions or in
virtual tables, come from migration 0015: ``federation/services/search_index.py``);
kind-specific details are a JSON document. A stay's
exact address lives in ``private`` and never leaves this instance except to a confirmed guest.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.actors import LocalActor
from models.json_column import read_json


class OfferKind(StrEnum):
    RIDE = "ride"
    DELIVERY_JOB = "delivery_job"
    STAY = "stay"


class Purpose(StrEnum):
    OFFER = "offer"
    REQUEST = "request"


class OfferStatus(StrEnum):
    OPEN = "open"
    FULL = "full"
    CLOSED = "closed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    ASSIGNED = "assigned"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    FAILED = "failed"


class Offer(Model):
    id = fields.IntField(primary_key=True)
    ap_id = fields.CharField(max_length=500, unique=True)
    local_uuid = fields.CharField(max_length=36, null=True, unique=True)
    author: fields.ForeignKeyNullableRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="offers", null=True, on_delete=fields.CASCADE
    )
    author_id: int | None
    author_uri = fields.CharField(max_length=500)
    author_name = fields.CharField(max_length=200, default="")
    coop_uri = fields.CharField(max_length=500, null=True)
    instance_domain = fields.CharField(max_length=253)
    kind = fields.CharEnumField(OfferKind, max_length=16)
    purpose = fields.CharEnumField(Purpose, max_length=16)
    status = fields.CharEnumField(OfferStatus, max_length=16, default=OfferStatus.OPEN)
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    language = fields.CharField(max_length=16, default="fr")
    place_name = fields.CharField(max_length=200, default="")
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    dest_name = fields.CharField(max_length=200, default="")
    dest_latitude = fields.FloatField(null=True)
    dest_longitude = fields.FloatField(null=True)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField(null=True)
    timezone = fields.CharField(max_length=64, default="UTC")
    quantity_total = fields.IntField(null=True)
    quantity_available = fields.IntField(null=True)
    price_cents = fields.IntField(null=True)
    currency = fields.CharField(max_length=3, default="EUR")
    details: fields.JSONField[dict[str, Any]] = fields.JSONField(decoder=read_json, default=dict)
    private: fields.JSONField[dict[str, Any]] = fields.JSONField(decoder=read_json, default=dict)
    document: fields.JSONField[dict[str, Any] | None] = fields.JSONField(
        decoder=read_json, null=True
    )
    published_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    pinned_at = fields.DatetimeField(null=True)  # in the author's ``featured`` collection

    class Meta:
        table = "offer"
        table_description = "Offers published here or received from other instances"
        indexes = (
            # the search's order (``starts_at, id``), within a status or over them all
            Index(fields=("kind", "status", "starts_at", "id")),
            Index(fields=("status", "starts_at", "id")),
            Index(fields=("starts_at", "id")),
            Index(fields=("expires_at",)),
            Index(fields=("author_uri", "status")),
        )

    @property
    def is_local(self) -> bool:
        return self.local_uuid is not None


class ApiToken(Model):
    """A member's API token; only its SHA-256 is stored."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="api_tokens", on_delete=fields.CASCADE
    )
    member_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    label = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"
        table_description = "API tokens of members"
