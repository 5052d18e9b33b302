"""Upkeep of the first-hand entries: rechecked every ``refresh_hours``; an instance failing its
checks is marked unreachable after ``unreachable_days`` and removed after ``remove_days``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from federation.context import Federation
from federation.services.directory.checks import check_candidate
from models.actors import RemoteActor
from models.directory import DirectoryEntry, EntryState

log = logging.getLogger(__name__)

BATCH = 20


async def refresh_entries(fed: Federation) -> int:
    """Recheck admitted entries older than ``refresh_hours``; mark or drop the unreachable."""
    now = datetime.now(UTC)
    settings = fed.directory
    due = await DirectoryEntry.filter(
        source=None,
        state=EntryState.ADMITTED,
        checked_at__lt=now - timedelta(hours=settings.refresh_hours),
    ).limit(BATCH)
    for entry in due:
        actor = await RemoteActor.get_or_none(ap_id=entry.actor_uri)
        if actor is None:
            await entry.delete()
            continue
        checks, fields = await check_candidate(fed, actor)
        entry.checked_at = now
        if checks.get("nodeinfo"):
            for key, value in fields.items():
                setattr(entry, key, value)
            entry.checks, entry.last_seen_at = checks, now
            entry.failing_since, entry.unreachable = None, False
        else:
            entry.failing_since = entry.failing_since or now
            down = now - entry.failing_since
            if down >= timedelta(days=settings.remove_days):
                log.warning("directory entry removed", extra={"domain": entry.domain})
                await entry.delete()
                continue
            entry.unreachable = down >= timedelta(days=settings.unreachable_days)
        await entry.save()
    return len(due)
