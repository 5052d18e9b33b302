"""Deleting a local account for good, and telling the servers that know it.

The row stays: its username remains reserved (nobody can take over the actor URL that other
servers remember) and its keys remain to sign the ``Delete`` of the actor, which may still be
retried after the actor URL already answers 410 Gone with a ``Tombstone``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from activitypub.activities import delete_actor
from activitypub.convert import actor_tombstone
from federation.context import Federation
from federation.delivery import follower_inboxes, publish
from federation.services.accounts import check_not_deleted
from federation.services.offers import delete_offer
from models.activities import Activity
from models.actors import ActorKind, LocalActor, RemoteActor
from models.errors import Conflict, Malformed
from models.follows import Follow
from models.offers import ApiToken, Offer

log = logging.getLogger(__name__)


def delete_activity(fed: Federation, actor: LocalActor) -> dict[str, Any]:
    return delete_actor(fed.urls.new_activity_id(), fed.urls.actor(actor))


def tombstone(fed: Federation, actor: LocalActor) -> dict[str, Any]:
    """What the URL of a deleted actor answers (with 410 Gone)."""
    return actor_tombstone(actor, fed.urls)


async def known_by(fed: Federation, actor: LocalActor) -> list[str]:
    """Remote inboxes that know ``actor``: its followers' and those it follows (or asked to),
    one shared inbox per server when advertised, deduplicated."""
    followed = await RemoteActor.filter(followers_rel__local_follower_id=actor.id).distinct()
    inboxes = set(await follower_inboxes(fed, actor)) | {r.delivery_inbox for r in followed}
    return sorted(inboxes)


async def delete_account(fed: Federation, actor: LocalActor) -> Activity:
    """Delete a coop (once it has no members) or a member: its offers are deleted the way their
    author would (``Delete`` of each offer federates), its profile, email, password and API
    tokens are wiped, its follows dropped, and a ``Delete`` of the actor is queued for every
    server that knows it."""
    if actor.kind not in (ActorKind.COOP, ActorKind.MEMBER):
        raise Malformed(f"delete {actor.kind}", "Only coops and members can be deleted")
    check_not_deleted(actor)
    if actor.kind == ActorKind.COOP:
        members = await LocalActor.filter(coop_id=actor.id, deleted_at=None).count()
        if members:
            raise Conflict(
                f"coop {actor.username} has {members} member(s)",
                f"The coop {actor.username} still has {members} member(s): "
                "delete them first (coopub member delete)",
            )
    for offer in await Offer.filter(author_id=actor.id, local_uuid__not_isnull=True):
        await delete_offer(fed, actor, offer)
    inboxes = await known_by(fed, actor)
    async with in_transaction():
        activity = await publish(fed, actor, delete_activity(fed, actor), inboxes)
        actor.deleted_at = datetime.now(UTC)
        actor.disabled = True
        actor.is_admin = False
        actor.email = None
        actor.password_hash = None
        actor.name = ""
        actor.summary = ""
        actor.profile_fields = None
        actor.avatar_uuid = None
        actor.header_uuid = None
        actor.locked = False
        await actor.save()
        tokens = await ApiToken.filter(member_id=actor.id).delete()
        uri = fed.urls.actor(actor)
        await Follow.filter(follower_uri=uri).delete()
        await Follow.filter(target_uri=uri).delete()
    log.info(
        "account deleted",
        extra={"actor": uri, "inboxes": len(inboxes), "tokens_revoked": tokens},
    )
    return activity
