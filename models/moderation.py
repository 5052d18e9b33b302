"""Domain blocks, with Mastodon's levels: a suspended domain is cut off (nothing received from
it, fetched from it or sent to it, everything of it purged); a limited one stays federated but
its offers are kept out of search and out of the feeds of those who do not follow its authors.

A block of ``example.com`` covers its subdomains (``a.example.com``) on any port; a block that
names a port (``host:8443``) covers that authority only. The columns are those of Mastodon's
CSV export (``reject_media``, ``reject_reports``, ``obfuscate``), so a list moves both ways."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


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
