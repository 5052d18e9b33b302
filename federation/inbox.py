"""Incoming activities: verify the signature, store once, process in the background.

The route answers 202 as soon as the activity is verified and stored; a worker dispatches it to
one small handler per type. Unknown types are stored as ignored, never an error.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, cast, runtime_checkable

from tortoise.expressions import F

from activitypub.apobject import APObject, oversized_ids
from activitypub.json_body import load_json, past_the_depth
from activitypub.urls import host_of
from federation.actors import actor_for_key, known_key_owner
from federation.blocks import ActorSuspended, check_actor, check_uri, is_suspended
from federation.context import Federation, Handler
from federation.delivery import LARGEST_CLAIM, PASS_SECONDS, host_answered
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
    fed: Federation,
    method: str,
    target_uri: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    actor_id: str | None = None,
) -> RemoteActor:
    """The remote actor who signed this request; refetches its key once if the check fails.
    A key on a suspended domain is refused (``DomainSuspended``, 403) before any fetch, a
    suspended account's signature (``ActorSuspended``, 403) once known; so is a request for
    ``actor_id`` (the activity's actor) when that account is suspended, before any fetch.

    The common case reads nothing: the key's owner, held by this process for a few seconds
    (``actors.known_key_owner``), whose row also says whether the account is suspended."""
    parsed = parse_signature(method, target_uri, headers)
    await check_uri(parsed.key_id)
    signer = await known_key_owner(parsed.key_id)
    if signer is not None and signer.ap_id == actor_id and signer.suspended_at is not None:
        raise ActorSuspended(f"actor suspended: {actor_id}")
    if signer is None or signer.ap_id != actor_id:
        await check_actor(actor_id)  # not known by this key: the account's own row says
    if signer is None:
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
    try:  # a suspended account: the same (checked with the key's owner, see verify_request)
        signer = await verify_request(
            fed, method, target_uri, headers, body, actor_id=activity.actor_id
        )
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
    await _host_answered(signer.domain, fed)
    return Incoming(activity, signer)


HOST_CHECK_SECONDS = 60.0
"""How often one process tells the delivery side that a host which keeps sending is reachable
(``delivery.host_answered``: a read, and a write when it was failing)."""

_host_checked: dict[str, float] = {}


async def _host_answered(domain: str, fed: Federation) -> None:
    """``host_answered`` at most once per host per minute and process: every request from a
    busy host would otherwise cost a query, and what it does changes at most once."""
    now = time.monotonic()
    if now - _host_checked.get(domain, -math.inf) < HOST_CHECK_SECONDS:
        return
    await host_answered(domain, fed)
    if len(_host_checked) > 10_000:
        _host_checked.clear()
    _host_checked[domain] = now


async def store_incoming(
    fed: Federation, incoming: Incoming, recipient: LocalActor | None, body: bytes
) -> bool:
    """Queue a verified activity; False when it was already received (dedupe by id)."""
    if incoming.signer is None:
        return False
    activity = incoming.activity
    activity_id = activity.id or "urn:sha256:" + hashlib.sha256(body).hexdigest()
    stored = await fed.inbox_writes.add(
        activity_id=activity_id,
        actor_uri=incoming.signer.ap_id,
        type=activity.type[:64],
        payload=activity.raw,
        recipient=recipient,
        next_attempt_at=datetime.now(UTC),
    )
    if not stored:
        log.info("duplicate activity ignored", extra={"activity": activity_id})
        return False
    fed.poke()
    return True


# --- dispatch ----------------------------------------------------------------------------


SAME_ORIGIN_OBJECT = frozenset({"Create", "Update", "Delete"})
"""Types whose object must live on the signer's host (no acting on another server's objects)."""


@runtime_checkable
class BatchHandler(Protocol):
    """A handler that also takes several activities of its type at once (``many``), for a
    worker batch: fewer statements than one call per activity, the same effects in the same
    order. ``many`` returns, per activity, the exception its single call would have raised
    (classified by the outcome policy), or None when it was handled."""

    async def __call__(self, fed: Federation, act: APObject, signer: RemoteActor) -> None: ...

    async def many(
        self, fed: Federation, items: Sequence[tuple[APObject, RemoteActor]]
    ) -> list[Exception | None]: ...


@dataclass(frozen=True)
class _Ready:
    """An item that passed the checks: what to call, with what."""

    handler: Handler
    act: APObject
    signer: RemoteActor


async def _checked(
    fed: Federation, item: InboxItem, signers: dict[str, RemoteActor | None] | None
) -> InboxState | _Ready:
    """The checks of ``dispatch`` before its handler runs: the state to record when the item is
    not for a handler (ignored), else the handler and its arguments."""
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
    if signers is not None and item.actor_uri in signers:
        signer = signers[item.actor_uri]
    else:
        signer = await RemoteActor.get_or_none(ap_id=item.actor_uri)
    if signer is None:
        return InboxState.IGNORED  # deleted meanwhile
    if signer.suspended_at is not None:
        log.info("activity of a suspended account", extra={"activity": item.activity_id})
        return InboxState.IGNORED  # received before the suspension
    return _Ready(handler, act, signer)


async def dispatch(
    fed: Federation, item: InboxItem, signers: dict[str, RemoteActor | None] | None = None
) -> InboxState:
    """Run the handler registered for the activity's type (``fed.handlers``, filled by the
    services from above); raises what the handler raises. ``signers`` holds the batch's
    signers read at once (``process_due``); absent ones are read here."""
    ready = await _checked(fed, item, signers)
    if isinstance(ready, InboxState):
        return ready
    await ready.handler(fed, ready.act, ready.signer)
    return InboxState.DONE


STATE_OF = {Outcome.IGNORE: InboxState.IGNORED, Outcome.FAIL: InboxState.FAILED}

ACTOR_CHANGING = frozenset({"Delete", "Update", "Move", "Block", "Flag"})
"""Types whose handling may change or remove the signer's row: the batch reads it again."""


@dataclass(frozen=True)
class _Result:
    state: InboxState
    error: str | None = None
    retry_at: datetime | None = None


async def _outcome(
    fed: Federation, item: InboxItem, signers: dict[str, RemoteActor | None] | None
) -> _Result:
    """Dispatch one item; what its row should become (federation/outcome.py: retry, ignore,
    fail)."""
    try:
        return _Result(await dispatch(fed, item, signers))
    except Exception as exc:  # every failure is classified by the one outcome policy
        return _failed(fed, item, exc)


def _failed(fed: Federation, item: InboxItem, exc: Exception) -> _Result:
    """What the row of an item whose handling raised ``exc`` becomes, logged."""
    attempts, exc = item.attempts + 1, past_the_depth(item.payload, exc)
    outcome = outcome_of(exc)
    error: str | None = str(exc) or repr(exc)
    extra = {"activity": item.activity_id, "outcome": outcome.value, "reason": error}
    retry_at = None
    if outcome is Outcome.RETRY:
        retry_at = next_attempt(attempts, item.received_at, fed.settings)
    state = InboxState.PENDING if retry_at else STATE_OF.get(outcome, InboxState.FAILED)
    if state == InboxState.IGNORED:
        error = None  # not a failure: the reason is in the log line
    if isinstance(exc, CoopubError) or item.attempts:
        log.info("activity not processed", extra=extra)  # one line, no traceback
    else:  # an unforeseen error, the first time: its traceback is worth having
        log.error("activity not processed", extra=extra, exc_info=exc)
    return _Result(state, error, retry_at)


async def _record(items: list[tuple[InboxItem, _Result]]) -> None:
    """Outcomes in one ``UPDATE`` per final state (done, ignored without error); a retry or a
    failure, rare, has a row of its own (its error and next attempt)."""
    now = datetime.now(UTC)
    plain: dict[InboxState, list[int]] = {}
    for item, result in items:
        if result.error is None and result.retry_at is None:
            plain.setdefault(result.state, []).append(item.id)
            continue
        await InboxItem.filter(id=item.id).update(
            state=result.state,
            attempts=item.attempts + 1,
            error=result.error,
            locked_until=None,
            next_attempt_at=result.retry_at or now,
        )
    for state, ids in plain.items():
        await InboxItem.filter(id__in=ids).update(
            state=state,
            attempts=F("attempts") + 1,
            error=None,
            locked_until=None,
            next_attempt_at=now,
        )


async def process_one(fed: Federation, item: InboxItem) -> None:
    """Dispatch one item and record its outcome (federation/outcome.py: retry, ignore, fail)."""
    await _record([(item, await _outcome(fed, item, None))])


RECORD_EVERY = 50
"""Outcomes written together at most this many at a time (a batch killed midway redoes at
most these; receivers of what they cause dedupe by id)."""


def _batchable(item: InboxItem, ready: _Ready) -> bool:
    """Whether the item waits to be handled with the next ones of its batch handler."""
    return isinstance(ready.handler, BatchHandler) and item.type not in ACTOR_CHANGING


async def _handled(fed: Federation, item: InboxItem, ready: _Ready | InboxState) -> _Result:
    """What the row of an item handled on its own becomes (its handler run, if it has one)."""
    if isinstance(ready, InboxState):
        return _Result(ready)
    try:
        await ready.handler(fed, ready.act, ready.signer)
    except Exception as exc:  # every failure is classified by the one outcome policy
        return _failed(fed, item, exc)
    return _Result(InboxState.DONE)


async def process_due(fed: Federation) -> int:
    """Process due inbox items a batch at a time; returns how many were handled. The first
    batch is ``worker_batch_size``; while batches come back full (a long queue), each next one
    is twice as large, up to ``LARGEST_CLAIM``, for at most ``PASS_SECONDS``: as deliveries are
    claimed, so that a claim's statements are shared by more items."""
    size, handled = fed.settings.worker_batch_size, 0
    stop_at = time.monotonic() + PASS_SECONDS
    while True:
        count = await _process_batch(fed, size)
        handled += count
        if count < size or time.monotonic() >= stop_at:
            return handled
        size = min(2 * size, max(LARGEST_CLAIM, fed.settings.worker_batch_size))


async def _process_batch(fed: Federation, size: int) -> int:
    """Process one batch of due inbox items (their lease renewed meanwhile). The batch's
    signers are read in one query, consecutive items of one ``BatchHandler`` handled in one
    call, the outcomes written in one statement per state."""
    async with claimed(InboxItem, InboxState.PENDING, fed.settings, size) as items:
        uris = {item.actor_uri for item in items}
        signers: dict[str, RemoteActor | None] = dict.fromkeys(uris)
        for actor in await RemoteActor.filter(ap_id__in=list(uris)) if uris else []:
            signers[actor.ap_id] = actor
        done: list[tuple[InboxItem, _Result]] = []
        waiting: list[tuple[InboxItem, _Ready]] = []
        for item in items:
            try:
                ready: _Ready | InboxState | _Result = await _checked(fed, item, signers)
            except Exception as exc:  # classified by the one outcome policy
                ready = _failed(fed, item, exc)
            if isinstance(ready, _Ready) and _batchable(item, ready):
                if waiting and waiting[0][1].handler is not ready.handler:
                    done += await _flush(fed, waiting)
                waiting.append((item, ready))
                if len(waiting) >= RECORD_EVERY:
                    done += await _flush(fed, waiting)
            else:
                done += await _flush(fed, waiting)
                result = ready if isinstance(ready, _Result) else await _handled(fed, item, ready)
                done.append((item, result))
                if item.type in ACTOR_CHANGING:
                    signers.pop(item.actor_uri, None)  # read again for its next item
            if len(done) >= RECORD_EVERY:
                await _record(done)
                done = []
        await _record([*done, *await _flush(fed, waiting)])
    return len(items)


async def _flush(
    fed: Federation, waiting: list[tuple[InboxItem, _Ready]]
) -> list[tuple[InboxItem, _Result]]:
    """Handle the items waiting for their batch handler (emptying ``waiting``): one call of
    its ``many``; their outcomes."""
    if not waiting:
        return []
    ready, handler = list(waiting), cast(BatchHandler, waiting[0][1].handler)
    waiting.clear()
    try:
        raised = await handler.many(fed, [(r.act, r.signer) for _, r in ready])
    except Exception as exc:  # the whole call failed: each item as if its own call had
        raised = [exc] * len(ready)
    return [
        (item, _failed(fed, item, exc) if exc else _Result(InboxState.DONE))
        for (item, _), exc in zip(ready, raised, strict=True)
    ]
