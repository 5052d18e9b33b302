"""Admission: a Follow of the directory actor is a candidacy, checked at once, then admitted
(open mode, or by an operator in manual mode) or rejected; the answer is the Follow's."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

from activitypub.apobject import APObject
from activitypub.urls import match_path
from federation.context import Federation
from federation.services.directory.actor import directory_actor
from federation.services.directory.checks import check_candidate, passed
from federation.services.directory.relay import Progress, backfill_entry, relay_held
from federation.services.follows import decide
from models.actors import LocalActor, RemoteActor
from models.directory import DirectoryEntry, EntryState
from models.errors import Blocked, NotFound
from models.follows import Follow, FollowState

log = logging.getLogger(__name__)


async def on_join(
    fed: Federation, act: APObject, signer: RemoteActor, directory: LocalActor
) -> None:
    """A Follow of the directory actor: a candidate. Checked at once; admitted in open mode.

    Another directory's actor following ours mirrors our (public) listing: accepted, not listed.
    An entry is its instance actor's: another actor of the same host is refused, nothing kept.
    """
    if act.id is None:
        raise NotFound("Follow without an id")
    at_directory_path = match_path("directory_actor", urlsplit(signer.ap_id).path) is not None
    mirror = at_directory_path and signer.type == "Service"
    held = await DirectoryEntry.get_or_none(domain=signer.domain, source=None)
    if not mirror and held is not None and held.actor_uri != signer.ap_id:
        raise Blocked(f"{signer.ap_id} asked to join as {held.actor_uri}")
    await Follow.update_or_create(
        defaults={
            "ap_id": act.id,
            "remote_follower": signer,
            "local_target": directory,
            "state": FollowState.ACCEPTED if mirror else FollowState.PENDING,
        },
        follower_uri=signer.ap_id,
        target_uri=fed.urls.actor(directory),
    )
    if mirror:
        await decide(fed, directory, signer.ap_id, accept=True)
        log.info("mirrored by another directory", extra={"directory": signer.ap_id})
        return
    checks, fields = await check_candidate(fed, signer)
    entry, _ = await DirectoryEntry.update_or_create(
        defaults={
            **fields,
            "actor_uri": signer.ap_id,
            "inbox": signer.delivery_inbox,
            "checks": checks,
            "follow_ap_id": act.id,
            "checked_at": datetime.now(UTC),
            "last_seen_at": datetime.now(UTC),
        },
        domain=signer.domain,
        source=None,
    )
    if entry.state == EntryState.ADMITTED:
        await decide(fed, directory, signer.ap_id, accept=True)  # a repeated join
        return
    log.info("directory candidate", extra={"domain": entry.domain, "checks": checks})
    if not passed(checks):
        await _set_state(fed, entry, EntryState.REJECTED)
    elif fed.directory.admission == "open":
        await admit(fed, entry.domain)


async def _entry(domain: str) -> DirectoryEntry:
    entry = await DirectoryEntry.get_or_none(domain=domain.lower(), source=None)
    if entry is None:
        raise NotFound(f"no candidate {domain}", f"No instance {domain} asked to join")
    return entry


async def _set_state(fed: Federation, entry: DirectoryEntry, state: EntryState) -> None:
    entry.state = state
    await entry.save(update_fields=["state"])
    directory = await directory_actor()
    await decide(fed, directory, entry.actor_uri, accept=state == EntryState.ADMITTED)
    log.info("directory decision", extra={"domain": entry.domain, "state": state.value})


async def admit(fed: Federation, domain: str, progress: Progress | None = None) -> int:
    """Admit an instance, backfill it with the open offers of the directory, and relay those
    of its own already held here; it sends the rest on our ``Accept``. Returns the backfill's
    count."""
    entry = await _entry(domain)
    await _set_state(fed, entry, EntryState.ADMITTED)
    sent = await backfill_entry(fed, entry, progress)
    await relay_held(fed, entry)
    return sent


async def reject(fed: Federation, domain: str) -> None:
    await _set_state(fed, await _entry(domain), EntryState.REJECTED)
