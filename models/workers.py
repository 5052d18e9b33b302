"""Worker heartbeats: each worker process says it is alive, so `/healthz` can tell a stalled
queue from an idle one, across processes and hosts sharing the database."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class WorkerHeartbeat(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    """``host:pid`` of the worker process."""
    started_at = fields.DatetimeField()
    beat_at = fields.DatetimeField()

    class Meta:
        table = "worker_heartbeat"
        table_description = "Last sign of life of each worker process"
