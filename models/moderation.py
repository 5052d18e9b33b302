"""Domain blocks, with Mastodon's levels: a suspended domain is cut off (nothing received from
it, fetched from it or sent to it, everything of it purged); a limited one stays federated but
its offers are kept out of search and out of the feeds of those who do not follow its authors.

A block of ``example.com`` covers its subdomains (``a.example.com``) on any port; a block that
names a port (``host:8443``) covers that authority only. The columns are those of Mastodon's
CSV export (``reject_media``, ``reject_reports``, ``obfuscate``), so a list moves both ways."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.actors import LocalActor
from models.json_column import read_json


class BlockSeverity(StrEnum):
    SUSPEND = "suspend"
    LIMIT = "limit"  # Mastodon's "silence"


class DomainBlock(Model):
    id = fields.IntField(primary_key=True)
    domain = fields.CharField(max_length=253, unique=True)
    """Lowercased host, IDNA-encoded (``xn--…``), optionally with ``:port``."""
    severity = fields.CharEnumField(BlockSeverity, max_length=16)
    public_comment = fields.TextField(default="")
    """Shown on ``/about/blocks`` when the list is public."""
    private_comment = fields.TextField(default="")
    """For the admins only."""
    reject_media = fields.BooleanField(default=False)
    reject_reports = fields.BooleanField(default=False)
    obfuscate = fields.BooleanField(default=False)
    """The public list shows the domain partly starred, as Mastodon does."""
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "domain_block"
        table_description = "Domains suspended or limited by the admins"


class ReportState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"  # a moderator acted (``ModerationAction.report``)
    DISMISSED = "dismissed"  # looked at, nothing to do


class Report(Model):
    """A report about an account and, optionally, some of its offers or posts: made by a member
    here, or received as a ``Flag`` from another server (Mastodon, GoToSocial, coopub)."""

    id = fields.IntField(primary_key=True)
    reporter: fields.ForeignKeyNullableRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="reports_made", null=True, on_delete=fields.SET_NULL
    )
    reporter_id: int | None
    """The member who reported here; None for a report received from another server."""
    origin_uri = fields.CharField(max_length=500, null=True)
    """The actor that sent the ``Flag`` (often a server's instance actor), for a remote report."""
    activity_id = fields.CharField(max_length=500, null=True, unique=True)
    """The received ``Flag``'s id (a redelivery makes no second report), or the id of the
    ``Flag`` we forwarded."""
    target_uri = fields.CharField(max_length=500)
    """The reported account."""
    object_uris: fields.JSONField[list[str]] = fields.JSONField(decoder=read_json, default=list)
    """The reported offers or posts (their ``id``s), if any."""
    comment = fields.TextField(default="")
    forward = fields.BooleanField(default=False)
    """The reporter asked to send it, without their name, to the account's server."""
    forwarded_at = fields.DatetimeField(null=True)
    state = fields.CharEnumField(ReportState, max_length=16, default=ReportState.OPEN)
    resolved_by: fields.ForeignKeyNullableRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="reports_resolved", null=True, on_delete=fields.SET_NULL
    )
    resolved_by_id: int | None
    resolved_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "report"
        table_description = "Reports about accounts, offers and posts"
        indexes = (Index(fields=("state", "created_at")), Index(fields=("target_uri",)))


class ActionKind(StrEnum):
    SILENCE = "silence"
    UNSILENCE = "unsilence"
    SUSPEND = "suspend"
    UNSUSPEND = "unsuspend"
    REMOVE_OFFER = "remove_offer"
    REMOVE_POST = "remove_post"
    DISMISS = "dismiss"  # a report closed without action


class ModerationAction(Model):
    """What a moderator did, to whom, and why: the instance's moderation log (kept when the
    account goes, so the admins can tell later what was decided)."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ActionKind, max_length=16)
    target_uri = fields.CharField(max_length=500)
    """The account acted on (local or remote)."""
    object_uri = fields.CharField(max_length=500, default="")
    """The offer or post removed, if any."""
    reason = fields.TextField(default="")
    moderator: fields.ForeignKeyNullableRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="moderation_actions", null=True, on_delete=fields.SET_NULL
    )
    moderator_id: int | None
    """None when done from the command line."""
    report: fields.ForeignKeyNullableRelation[Report] = fields.ForeignKeyField(
        "models.Report", related_name="actions", null=True, on_delete=fields.SET_NULL
    )
    report_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "moderation_action"
        table_description = "The moderation log"
        indexes = (Index(fields=("target_uri",)),)
