"""What the URL of a deleted local offer or post answers: its row is gone, its ``Delete`` is
kept (it is in the author's outbox and may still be retried), and says when: 410 Gone with a
``Tombstone``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from activitypub.urls import is_uuid
from federation.context import Federation
from models.activities import Activity


async def deleted_at(
    fed: Federation, kind: Literal["offer", "post"], local_uuid: str
) -> datetime | None:
    """When the local offer or post at this id was deleted, else None."""
    if not is_uuid(local_uuid):
        return None
    uri = fed.urls.url(kind, uuid=local_uuid)
    # the first: two deletions racing may each have published a Delete
    gone = await Activity.filter(type="Delete", object_uri=uri).order_by("id").first()
    return gone.created_at if gone is not None else None
