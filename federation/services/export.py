"""What a member's archive holds (``coopub member export``, the settings page's download):
everything this instance keeps about them, read in a few queries, as JSON-LD documents.

The profile is the actor document its URL serves (the public key only: the private key and
the password hash are never read into the archive); offers and posts are the ``Create``
activities of the outbox, each showing its object as served now; bookings are those the member
made or received, with their messages; follows both ways; saved searches with what they
matched; the Like and Announce activities the member sent; the rows of the images they
uploaded (their files are the web layer's: ``instance/export_archive``). Members cannot block
or mute accounts on coopub, so there is nothing of the kind to export.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q

from activitypub.activities import with_object, wrap_object
from activitypub.archive import booking_to_as, collection, follow_to_as, search_to_as
from activitypub.offers import offer_to_as
from activitypub.posts import create_note
from federation.context import Federation
from federation.services.profiles import actor_document
from models.activities import Activity
from models.actors import ActorKind, LocalActor
from models.alerts import AlertMatch, SavedSearch
from models.bookings import Booking, BookingMessage
from models.errors import Gone, NotFound
from models.follows import Follow, FollowState
from models.media import Media
from models.offers import Offer
from models.posts import Post

KEPT_FOLLOWS = (FollowState.ACCEPTED, FollowState.PENDING)
"""A rejected follow is no relationship: it is left out."""


@dataclass
class Archive:
    """One member's data: the JSON-LD documents, and the rows the summary lists."""

    member: LocalActor
    coop: LocalActor | None
    member_uri: str
    made_at: datetime
    actor: dict[str, Any]
    outbox: list[dict[str, Any]] = field(default_factory=list)
    bookings: list[dict[str, Any]] = field(default_factory=list)
    following: list[dict[str, Any]] = field(default_factory=list)
    followers: list[dict[str, Any]] = field(default_factory=list)
    likes: list[str] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    booking_rows: list[Booking] = field(default_factory=list)
    messages: int = 0
    searches: list[SavedSearch] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)

    def documents(self) -> dict[str, dict[str, Any]]:
        """File name → JSON-LD document; ``actor.json`` is the actor document as served."""
        return {
            "actor.json": self.actor,
            "outbox.json": collection("outbox.json", self.outbox),
            "bookings.json": collection("bookings.json", self.bookings),
            "following.json": collection("following.json", self.following),
            "followers.json": collection("followers.json", self.followers),
            "likes.json": collection("likes.json", list(self.likes)),
            "alerts.json": collection("alerts.json", self.alerts),
        }

    def json_files(self) -> dict[str, bytes]:
        return {
            name: json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
            for name, doc in self.documents().items()
        }


async def exportable_member(member: LocalActor) -> LocalActor:
    """The member as stored now: a deleted account has nothing left to export (Gone)."""
    fresh = await LocalActor.get_or_none(id=member.id, kind=ActorKind.MEMBER)
    if fresh is None:
        raise NotFound(f"no member {member.username}")
    if fresh.deleted_at is not None:
        raise Gone(f"{fresh.username} is deleted", f"The account {fresh.username} is deleted")
    return fresh


async def _creates(member: LocalActor, uris: list[str]) -> dict[str, dict[str, Any]]:
    """The outbox's ``Create`` of each object, by object id."""
    if not uris:
        return {}
    rows = await Activity.filter(actor_id=member.id, type="Create", object_uri__in=uris)
    return {a.object_uri: a.payload for a in rows if a.object_uri}


async def _outbox(fed: Federation, archive: Archive) -> None:
    member, uri = archive.member, archive.member_uri
    archive.offers = await Offer.filter(author_id=member.id).order_by("published_at", "id")
    archive.posts = [
        p
        for p in await Post.filter(author_id=member.id).order_by("published_at", "id")
        if p.document
    ]
    creates = await _creates(member, [o.ap_id for o in archive.offers])
    coop_uri = fed.urls.actor(archive.coop) if archive.coop else None
    followers = fed.urls.followers(member)
    items: list[dict[str, Any]] = []
    for offer in archive.offers:
        doc = offer_to_as(offer, followers=followers, url=offer.ap_id, coop_uri=coop_uri)
        stored = creates.get(offer.ap_id)
        items.append(
            with_object(stored, doc)
            if stored
            else wrap_object(
                "Create",
                f"{offer.ap_id}#create",
                uri,
                doc,
                cc=[followers],
                published=offer.published_at,
            )
        )
    creates = await _creates(member, [p.ap_id for p in archive.posts])
    for post in archive.posts:
        note = post.document or {}
        stored = creates.get(post.ap_id)
        items.append(
            with_object(stored, note) if stored else create_note(f"{post.ap_id}#create", note)
        )
    boosts = await Activity.filter(actor_id=member.id, type="Announce").order_by("id")
    items += [a.payload for a in boosts]
    items.sort(key=lambda a: str(a.get("published", "")))
    archive.outbox = items
    likes = await Activity.filter(actor_id=member.id, type="Like").order_by("id")
    archive.likes = [a.object_uri for a in likes if a.object_uri]


async def _bookings(fed: Federation, archive: Archive) -> None:
    member = archive.member
    rows = await Booking.filter(Q(booker_id=member.id) | Q(author_id=member.id)).order_by(
        "created_at", "id"
    )
    by_booking: dict[int, list[BookingMessage]] = defaultdict(list)
    if rows:
        ids = [b.id for b in rows]
        for message in await BookingMessage.filter(booking_id__in=ids).order_by("created_at", "id"):
            by_booking[message.booking_id].append(message)
    archive.booking_rows = rows
    archive.messages = sum(len(m) for m in by_booking.values())
    archive.bookings = [
        booking_to_as(b, archive.member_uri, fed.urls.booking(b.local_uuid), by_booking[b.id])
        for b in rows
    ]


async def _follows(archive: Archive) -> None:
    uri = archive.member_uri
    following = Follow.filter(follower_uri=uri, state__in=KEPT_FOLLOWS).order_by("created_at", "id")
    followers = Follow.filter(target_uri=uri, state__in=KEPT_FOLLOWS).order_by("created_at", "id")
    archive.following = [follow_to_as(f) for f in await following]
    archive.followers = [follow_to_as(f) for f in await followers]


async def _searches(archive: Archive) -> None:
    searches = await SavedSearch.filter(member_id=archive.member.id).order_by("created_at", "id")
    matched: dict[int, list[str]] = defaultdict(list)
    if searches:
        rows = (
            await AlertMatch.filter(search_id__in=[s.id for s in searches])
            .order_by("matched_at", "id")
            .values_list("search_id", "offer__ap_id")
        )
        for search_id, offer_uri in rows:
            matched[int(search_id)].append(str(offer_uri))
    archive.searches = searches
    archive.alerts = [search_to_as(s, matched[s.id]) for s in searches]


async def collect(fed: Federation, member: LocalActor) -> Archive:
    """Everything this instance holds about ``member``; Gone once the account is deleted."""
    member = await exportable_member(member)
    coop = await LocalActor.get_or_none(id=member.coop_id) if member.coop_id else None
    archive = Archive(
        member=member,
        coop=coop,
        member_uri=fed.urls.actor(member),
        made_at=datetime.now(UTC),
        actor=await actor_document(fed, member),
    )
    await _outbox(fed, archive)
    await _bookings(fed, archive)
    await _follows(archive)
    await _searches(archive)
    archive.media = await Media.filter(owner_id=member.id).order_by("created_at", "id")
    return archive
