"""Incoming activities: verify the signature, store once, process in the background.

The route answers 202 as soon as the activity is verified and stored; a worker dispatches it to
one small handler per type. Unknown types are stored as ignored, never an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError

from activitypub.apobject import APObject
from activitypub.urls import DIRECTORY_USERNAME, host_of
from federation.actors import actor_for_key, save_actor_document
from federation.context import Federation
from federation.delivery import host_answered
from federation.directory import directory_actor, on_join
from federation.follows import on_accept, on_follow, on_reject, on_undo_follow
from federation.offers import (
    backfill,
    on_announce,
    on_create,
    on_delete_offer,
    on_update_offer,
)
from federation.queue import claim_due
from federation.retry import next_delay
from federation.signatures import ParsedSignature, parse_signature, verify_signature
from models.activities import InboxItem, InboxState
from models.actors import ActorKind, LocalActor, RemoteActor
from models.errors import (
    CoopubError,
    KeyMismatch,
    Malformed,
    NotFound,
    RemoteUnavailable,
    SignatureInvalid,
)
from models.follows import Follow

log = logging.getLogger(__name__)

Handler = Callable[[Federation, APObject, RemoteActor], Awaitable[None]]
MAX_INBOX_ATTEMPTS = 5


@dataclass(frozen=True)
class Incoming:
    activity: APObject
    signer: RemoteActor | None
    """None only for a ``Delete`` of an actor whose key is already gone (nothing to do)."""


def parse_activity(body: bytes) -> APObject:
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Malformed(f"invalid JSON: {exc}", "Body is not valid JSON") from exc
    activity = APObject(raw)
    if not activity.type:
        raise Malformed("activity without a type", "Activity has no type")
    if not activity.actor_id:
        raise Malformed("activity without an actor", "Activity has no actor")
    return activity


def _check_signature(
    parsed: ParsedSignature,
    signer: RemoteActor,
    headers: Mapping[str, str],
    body: bytes | None,
    fed: Federation,
) -> None:
    if not signer.public_key_pem:
        raise SignatureInvalid(f"{signer.ap_id} publishes no key")
    verify_signature(
        parsed,
        signer.public_key_pem,
        headers=headers,
        body=body,
        now=datetime.now(UTC),
        max_skew_seconds=fed.settings.clock_skew_seconds,
    )


async def verify_request(
    fed: Federation, method: str, target_uri: str, headers: Mapping[str, str], body: bytes | None
) -> RemoteActor:
    """The remote actor who signed this request; refetches its key once if the check fails."""
    parsed = parse_signature(method, target_uri, headers)
    try:
        signer = await actor_for_key(fed, parsed.key_id)
    except CoopubError as exc:
        raise SignatureInvalid(f"cannot get key {parsed.key_id}: {exc}") from exc
    try:
        _check_signature(parsed, signer, headers, body, fed)
    except KeyMismatch as first:
        # Only a cryptographic mismatch justifies a refetch (a rotated key); a stale date or a
        # wrong digest would fail again, and refetching would let any request make us fetch.
        try:
            signer = await actor_for_key(fed, parsed.key_id, refresh=True)
        except CoopubError as exc:
            raise first from exc
        _check_signature(parsed, signer, headers, body, fed)
    return signer


async def verify_incoming(
    fed: Federation, method: str, target_uri: str, headers: Mapping[str, str], body: bytes
) -> Incoming:
    activity = parse_activity(body)
    try:
        signer = await verify_request(fed, method, target_uri, headers, body)
    except SignatureInvalid:
        if activity.is_a("Delete") and activity.actor_id == activity.object_id:
            known = await RemoteActor.get_or_none(ap_id=activity.actor_id or "")
            if known is None:
                return Incoming(activity, None)  # a stranger deleted: nothing of theirs here
        raise
    if signer.ap_id != activity.actor_id:
        raise SignatureInvalid(
            f"signed by {signer.ap_id} but actor is {activity.actor_id}",
            "The key owner is not the activity's actor",
        )
    if activity.id and host_of(activity.id) != host_of(signer.ap_id):
        raise SignatureInvalid(f"activity id {activity.id} is not on the actor's host")
    await host_answered(signer.domain, fed)
    return Incoming(activity, signer)


async def store_incoming(
    fed: Federation, incoming: Incoming, recipient: LocalActor | None, body: bytes
) -> bool:
    """Queue a verified activity; False when it was already received (dedupe by id)."""
    if incoming.signer is None:
        return False
    activity = incoming.activity
    activity_id = activity.id or "urn:sha256:" + hashlib.sha256(body).hexdigest()
    try:
        await InboxItem.create(
            activity_id=activity_id,
            actor_uri=incoming.signer.ap_id,
            type=activity.type[:64],
            payload=activity.raw,
            recipient=recipient,
            next_attempt_at=datetime.now(UTC),
        )
    except IntegrityError:
        log.info("duplicate activity ignored", extra={"activity": activity_id})
        return False
    fed.poke()
    return True


# --- dispatch ----------------------------------------------------------------------------


async def on_undo(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    inner = act.object
    if (inner is not None and inner.is_a("Follow")) or await Follow.exists(ap_id=act.object_id):
        await on_undo_follow(fed, act, signer)
        return
    raise NotFound(f"Undo of {act.object_id}: nothing to undo")


async def on_update(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    inner = act.object
    if await on_update_offer(fed, act, signer):
        return
    if inner is not None and inner.id == signer.ap_id:
        await save_actor_document(inner.raw)  # a profile change, signed by the actor itself
        return
    raise NotFound(f"Update of {act.object_id}: not something we keep")


async def on_delete(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    if await on_delete_offer(fed, act, signer):
        return
    if act.object_id == signer.ap_id:
        await RemoteActor.filter(id=signer.id).delete()  # follows go with it (cascade)
        log.info("remote actor deleted", extra={"actor": signer.ap_id})
        return
    raise NotFound(f"Delete of {act.object_id}: not something we keep")


async def on_follow_any(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    """A Follow of the directory actor is a request to be listed; others are plain follows."""
    if fed.directory.enabled and act.object_id == fed.urls.actor_for(
        ActorKind.DIRECTORY, DIRECTORY_USERNAME
    ):
        await on_join(fed, act, signer, await directory_actor())
        return
    await on_follow(fed, act, signer)


async def on_accept_and_backfill(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    """Our follow was accepted: fetch the open offers already in the actor's outbox."""
    await on_accept(fed, act, signer)
    await backfill(fed, signer)


HANDLERS: dict[str, Handler] = {
    "Follow": on_follow_any,
    "Accept": on_accept_and_backfill,
    "Create": on_create,
    "Announce": on_announce,
    "Reject": on_reject,
    "Undo": on_undo,
    "Update": on_update,
    "Delete": on_delete,
}
SAME_ORIGIN_OBJECT = frozenset({"Create", "Update", "Delete"})


async def dispatch(fed: Federation, item: InboxItem) -> InboxState:
    act = APObject(item.payload)
    handler = next((HANDLERS[t] for t in act.types if t in HANDLERS), None)
    if handler is None:
        log.info("activity type ignored", extra={"activity": item.activity_id, "type": act.type})
        return InboxState.IGNORED
    if act.type in SAME_ORIGIN_OBJECT and host_of(act.object_id or "") != host_of(item.actor_uri):
        log.warning("object not on the actor's host", extra={"activity": item.activity_id})
        return InboxState.IGNORED
    signer = await RemoteActor.get_or_none(ap_id=item.actor_uri)
    if signer is None:
        return InboxState.IGNORED  # deleted meanwhile
    try:
        await handler(fed, act, signer)
    except (NotFound, Malformed) as exc:
        log.info("activity ignored", extra={"activity": item.activity_id, "reason": str(exc)})
        return InboxState.IGNORED
    return InboxState.DONE


async def process_due(fed: Federation) -> int:
    """Process one batch of due inbox items; returns how many were handled."""
    items = await claim_due(InboxItem, InboxState.PENDING, fed.settings.worker_batch_size)
    for item in items:
        try:
            state, error = await dispatch(fed, item), None
        except RemoteUnavailable as exc:
            state, error = InboxState.PENDING, str(exc)
        except CoopubError as exc:
            state, error = InboxState.FAILED, str(exc)
        except Exception as exc:  # a bug or a database hiccup: retry, then give up, never wedge
            log.exception("inbox item failed", extra={"activity": item.activity_id})
            state, error = InboxState.PENDING, repr(exc)
        attempts = item.attempts + 1
        if state == InboxState.PENDING and attempts >= MAX_INBOX_ATTEMPTS:
            state = InboxState.FAILED
        delay = next_delay(attempts, fed.settings) if state == InboxState.PENDING else 0
        await InboxItem.filter(id=item.id).update(
            state=state,
            attempts=attempts,
            error=error,
            locked_until=None,
            next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
        )
    return len(items)
