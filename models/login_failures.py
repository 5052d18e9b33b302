"""Failed logins, counted per account and per client address, so that a lockout holds across
web processes and restarts (``instance/login_limits.py`` decides; the upkeep forgets)."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

KEY_LENGTH = 120


class LoginFailure(Model):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=KEY_LENGTH, unique=True)
    """``account:<username>`` or ``address:<client address>`` (an IPv6 /64)."""
    failures = fields.IntField(default=0)
    """Wrong passwords since the last success or since the count was forgotten."""
    locked_until = fields.DatetimeField(null=True)
    last_failed_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    """Forgotten after this (the last failure plus ``login_forget_hours``, or the lock's end if
    later): the count starts over and the worker's upkeep deletes the row."""

    class Meta:
        table = "login_failure"
        indexes = (Index(fields=("expires_at",)),)  # the upkeep's purge
        table_description = "Failed logins per account and per client address (rate limits)"
