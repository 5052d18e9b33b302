"""Mirroring: our directory actor follows another directory and merges its listing at each
upkeep, each entry marked with its source.

Another directory's listing is remote JSON: each entry is read through ``ListedInstance`` and
one that does not validate is skipped with a log line; a mirror that cannot be fetched or read
is skipped the same way, and the other mirrors are merged.
"""

from __future__ import annotations

import logging

from activitypub.directory import ListedInstance, RemoteListing, as_to_entry_fields
from activitypub.urls import listing_of
from federation.context import Federation
from federation.services.directory.actor import directory_actor
from federation.services.directory.membership import directory_actor_url
from federation.services.follows import follow
from models.directory import DirectoryEntry, EntryState
from models.errors import CoopubError, Malformed
from models.follows import Follow, FollowState

log = logging.getLogger(__name__)


async def mirror(fed: Federation, url: str) -> Follow:
    """Our directory actor follows another directory; its listing is merged at each upkeep."""
    return await follow(fed, await directory_actor(), directory_actor_url(url))


async def merge_mirrors(fed: Federation) -> int:
    """Merge the listings of mirrored directories; returns how many entries were merged.

    Entries whose source is this directory, or whose domain is listed here first-hand, are
    skipped: two directories mirroring each other do not bounce entries back and forth.
    """
    if not fed.directory.enabled:
        return 0
    directory = await directory_actor()
    own = fed.urls.actor(directory)
    merged = 0
    follows = await Follow.filter(local_follower=directory, state=FollowState.ACCEPTED)
    for record in follows:
        try:
            merged += await _merge_one(fed, record.target_uri, own)
        except CoopubError as exc:
            error = str(exc)
            log.warning("mirror skipped", extra={"directory": record.target_uri, "error": error})
    return merged


async def _merge_one(fed: Federation, source: str, own: str) -> int:
    """Merge one mirrored directory's listing; raises when the listing itself is unusable."""
    _, raw = await fed.http.get_json(listing_of(source), signer=await fed.instance_signer())
    merged = 0
    for raw_item in RemoteListing.parse(raw).orderedItems:
        try:
            item = ListedInstance.read(raw_item, default_source=source)
        except Malformed as exc:
            log.info("mirrored entry skipped", extra={"directory": source, "error": str(exc)})
            continue
        if item.source == own or await DirectoryEntry.exists(domain=item.domain, source=None):
            continue
        await DirectoryEntry.update_or_create(
            defaults={**as_to_entry_fields(item), "state": EntryState.ADMITTED},
            domain=item.domain,
            source=item.source,
        )
        merged += 1
    return merged
