"""Moving an account to another instance, and honouring the moves of the accounts we follow.

As Mastodon does it (``app/lib/activitypub/activity/move.rb``, ``MoveWorker``,
``Form::Redirect``): the NEW account first lists the old one in ``alsoKnownAs`` (an alias);
then the OLD account, once the new one's freshly fetched document shows that alias, records
``movedTo``, sends ``Move`` to its followers and an ``Update`` of itself. A server receiving a
``Move`` believes it only when the actor moves itself and the target, fetched fresh (never
from a cache someone could have primed), lists the old account; then each of its local
followers of the old account follows the new one and stops following the old one.

The old account keeps its login (to export its data, to move back) but publishes no new
offer (``federation.services.offers``). Clearing ``movedTo`` (moving back) sends an
``Update``. Followers here of a local account that moves are moved at once, without a
``Move`` to ourselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from activitypub.apobject import APObject
from activitypub.moves import MAX_ALIASES, aliases_in, as_to_move, move_to_as
from federation.actors import fetch_actor
from federation.context import Federation
from federation.delivery import follower_inboxes, publish
from federation.services.follows import follow, local_actor_by_uri, unfollow
from federation.services.notifications import notify
from federation.services.profiles import send_actor_update
from federation.webfinger import resolve
from models.actors import LocalActor, RemoteActor
from models.errors import Conflict, CoopubError, Malformed, NotFound
from models.follows import Follow, FollowState
from models.notifications import NotificationKind

log = logging.getLogger(__name__)

MOVED_FOLLOWS = (FollowState.ACCEPTED, FollowState.PENDING)


class AliasMissing(Conflict):
    """The new account does not list the old one in ``alsoKnownAs``: the move would not be
    believed anywhere, so it is not made."""

    public_message = (
        "The new account does not list this one among its aliases yet: on the new account, "
        "add this account's address as an alias (alsoKnownAs) first, then try again."
    )


class AccountMoved(Conflict):
    """A moved account publishes nothing new: its followers now follow the new one."""

    public_message = (
        "This account has moved to another one: publish from your new account "
        "(or cancel the move in your settings)."
    )


@dataclass(frozen=True)
class Moved:
    """What a move did: the ``Move`` sent to ``inboxes`` remote inboxes, and the followers
    here who now follow the new account."""

    target: str
    inboxes: int
    local_followers: int


async def _resolved(fed: Federation, handle_or_uri: str) -> str:
    """The actor URL that ``@user@host`` (WebFinger) or an actor URL names, not fetched."""
    text = handle_or_uri.strip()
    if not text:
        raise Malformed("no account given", "Give an account: @name@host or its address")
    if len(text) > 500:
        raise Malformed("account too long", "This address is too long")
    return await resolve(fed, text)


async def _account_id(fed: Federation, handle_or_uri: str) -> str:
    """The canonical actor id of ``@user@host`` or an actor URL, fetched fresh when remote."""
    uri = await _resolved(fed, handle_or_uri)
    if fed.urls.is_local(uri):
        return fed.urls.actor(await local_actor_by_uri(fed, uri))
    return (await fetch_actor(fed, uri, refresh=True)).ap_id


async def _fresh_aliases(fed: Federation, target_uri: str) -> tuple[str, list[str]]:
    """The target's canonical id and its aliases, read now: from our own table for a local
    account, refetched (not from the cache) for a remote one. A suspended target is refused,
    as Mastodon refuses it (``move.rb``): nobody is sent to an account moderators cut off."""
    if fed.urls.is_local(target_uri):
        local = await local_actor_by_uri(fed, target_uri)
        if local.suspended_at is not None:
            raise NotFound(f"{local.username} is suspended", "This account is suspended here")
        return fed.urls.actor(local), list(local.also_known_as or [])
    remote = await fetch_actor(fed, target_uri, refresh=True)
    if remote.suspended_at is not None:
        raise NotFound(f"{remote.ap_id} is suspended here", "This account is suspended here")
    return remote.ap_id, aliases_in(remote.document)


# --- aliases (on the new account) -------------------------------------------------------------


async def add_alias(fed: Federation, actor: LocalActor, account: str) -> str:
    """List ``account`` (the old one) in ``actor``'s ``alsoKnownAs`` and tell its followers;
    returns the alias's actor id (already listed: nothing sent)."""
    alias = await _account_id(fed, account)
    if alias == fed.urls.actor(actor):
        raise Conflict("alias of itself", "An account cannot be an alias of itself")
    aliases = list(actor.also_known_as or [])
    if alias in aliases:
        return alias
    if len(aliases) >= MAX_ALIASES:
        raise Conflict("too many aliases", "Too many aliases: remove one first")
    actor.also_known_as = [*aliases, alias]
    await actor.save(update_fields=["also_known_as", "updated_at"])
    await send_actor_update(fed, actor)
    log.info("alias added", extra={"actor": actor.username, "alias": alias})
    return alias


async def remove_alias(fed: Federation, actor: LocalActor, account: str) -> str:
    """Take ``account`` (as listed, or as a handle to resolve) off the aliases."""
    aliases = list(actor.also_known_as or [])
    alias = account.strip()
    if alias not in aliases:
        try:
            alias = await _account_id(fed, alias)
        except CoopubError as exc:
            raise NotFound(f"alias {account[:200]}: {exc}", "No such alias") from exc
    if alias not in aliases:
        raise NotFound(f"{alias} is not an alias of {actor.username}", "No such alias")
    actor.also_known_as = [a for a in aliases if a != alias] or None
    await actor.save(update_fields=["also_known_as", "updated_at"])
    await send_actor_update(fed, actor)
    log.info("alias removed", extra={"actor": actor.username, "alias": alias})
    return alias


# --- the move (from the old account) ----------------------------------------------------------


async def _refollow(
    fed: Federation, record: Follow, origin: str, target: str, origin_name: str, source: str
) -> bool:
    """The local follower of ``record`` follows ``target`` and no longer ``origin``; told
    once. False when the follower is the target itself (only the old follow goes)."""
    follower = await LocalActor.get(id=record.local_follower_id)
    if fed.urls.actor(follower) != target:
        await follow(fed, follower, target)
    await unfollow(fed, follower, origin)
    await notify(
        follower.id,
        NotificationKind.MOVE,
        actor_uri=origin,
        actor_name=origin_name,
        source=source,
        object_uri=target,
        link=target,
    )
    return fed.urls.actor(follower) != target


async def _move_local_followers(
    fed: Federation, origin: str, target: str, origin_name: str, source: str
) -> int:
    """Every local follower of ``origin`` now follows ``target`` (a ``Follow`` when remote)."""
    rows = await Follow.filter(
        target_uri=origin, local_follower_id__isnull=False, state__in=MOVED_FOLLOWS
    ).order_by("id")
    moved = 0
    for record in rows:
        moved += await _refollow(fed, record, origin, target, origin_name, source)
    return moved


async def move_account(fed: Federation, actor: LocalActor, account: str) -> Moved:
    """Move ``actor`` to ``account`` (``@user@host`` or URL), which must list it as an alias."""
    if actor.deleted_at is not None:
        raise Conflict("deleted account", "A deleted account cannot move")
    origin = fed.urls.actor(actor)
    target, aliases = await _fresh_aliases(fed, await _resolved(fed, account))  # one fetch
    if target == origin:
        raise Conflict("move to itself", "An account cannot move to itself")
    if origin not in aliases:
        raise AliasMissing(f"{target} does not list {origin} in alsoKnownAs")
    actor.moved_to = target
    await actor.save(update_fields=["moved_to", "updated_at"])
    inboxes = await follower_inboxes(fed, actor)
    move = move_to_as(fed.urls.new_activity_id(), origin, target, fed.urls.followers(actor))
    await publish(fed, actor, move, inboxes)
    await send_actor_update(fed, actor)
    local = await _move_local_followers(
        fed, origin, target, actor.name or actor.username, move["id"]
    )
    log.info(
        "account moved",
        extra={"actor": origin, "target": target, "inboxes": len(inboxes), "local": local},
    )
    return Moved(target=target, inboxes=len(inboxes), local_followers=local)


async def cancel_move(fed: Federation, actor: LocalActor) -> None:
    """Move back: ``movedTo`` cleared and the followers told by an ``Update``. Those who
    followed the new account keep following it."""
    if actor.moved_to is None:
        raise NotFound(f"{actor.username} has not moved", "This account has not moved")
    actor.moved_to = None
    await actor.save(update_fields=["moved_to", "updated_at"])
    await send_actor_update(fed, actor)
    log.info("move cancelled", extra={"actor": actor.username})


def check_not_moved(actor: LocalActor) -> None:
    """Refuse new content from an account that moved away."""
    if actor.moved_to:
        raise AccountMoved(f"{actor.username} moved to {actor.moved_to}")


# --- an incoming Move ---------------------------------------------------------------------


async def on_move(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    """A followed account moved: each local follower follows the target, once its freshly
    fetched document lists the old account. Anything else is ignored (``NotFound``), nothing
    changed; a redelivery finds no follower left to move."""
    origin = signer.ap_id
    if not await Follow.exists(
        target_uri=origin, local_follower_id__isnull=False, state__in=MOVED_FOLLOWS
    ):
        raise NotFound(f"Move by {origin}: nobody here follows it")
    request = as_to_move(act.raw)
    if request.origin != origin or request.actor != origin:
        raise NotFound(f"{origin} sent a Move of {request.origin}: only an account moves itself")
    target, aliases = await _fresh_aliases(fed, request.target)
    if target == origin:
        raise NotFound(f"Move of {origin} to itself")
    if origin not in aliases:
        log.info("move not honoured: no alias", extra={"actor": origin, "target": target})
        raise NotFound(f"Move of {origin}: {target} does not list it in alsoKnownAs")
    signer.document = {**signer.document, "movedTo": target}
    await signer.save(update_fields=["document"])
    moved = await _move_local_followers(
        fed, origin, target, signer.name or signer.username, act.id or f"{origin} {target}"
    )
    log.info("move honoured", extra={"actor": origin, "target": target, "followers": moved})
