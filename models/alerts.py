"""Saved searches and the offers that matched them: a matching offer arriving from any instance
shows on the member's home page and in their private Atom feed (``FeedPurpose.ALERTS``)."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.actors import LocalActor
from models.offers import Offer


class SavedSearch(Model):
    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="saved_searches", on_delete=fields.CASCADE
    )
    member_id: int
    name = fields.CharField(max_length=200, default="")
    """The member's label, or one made from the criteria."""
    kind = fields.CharField(max_length=16, null=True)
    """An ``OfferKind`` value, or any kind."""
    purpose = fields.CharField(max_length=16, null=True)
    """A ``Purpose`` value (offered or wanted), or both."""
    place = fields.CharField(max_length=200, null=True)
    """The place's name as the member confirmed it (shown), beside its position (used)."""
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    radius_km = fields.FloatField(default=25.0)
    date_from = fields.DatetimeField(null=True)
    date_to = fields.DatetimeField(null=True)
    min_quantity = fields.IntField(null=True)
    """Seats (rides), beds (stays) or capacity (deliveries) at least this."""
    text = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "saved_search"
        table_description = "Members' saved searches (alerts)"


class AlertMatch(Model):
    """An offer that matched a saved search when it arrived or changed; kept once per pair."""

    id = fields.IntField(primary_key=True)
    search: fields.ForeignKeyRelation[SavedSearch] = fields.ForeignKeyField(
        "models.SavedSearch", related_name="matches", on_delete=fields.CASCADE
    )
    search_id: int
    offer: fields.ForeignKeyRelation[Offer] = fields.ForeignKeyField(
        "models.Offer", related_name="alert_matches", on_delete=fields.CASCADE
    )
    offer_id: int
    member_id = fields.IntField()
    """The search's owner, repeated so the home page and the feed read one index."""
    matched_at = fields.DatetimeField()
    seen_at = fields.DatetimeField(null=True)

    class Meta:
        table = "alert_match"
        table_description = "Offers that matched a saved search"
        unique_together = (("search_id", "offer_id"),)
        indexes = (Index(fields=("member_id", "matched_at")),)
