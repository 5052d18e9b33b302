"""Follows: asking to follow (local → anywhere), and answering follows of local actors."""

from __future__ import annotations

import logging

from activitypub.activities import accept_follow, follow_to_as, reject_follow, undo_follow
from activitypub.apobject import APObject
from federation.actors import fetch_actor
from federation.context import Federation
from federation.delivery import publish
from federation.services.notifications import notify_follow
from federation.webfinger import resolve
from models.actors import LocalActor, RemoteActor
from models.errors import Blocked, Conflict, NotFound
from models.follows import Follow, FollowState

log = logging.getLogger(__name__)


async def local_actor_by_uri(fed: Federation, uri: str | None) -> LocalActor:
    parsed = fed.urls.parse_actor(uri or "")
    actor = (
        await LocalActor.get_or_none(kind=parsed[0], username=parsed[1], deleted_at=None)
        if parsed
        else None
    )
    if actor is None:
        raise NotFound(f"no local actor {uri}")
    return actor


async def follow(fed: Federation, follower: LocalActor, target: str) -> Follow:
    """Make ``follower`` follow ``target`` (``@name@host`` or an actor URL).

    A remote target gets a signed ``Follow``; the follow stays pending until its ``Accept``.
    """
    follower_uri = fed.urls.actor(follower)
    target_uri = await resolve(fed, target)
    if target_uri == follower_uri:
        raise Conflict("an actor cannot follow itself", "An actor cannot follow itself")
    existing = await Follow.get_or_none(follower_uri=follower_uri, target_uri=target_uri)
    if fed.urls.is_local(target_uri):
        local_target = await local_actor_by_uri(fed, target_uri)
        state = FollowState.PENDING if local_target.locked else FollowState.ACCEPTED
        if existing:
            return existing
        record = await Follow.create(
            ap_id=fed.urls.new_activity_id(),
            follower_uri=follower_uri,
            target_uri=target_uri,
            local_follower=follower,
            local_target=local_target,
            state=state,
        )
        await notify_follow(record, local_target.id, follower.name or follower.username)
        return record
    remote = await fetch_actor(fed, target_uri)
    if existing and existing.state == FollowState.ACCEPTED:
        return existing
    follow_id = fed.urls.new_activity_id()
    if existing:  # pending or rejected: ask again with a new activity
        existing.ap_id, existing.state = follow_id, FollowState.PENDING
        await existing.save()
        record = existing
    else:
        record = await Follow.create(
            ap_id=follow_id,
            follower_uri=follower_uri,
            target_uri=remote.ap_id,
            local_follower=follower,
            remote_target=remote,
        )
    await publish(
        fed, follower, follow_to_as(follow_id, follower_uri, remote.ap_id), [remote.inbox]
    )
    return record


async def unfollow(fed: Federation, follower: LocalActor, target: str) -> None:
    follower_uri = fed.urls.actor(follower)
    target_uri = await resolve(fed, target)
    record = await Follow.get_or_none(follower_uri=follower_uri, target_uri=target_uri)
    if record is None:
        raise NotFound(f"{follower_uri} does not follow {target_uri}", "Not following")
    await record.delete()
    if record.remote_target_id is not None:
        remote = await RemoteActor.get(id=record.remote_target_id)
        undo = undo_follow(fed.urls.new_activity_id(), follower_uri, record.ap_id, target_uri)
        await publish(fed, follower, undo, [remote.inbox])


async def _answer(fed: Federation, record: Follow, target: LocalActor, accept: bool) -> None:
    if record.remote_follower_id is None:
        return
    remote = await RemoteActor.get(id=record.remote_follower_id)
    build = accept_follow if accept else reject_follow
    answer = build(fed.urls.new_activity_id(), fed.urls.actor(target), record.ap_id, remote.ap_id)
    await publish(fed, target, answer, [remote.inbox])


async def decide(fed: Federation, target: LocalActor, follower: str, *, accept: bool) -> Follow:
    """Approve or reject a pending follow of a locked actor (``coopub follows approve|reject``)."""
    follower_uri = await resolve(fed, follower)
    record = await Follow.get_or_none(follower_uri=follower_uri, target_uri=fed.urls.actor(target))
    if record is None:
        raise NotFound(f"no follow request from {follower_uri}", "No such follow request")
    record.state = FollowState.ACCEPTED if accept else FollowState.REJECTED
    await record.save()
    await _answer(fed, record, target, accept)
    return record


# --- inbox handlers ------------------------------------------------------------------------


async def on_follow(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    target = await local_actor_by_uri(fed, act.object_id)
    if act.id is None:
        raise NotFound("Follow without an id")
    taken = await Follow.get_or_none(ap_id=act.id)
    if taken is not None and taken.follower_uri != signer.ap_id:
        raise Blocked(f"{signer.ap_id} reused the id of a follow by {taken.follower_uri}")
    record = await Follow.get_or_none(follower_uri=signer.ap_id, target_uri=act.object_id)
    if record is None:
        record = Follow(
            follower_uri=signer.ap_id,
            target_uri=act.object_id,
            remote_follower=signer,
            local_target=target,
        )
    elif record.state == FollowState.REJECTED:
        record.state = FollowState.PENDING
    record.ap_id = act.id
    if record.state != FollowState.ACCEPTED:
        record.state = FollowState.PENDING if target.locked else FollowState.ACCEPTED
    await record.save()
    log.info("follow received", extra={"follower": signer.ap_id, "state": record.state.value})
    await notify_follow(record, target.id, signer.name or signer.username)
    if record.state == FollowState.ACCEPTED:
        await _answer(fed, record, target, accept=True)


async def _follow_answered(fed: Federation, act: APObject, signer: RemoteActor) -> Follow:
    inner = act.object
    record = await Follow.get_or_none(ap_id=act.object_id) if act.object_id else None
    if record is None and inner is not None and inner.actor_id:
        record = await Follow.get_or_none(follower_uri=inner.actor_id, target_uri=signer.ap_id)
    if record is None:
        raise NotFound(f"{act.type} of an unknown follow {act.object_id}")
    if record.target_uri != signer.ap_id:
        raise Blocked(f"{signer.ap_id} answered a follow of {record.target_uri}")
    return record


async def on_accept(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    record = await _follow_answered(fed, act, signer)
    record.state = FollowState.ACCEPTED
    await record.save()
    log.info("follow accepted", extra={"follow": record.ap_id})


async def on_reject(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    record = await _follow_answered(fed, act, signer)
    record.state = FollowState.REJECTED
    await record.save()
    log.info("follow rejected", extra={"follow": record.ap_id})


async def on_undo_follow(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    inner = act.object
    query = Follow.filter(follower_uri=signer.ap_id)
    if inner is not None and inner.object_id:
        query = query.filter(target_uri=inner.object_id)
    else:
        query = query.filter(ap_id=act.object_id or "")
    deleted = await query.delete()
    if not deleted:
        raise NotFound(f"Undo of an unknown follow by {signer.ap_id}")
    log.info("unfollowed", extra={"follower": signer.ap_id})
