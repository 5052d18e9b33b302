"""What a deleted local offer's URL answers: the offer row is gone, its ``Delete`` is kept (it
is in the author's outbox and may still be retried), and says when."""

from __future__ import annotations

from datetime import datetime

from activitypub.urls import is_uuid
from federation.context import Federation
from models.activities import Activity


async def offer_deleted_at(fed: Federation, local_uuid: str) -> datetime | None:
    """When the local offer at this id was deleted, else None: its URL then answers 410 with a
    ``Tombstone``, as a deleted post's does (``posting.deleted_at``)."""
    if not is_uuid(local_uuid):
        return None
    uri = fed.urls.url("offer", uuid=local_uuid)
    # the first, with filter().first(): two deletions racing may each have published one
    gone = await Activity.filter(type="Delete", object_uri=uri).order_by("id").first()
    return gone.created_at if gone is not None else None
