"""Deleting a local account for good, and telling the servers that know it.

The row stays: its username remains reserved (nobody can take over the actor URL that other
servers remember) and its keys remain to sign the ``Delete`` of the actor, which may still be
retried after the actor URL already answers 410 Gone with a ``Tombstone``.

In this order, so that every notice is signed while the actor still exists: its bookings in
progress end with notice to the other side (``bookings_account_end``), its offers and posts are
deleted as their author would (each ``Delete`` federates), then the ``Delete`` of the actor is
queued and the personal data go: profile, email, password, API tokens, feed URLs, saved
searches and their alerts, notifications, reset links, requests to join, unused invitations,
and the bookings nobody else here takes part in (the remote party keeps its own copy). A
booking shared with another member here stays, with its conversation: it is theirs too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from activitypub.activities import delete_actor
from activitypub.convert import actor_tombstone
from federation.context import Federation
from federation.delivery import follower_inboxes, publish
from federation.services.accounts import check_not_deleted
from federation.services.bookings_account_end import (
    end_member_bookings,
    in_progress,
    under_way,
)
from federation.services.offers import delete_offer
from federation.services.posting import delete_post
from models.activities import Activity
from models.actors import ActorKind, LocalActor, RemoteActor
from models.alerts import AlertMatch, SavedSearch
from models.bookings import Booking, BookingMessage
from models.errors import Conflict, Malformed
from models.feed_tokens import FeedToken
from models.follows import Follow
from models.notifications import Notification
from models.offers import ApiToken, Offer
from models.posts import Post
from models.signups import Invitation, MembershipRequest, PasswordReset

log = logging.getLogger(__name__)


def delete_activity(fed: Federation, actor: LocalActor) -> dict[str, Any]:
    return delete_actor(fed.urls.new_activity_id(), fed.urls.actor(actor))


def tombstone(fed: Federation, actor: LocalActor) -> dict[str, Any]:
    """What the URL of a deleted actor answers (with 410 Gone)."""
    return actor_tombstone(actor, fed.urls)


async def known_by(fed: Federation, actor: LocalActor) -> list[str]:
    """Remote inboxes that know ``actor``: its followers' and those it follows (or asked to),
    the other parties of its bookings, and its coop's followers (who received its offers
    through the coop's boosts), one shared inbox per server when advertised, deduplicated."""
    followed = await RemoteActor.filter(followers_rel__local_follower_id=actor.id).distinct()
    inboxes = set(await follower_inboxes(fed, actor)) | {r.delivery_inbox for r in followed}
    parties = set(
        await Booking.filter(booker_id=actor.id, author_id=None).values_list(
            "author_uri", flat=True
        )
    ) | set(
        await Booking.filter(author_id=actor.id, booker_id=None).values_list(
            "booker_uri", flat=True
        )
    )
    if parties:
        found = await RemoteActor.filter(ap_id__in=sorted(str(p) for p in parties))
        inboxes |= {r.delivery_inbox for r in found}
    coop = await LocalActor.get_or_none(id=actor.coop_id) if actor.coop_id else None
    if coop is not None:
        inboxes |= set(await follower_inboxes(fed, coop))
    return sorted(inboxes)


@dataclass(frozen=True)
class WhatGoes:
    """What a deletion would end, for the confirmation page."""

    offers: int
    bookings: int
    """Bookings in progress, cancelled with notice to the other side."""
    posts: int


async def what_goes(actor: LocalActor) -> WhatGoes:
    return WhatGoes(
        offers=await Offer.filter(author_id=actor.id, local_uuid__not_isnull=True).count(),
        bookings=await in_progress(actor),
        posts=await Post.filter(author_id=actor.id, local_uuid__not_isnull=True).count(),
    )


async def check_self_deletion(actor: LocalActor) -> None:
    """What a member deleting their own account (from the web) must not leave behind: an
    instance without an admin, or a delivery picked up and not yet reported. An admin of the
    instance can still delete any account with ``coopub member delete``."""
    if actor.kind != ActorKind.MEMBER:
        raise Malformed(f"self-deletion of {actor.kind}", "Only members can delete their account")
    check_not_deleted(actor)
    if actor.is_admin:
        others = LocalActor.filter(
            kind=ActorKind.MEMBER,
            is_admin=True,
            deleted_at=None,
            disabled=False,
            suspended_at=None,
        ).exclude(id=actor.id)
        if not await others.exists():
            raise Conflict(
                f"{actor.username} is the last admin",
                "You are the last administrator of this instance: make another member an "
                "administrator first (coopub member admin NAME), then delete your account.",
            )
    if await under_way(actor):
        raise Conflict(
            f"{actor.username} has a delivery under way",
            "A delivery you take part in has been picked up and is not finished: report it "
            "delivered (or failed) before deleting your account.",
        )


async def _delete_posts(fed: Federation, actor: LocalActor) -> int:
    posts = await Post.filter(author_id=actor.id, local_uuid__not_isnull=True)
    for post in posts:
        await delete_post(fed, post)
    return len(posts)


async def _forget_personal_data(actor: LocalActor) -> dict[str, int]:
    """What only the account itself had a use for (in the caller's transaction). Related rows
    are deleted before their parents: SQLite enforces no foreign key here."""
    now = datetime.now(UTC)
    alone = Q(booker_id=actor.id, author_id=None) | Q(author_id=actor.id, booker_id=None)
    own_bookings = await Booking.filter(alone).values_list("id", flat=True)
    await BookingMessage.filter(booking_id__in=list(own_bookings)).delete()
    searches = await SavedSearch.filter(member_id=actor.id).values_list("id", flat=True)
    await AlertMatch.filter(Q(member_id=actor.id) | Q(search_id__in=list(searches))).delete()
    return {
        "tokens": await ApiToken.filter(member_id=actor.id).delete(),
        "feed_tokens": await FeedToken.filter(member_id=actor.id).delete(),
        "searches": await SavedSearch.filter(member_id=actor.id).delete(),
        "notifications": await Notification.filter(recipient_id=actor.id).delete(),
        "reset_links": await PasswordReset.filter(member_id=actor.id).delete(),
        "join_requests": await MembershipRequest.filter(member_id=actor.id).delete(),
        "invitations": await Invitation.filter(created_by_id=actor.id, revoked_at=None).update(
            revoked_at=now
        ),
        "bookings": await Booking.filter(id__in=list(own_bookings)).delete(),
    }


async def delete_account(fed: Federation, actor: LocalActor) -> Activity:
    """Delete a coop (once it has no members) or a member: its bookings in progress end with
    notice to the other side, its offers and posts are deleted the way their author would
    (each ``Delete`` federates), its profile and personal data are wiped, its follows dropped,
    and a ``Delete`` of the actor is queued for every server that knows it."""
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
    bookings = await end_member_bookings(fed, actor)
    for offer in await Offer.filter(author_id=actor.id, local_uuid__not_isnull=True):
        await delete_offer(fed, actor, offer)
    posts = await _delete_posts(fed, actor)
    inboxes = await known_by(fed, actor)
    async with in_transaction():
        activity = await publish(fed, actor, delete_activity(fed, actor), inboxes)
        actor.deleted_at = datetime.now(UTC)
        actor.disabled = True
        actor.is_admin = False
        actor.coop_admin = False
        actor.email = None
        actor.password_hash = None
        actor.name = ""
        actor.summary = ""
        actor.profile_fields = None
        actor.avatar_uuid = None
        actor.header_uuid = None
        actor.locked = False
        await actor.save()
        forgotten = await _forget_personal_data(actor)
        uri = fed.urls.actor(actor)
        await Follow.filter(follower_uri=uri).delete()
        await Follow.filter(target_uri=uri).delete()
    log.info(
        "account deleted",
        extra={
            "actor": uri,
            "inboxes": len(inboxes),
            "bookings_ended": bookings,
            "posts": posts,
            **forgotten,
        },
    )
    return activity
