"""Incoming activities: verify the signature, store once, process in the background.

The route answers 202 as soon as the activity is verified and stored; a worker dispatches it to
one small handler per type. Unknown types are stored as ignored, never an error.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from activitypub.apobject import APObject, oversized_ids
from activitypub.json_body import load_json
from activitypub.urls import host_of
from federation.actors import actor_for_key
from federation.blocks import ActorSuspended, check_actor, check_uri, is_suspended
from federation.context import Federation, Handler
from federation.delivery import host_answered
from federation.outcome import Outcome, next_attempt, outcome_of
from federation.queue import claimed
from federation.signature_parsing import ParsedSignature, parse_signature
from federation.signatures import verify_signature
from models.activities import InboxItem, InboxState
from models.actors import LocalActor, RemoteActor
from models.errors import CoopubError, KeyMismatch, Malformed, SignatureInvalid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Incoming:
    activity: APObject
    signer: RemoteActor | None
    """None only for a ``Delete`` of an actor whose key is already gone (nothing to do)."""


def parse_activity(body: bytes) -> APObject:
    """The activity in ``body``, read with the limits of ``activitypub.json_body`` (depth,
    Unicode, finite numbers) and with ids a column can hold; else ``Malformed`` (400)."""
    activity = APObject(load_json(body))
    if oversized_ids(activity.raw):
        raise Malformed("an id over 500 characters", "Ids are at most 500 characters")
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
    """The remote actor who signed this request; refetches its key once if the check fails.
    A key on a suspended domain is refused (``DomainSuspended``, 403) before any fetch, a
    suspended account's signature (``ActorSuspended``, 403) once known."""
    parsed = parse_signature(method, target_uri, headers)
    await check_uri(parsed.key_id)
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
    if signer.suspended_at is not None:  # a signed GET by a suspended account
        raise ActorSuspended(f"actor suspended: {signer.ap_id}")
    return signer


async def verify_incoming(
    fed: Federation, method: str, target_uri: str, headers: Mapping[str, str], body: bytes
) -> Incoming:
    activity = parse_activity(body)
    await check_uri(activity.actor_id)  # a suspended domain: 403 before any key fetch
    await check_actor(activity.actor_id)  # a suspended account: the same
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


SAME_ORIGIN_OBJECT = frozenset({"Create", "Update", "Delete"})
"""Types whose object must live on the signer's host (no acting on another server's objects)."""


async def dispatch(fed: Federation, item: InboxItem) -> InboxState:
    """Run the handler registered for the activity's type (``fed.handlers``, filled by the
    services from above); raises what the handler raises."""
    act = APObject(item.payload)
    handler: Handler | None = next((fed.handlers[t] for t in act.types if t in fed.handlers), None)
    if handler is None:
        log.info("activity type ignored", extra={"activity": item.activity_id, "type": act.type})
        return InboxState.IGNORED
    if act.type in SAME_ORIGIN_OBJECT and host_of(act.object_id or "") != host_of(item.actor_uri):
        log.warning("object not on the actor's host", extra={"activity": item.activity_id})
        return InboxState.IGNORED
    if await is_suspended(host_of(item.actor_uri)):
        log.info("activity of a suspended domain", extra={"activity": item.activity_id})
        return InboxState.IGNORED  # received before the suspension
    signer = await RemoteActor.get_or_none(ap_id=item.actor_uri)
    if signer is None:
        return InboxState.IGNORED  # deleted meanwhile
    if signer.suspended_at is not None:
        log.info("activity of a suspended account", extra={"activity": item.activity_id})
        return InboxState.IGNORED  # received before the suspension
    await handler(fed, act, signer)
    return InboxState.DONE


STATE_OF = {Outcome.IGNORE: InboxState.IGNORED, Outcome.FAIL: InboxState.FAILED}


async def process_one(fed: Federation, item: InboxItem) -> None:
    """Dispatch one item and record its outcome (federation/outcome.py: retry, ignore, fail)."""
    attempts = item.attempts + 1
    retry_at = None
    try:
        state, error = await dispatch(fed, item), None
    except Exception as exc:  # every failure is classified by the one outcome policy
        outcome, error = outcome_of(exc), str(exc) or repr(exc)
        extra = {"activity": item.activity_id, "outcome": outcome.value, "reason": error}
        if outcome is Outcome.RETRY:
            retry_at = next_attempt(attempts, item.received_at, fed.settings)
        state = InboxState.PENDING if retry_at else STATE_OF.get(outcome, InboxState.FAILED)
        if state == InboxState.IGNORED:
            error = None  # not a failure: the reason is in the log line
        if isinstance(exc, CoopubError) or item.attempts:
            log.info("activity not processed", extra=extra)  # one line, no traceback
        else:  # an unforeseen error, the first time: its traceback is worth having
            log.error("activity not processed", extra=extra, exc_info=exc)
    await InboxItem.filter(id=item.id).update(
        state=state,
        attempts=attempts,
        error=error,
        locked_until=None,
        next_attempt_at=retry_at or datetime.now(UTC),
    )


async def process_due(fed: Federation) -> int:
    """Process one batch of due inbox items (their lease renewed meanwhile); returns how many
    were handled."""
    async with claimed(InboxItem, InboxState.PENDING, fed.settings) as items:
        for item in items:
            await process_one(fed, item)
    return len(items)
