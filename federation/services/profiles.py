"""Profiles: who may edit which, the checked change, the actor document with its images, the
``Update`` that tells followers, and what an actor's page lists (pins: ``services/pins``).

A member edits their own profile; a coop's profile is edited by the instance admins who are
members of that coop (``is_admin`` and ``coop_id``): coopub has no per-coop role, and a coop
has no login of its own. Uploaded images are stored by ``instance/media`` (files are the web
layer's business); here an avatar or header is a ``Media`` row, and replacing one hands the old
row back to the caller, whose file it is to remove.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from activitypub.activities import update_actor
from activitypub.convert import actor_to_as
from federation.context import Federation
from federation.delivery import follower_inboxes, publish
from federation.services.limited import of_suspended_members
from models.activities import Activity
from models.actors import ActorKind, LocalActor
from models.errors import Gone, Malformed
from models.i18n import N_
from models.media import Media, MediaPurpose
from models.offers import Offer, OfferStatus

MAX_FIELDS = 4
"""Profile fields, as many as Mastodon shows."""
MAX_NAME = 100
MAX_BIO = 1000
MAX_FIELD_NAME = 255
MAX_FIELD_VALUE = 255
"""Mastodon's own limits for a field's name and value."""
MAX_LISTED = 50
"""Open offers listed on an actor's page."""


PROFILE_COLUMNS = ("name", "summary", "profile_fields", "avatar_uuid", "header_uuid")
"""What a profile change writes (nothing else of the row: not a flag changed meanwhile)."""


class ProfileRefused(Malformed):
    public_message = "The profile could not be saved."


def may_edit(member: LocalActor, actor: LocalActor) -> bool:
    """Whether ``member`` may edit ``actor``'s profile: their own, or their coop's when they
    are an admin (the same rule decides who posts as the coop)."""
    if actor.deleted_at is not None or member.deleted_at is not None or member.disabled:
        return False
    if actor.id == member.id:
        return True
    return actor.kind == ActorKind.COOP and member.is_admin and member.coop_id == actor.id


async def editable_actors(member: LocalActor) -> list[LocalActor]:
    """The profiles ``member`` may edit: theirs first, then their coop's if they may."""
    actors = [member]
    if member.coop_id is not None:
        coop = await LocalActor.get_or_none(id=member.coop_id)
        if coop is not None and may_edit(member, coop):
            actors.append(coop)
    return actors


@dataclass(frozen=True)
class ProfileChange:
    """What the settings form sends: every text (trimmed), and the new images if any."""

    name: str
    summary: str
    fields: list[tuple[str, str]]
    avatar: Media | None = None
    header: Media | None = None
    remove_avatar: bool = False
    remove_header: bool = False


def check_profile(name: str, summary: str, fields: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The texts, checked (``ProfileRefused`` names the problem); fully empty field rows are
    dropped. Returns the fields to store."""
    if len(name) > MAX_NAME:
        raise ProfileRefused("name too long", N_("The display name is too long."))
    if len(summary) > MAX_BIO:
        raise ProfileRefused("bio too long", N_("The bio is too long."))
    kept = [(n.strip(), v.strip()) for n, v in fields if n.strip() or v.strip()]
    if len(kept) > MAX_FIELDS:
        raise ProfileRefused("too many fields", N_("A profile has at most 4 fields."))
    for field_name, value in kept:
        if not field_name:
            raise ProfileRefused("field without a name", N_("Each profile field needs a name."))
        if len(field_name) > MAX_FIELD_NAME or len(value) > MAX_FIELD_VALUE:
            raise ProfileRefused("field too long", N_("A profile field is too long."))
    if any("\x00" in text for text in (name, summary, *(n + v for n, v in kept))):
        raise ProfileRefused("NUL in a profile", "The profile could not be saved.")
    return [{"name": n, "value": v} for n, v in kept]


async def actor_images(actor: LocalActor) -> tuple[Media | None, Media | None]:
    """The actor's avatar and header rows (None when unset or gone)."""
    uuids = [u for u in (actor.avatar_uuid, actor.header_uuid) if u]
    rows = {m.uuid: m for m in await Media.filter(uuid__in=uuids)} if uuids else {}
    avatar = rows.get(actor.avatar_uuid or "")
    header = rows.get(actor.header_uuid or "")
    return avatar, header


async def actor_document(fed: Federation, actor: LocalActor) -> dict[str, Any]:
    """The actor's AS2 document, images included (what its URL answers servers)."""
    avatar, header = await actor_images(actor)
    return actor_to_as(actor, fed.urls, icon=avatar, header=header)


async def send_actor_update(fed: Federation, actor: LocalActor) -> Activity:
    """``Update`` of the actor to its followers (shared inboxes first): Mastodon and
    GoToSocial then refetch its profile, images and ``featured`` collection."""
    update = update_actor(fed.urls.new_activity_id(), await actor_document(fed, actor))
    return await publish(fed, actor, update, await follower_inboxes(fed, actor))


def _own_image(actor: LocalActor, media: Media | None, purpose: MediaPurpose) -> None:
    if media is not None and (media.owner_id != actor.id or media.purpose != purpose):
        raise ProfileRefused(f"media {media.uuid} is not {actor.username}'s {purpose.value}")


async def save_profile(fed: Federation, actor: LocalActor, change: ProfileChange) -> list[Media]:
    """Store the change and send the ``Update``. Returns the images it replaced or removed
    (their rows are deleted; the caller removes their files)."""
    if actor.deleted_at is not None:
        raise Gone(f"{actor.username} is deleted", f"The account {actor.username} is deleted")
    fields = check_profile(change.name, change.summary, change.fields)
    _own_image(actor, change.avatar, MediaPurpose.AVATAR)
    _own_image(actor, change.header, MediaPurpose.HEADER)
    old_avatar, old_header = await actor_images(actor)
    replaced: list[Media] = []
    actor.name = change.name
    actor.summary = change.summary
    actor.profile_fields = fields
    if change.avatar is not None or change.remove_avatar:
        actor.avatar_uuid = change.avatar.uuid if change.avatar else None
        replaced += [old_avatar] if old_avatar else []
    if change.header is not None or change.remove_header:
        actor.header_uuid = change.header.uuid if change.header else None
        replaced += [old_header] if old_header else []
    async with in_transaction():
        await actor.save(update_fields=[*PROFILE_COLUMNS, "updated_at"])
        for media in replaced:
            await media.delete()
        await send_actor_update(fed, actor)
    return replaced


# --- what an actor's page lists -------------------------------------------------------------


async def open_offers(fed: Federation, actor: LocalActor) -> list[Offer]:
    """The actor's open offers, pinned ones first, then by date; a coop's are those of its
    members (and its own)."""
    query = Offer.filter(author_id=actor.id)
    if actor.kind == ActorKind.COOP:
        query = Offer.filter(Q(author_id=actor.id) | Q(coop_uri=fed.urls.actor(actor)))
    query = query.filter(status=OfferStatus.OPEN)
    hidden = await of_suspended_members()  # a coop lists no suspended member's offers
    if hidden is not None:
        query = query.exclude(hidden)
    pinned = await query.filter(pinned_at__not_isnull=True).order_by("-pinned_at", "id")
    others = await query.filter(pinned_at=None).order_by("starts_at", "id").limit(MAX_LISTED)
    return [*pinned, *others][:MAX_LISTED]


async def coop_members(coop: LocalActor) -> list[LocalActor]:
    """A coop's members (deleted accounts left out), by username."""
    return await LocalActor.filter(
        coop_id=coop.id, kind=ActorKind.MEMBER, deleted_at=None
    ).order_by("username")
