"""Notes, favourites and boosts from the Fediverse: what is kept, and who is told.

Registered in ``services/handlers.py``, after the booking and offer handlers (a private note in
a booking's conversation, a request by direct message, an offer are theirs). As Mastodon keeps
a post only when it is related to local activity, a ``Create`` of a note (``Note``,
``Question``, ``Article``, ``Page``) is kept as a ``Post`` when:

- it answers one of our offers or posts (a reply: its author is told), or a post kept here,
  in public (or addressed to the author of what it answers);
- it is addressed to an account here (``to``, ``cc``): that account is told when the note
  also mentions it (a ``Mention`` tag), as Mastodon tells only of mentions addressed to it;
- its author is followed from here (an accepted follow): it is in the followers' home feed.

Anything else is ignored (``NotFound``), read or not. Only its author changes it (``Update``)
or removes it (``Delete``). A ``Like`` or an ``Announce`` of one of our offers or posts is a
``Reaction``, counted, its author told; ``Undo`` takes it back (and its notification). A
directory this instance joined announcing our offers back is no boost (``offers.on_announce``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from activitypub.apobject import APObject, first_id
from activitypub.notes import RemoteNote, addressing_of, excerpt, is_note_document, read_note
from federation.context import Federation
from federation.services.notifications import forget, notify
from federation.services.offer_reasons import followed_here
from federation.services.offers import on_announce
from federation.services.replies import OPEN, Target, target_of
from models.actors import ActorKind, LocalActor, RemoteActor
from models.errors import Blocked, NotFound
from models.follows import Follow
from models.notifications import NotificationKind
from models.posts import Post, PostKind, Reaction, ReactionKind

log = logging.getLogger(__name__)

TELLS = {ReactionKind.LIKE: NotificationKind.LIKE, ReactionKind.BOOST: NotificationKind.BOOST}


@dataclass
class Interest:
    """Why a note concerns us: what of ours it answers (in public, or addressed to its
    author), who here it is addressed to and mentions, whether its author is followed."""

    answers: Target | None = None
    replied: Target | None = None
    """What it answers, when that counts (``answers`` when in public or addressed to them)."""
    addressed: list[LocalActor] = field(default_factory=list)
    mentioned: list[LocalActor] = field(default_factory=list)
    followed: bool = False

    @property
    def any(self) -> bool:
        return self.replied is not None or bool(self.addressed) or self.followed


def _name(signer: RemoteActor) -> str:
    return (signer.name or signer.username)[:200]


async def local_actors(fed: Federation, uris: list[str]) -> list[LocalActor]:
    """The coops and members here among ``uris`` (in that order, once each)."""
    found: list[LocalActor] = []
    for uri in uris[:50]:
        parsed = fed.urls.parse_actor(uri)
        if parsed is None or parsed[0] not in (ActorKind.COOP, ActorKind.MEMBER):
            continue
        actor = await LocalActor.get_or_none(kind=parsed[0], username=parsed[1], deleted_at=None)
        if actor is not None and all(a.id != actor.id for a in found):
            found.append(actor)
    return found


async def _interest(fed: Federation, obj: APObject, act: APObject, signer: RemoteActor) -> Interest:
    addressing = addressing_of(obj.raw, act.raw)
    addressed = await local_actors(fed, addressing.addressees)
    answers = await target_of(fed, first_id(obj.raw.get("inReplyTo")), ours_only=False)
    in_public = addressing.visibility(signer.followers_url) in OPEN
    to_its_author = answers is not None and any(a.id == answers.author_id for a in addressed)
    return Interest(
        answers=answers,
        replied=answers if in_public or to_its_author else None,
        addressed=addressed,
        mentioned=[a for a in addressed if fed.urls.actor(a) in addressing.mentions],
        followed=await followed_here([signer.ap_id]),
    )


async def _store(note: RemoteNote, signer: RemoteActor, raw: APObject, reply: bool) -> Post | None:
    """The note as a post; None when it was stored meanwhile (the same note twice)."""
    try:
        return await Post.create(
            ap_id=note.ap_id,
            author_uri=signer.ap_id,
            author_name=_name(signer),
            author_handle=f"@{signer.handle}"[:300],
            kind=PostKind.REPLY if reply else PostKind.NOTE,
            visibility=note.visibility,
            summary=note.summary[:500],
            content=note.content,
            language=note.language[:16],
            url=note.url[:500],
            in_reply_to=note.in_reply_to,
            attachments=note.attachments,
            document=raw.raw,
            published_at=note.published,
            updated_at=note.updated,
        )
    except IntegrityError:
        return None


async def _tell(post: Post, interest: Interest, signer: RemoteActor) -> None:
    """The author of what it answers (a reply anyone may read, or one addressed to them),
    then everyone else it mentions, once each."""
    told: set[int] = set()
    target, text = interest.replied, excerpt(post.content)
    if target is not None and target.author_id is not None:
        shown = post.visibility in OPEN  # listed on the page of what it answers
        anchor = f"#reply-{post.id}" if target.offer else ""
        await notify(
            target.author_id,
            NotificationKind.REPLY,
            actor_uri=signer.ap_id,
            actor_name=_name(signer),
            source=post.ap_id,
            object_uri=target.uri,
            link=target.link + anchor if shown else post.url,
            text=text,
        )
        told.add(target.author_id)
    for actor in interest.mentioned:
        if actor.id not in told:
            await notify(
                actor.id,
                NotificationKind.MENTION,
                actor_uri=signer.ap_id,
                actor_name=_name(signer),
                source=post.ap_id,
                object_uri=post.ap_id,
                link=post.url,
                text=text,
            )


async def on_create_note(fed: Federation, act: APObject, signer: RemoteActor) -> bool:
    """``Create`` of a note (False: not a note, for the next handler)."""
    obj, raw = act.object, act.object_document()
    if obj is None or raw is None or not is_note_document(raw):
        return False
    if await Post.exists(ap_id=obj.id or ""):
        return True  # delivered twice (to two inboxes, or again)
    interest = await _interest(fed, obj, act, signer)
    if not interest.any:
        raise NotFound(f"Create of {obj.id}: no one here follows, is answered or named")
    note = read_note(obj.raw, activity=act.raw, followers=signer.followers_url)
    if note.author_uri != signer.ap_id:
        raise Blocked(f"{signer.ap_id} sent a note of {note.author_uri}")
    post = await _store(note, signer, obj, reply=interest.answers is not None)
    if post is not None:
        await _tell(post, interest, signer)
        extra = {"post": post.ap_id, "kind": post.kind.value, "visibility": post.visibility.value}
        log.info("remote note stored", extra=extra)
    return True


async def on_update_note(fed: Federation, act: APObject, signer: RemoteActor) -> bool:
    """``Update`` of a note kept here, by its author: its text, links and attachments change
    (not who it is for, nor what it answers)."""
    obj, raw = act.object, act.object_document()
    if obj is None or raw is None or not is_note_document(raw):
        return False
    post = await Post.get_or_none(ap_id=obj.id or "", local_uuid__isnull=True)
    if post is None:
        raise NotFound(f"Update of {obj.id}: a note not kept here")
    if post.author_uri != signer.ap_id:
        raise Blocked(f"{signer.ap_id} updated a note of {post.author_uri}")
    note = read_note(obj.raw, activity=act.raw, followers=signer.followers_url)
    if note.author_uri != signer.ap_id:
        raise Blocked(f"{signer.ap_id} made a note of theirs {note.author_uri}'s")
    if note.updated <= post.updated_at:
        return True  # an older copy, arriving late
    await Post.filter(id=post.id).update(
        summary=note.summary[:500],
        content=note.content,
        language=note.language[:16],
        url=note.url[:500],
        attachments=note.attachments,
        document=obj.raw,
        updated_at=note.updated,
    )
    log.info("remote note updated", extra={"post": post.ap_id})
    return True


async def on_delete_note(fed: Federation, act: APObject, signer: RemoteActor) -> bool:
    """``Delete`` of a note kept here (its id, or a ``Tombstone``), by its author; what it
    notified goes with it."""
    uri = act.object_id or ""
    kept = Post.filter(ap_id=uri, author_uri=signer.ap_id, local_uuid__isnull=True)
    deleted = await kept.delete()
    if deleted:
        await forget((NotificationKind.REPLY, NotificationKind.MENTION), uri)
        log.info("remote note deleted", extra={"post": uri})
    return bool(deleted)


async def forget_author(actor_uri: str) -> int:
    """A deleted remote actor's notes and reactions go too."""
    posts = await Post.filter(author_uri=actor_uri, local_uuid__isnull=True).delete()
    return posts + await Reaction.filter(actor_uri=actor_uri).delete()


# --- favourites and boosts ----------------------------------------------------------------------


async def _react(act: APObject, signer: RemoteActor, kind: ReactionKind, target: Target) -> None:
    """Count it once per actor and object; tell the author once."""
    unnamed = hashlib.sha256(target.uri.encode()).hexdigest()[:32]
    ap_id = act.id or f"{signer.ap_id[:400]}#{kind.value}-{unnamed}"
    if await Reaction.exists(kind=kind, actor_uri=signer.ap_id, object_uri=target.uri):
        return  # liked again (a new id) or delivered again
    try:
        reaction = await Reaction.create(
            ap_id=ap_id[:500],
            kind=kind,
            actor_uri=signer.ap_id,
            object_uri=target.uri,
            created_at=datetime.now(UTC),
        )
    except IntegrityError:  # the same at the same time, or an id already used
        return
    log.info("reaction received", extra={"object": target.uri, "kind": kind.value})
    if target.author_id is not None:
        await notify(
            target.author_id,
            TELLS[kind],
            actor_uri=signer.ap_id,
            actor_name=_name(signer),
            source=reaction.ap_id,
            object_uri=target.uri,
            link=target.link,
            text=target.title,
        )


async def on_like(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    """A favourite of one of our offers or posts."""
    target = await target_of(fed, act.object_id)
    if target is None:
        raise NotFound(f"Like of {act.object_id}: not an offer or post of ours")
    await _react(act, signer, ReactionKind.LIKE, target)


async def _joined_directory(signer: RemoteActor) -> bool:
    """The directory actor this instance joined (its instance actor follows it)."""
    return await Follow.exists(target_uri=signer.ap_id, local_follower__kind=ActorKind.INSTANCE)


async def on_announce_any(fed: Federation, act: APObject, signer: RemoteActor) -> None:
    """A boost of one of our offers or posts; any other ``Announce`` (a coop or a directory
    relaying offers) is the offers' (``offers.on_announce``)."""
    uri = act.object_id
    if uri and fed.urls.is_local(uri) and not await _joined_directory(signer):
        target = await target_of(fed, uri)
        if target is None:
            raise NotFound(f"Announce of {uri}: not an offer or post of ours")
        await _react(act, signer, ReactionKind.BOOST, target)
        return
    await on_announce(fed, act, signer)


async def on_undo_reaction(fed: Federation, act: APObject, signer: RemoteActor) -> bool:
    """``Undo`` of a ``Like`` or an ``Announce`` counted here (False: not one)."""
    found = await Reaction.get_or_none(ap_id=act.object_id or "", actor_uri=signer.ap_id)
    inner = act.object
    if found is None and inner is not None and inner.is_a("Like", "Announce"):
        kind = ReactionKind.LIKE if inner.is_a("Like") else ReactionKind.BOOST
        found = await Reaction.get_or_none(
            kind=kind, actor_uri=signer.ap_id, object_uri=inner.object_id or ""
        )
    if found is None:
        return False
    await found.delete()
    await forget((TELLS[ReactionKind(found.kind)],), found.ap_id)
    log.info("reaction undone", extra={"object": found.object_uri, "kind": found.kind})
    return True
