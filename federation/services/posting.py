"""Posts written here: a coop's or a member's announcements, and members' replies to posts and
offers from anywhere, sent as the ``Note`` Mastodon would send (``activitypub/posts.py``).

An announcement is public: ``Create`` to the author's followers (shared inboxes first) and to
the accounts it mentions. A reply is addressed as the post it answers (never wider), names the
account it answers first (a ``Mention`` tag and ``@name@host`` at the start), and goes to that
account's inbox too: Mastodon then threads it under the post and notifies its author. Both are
kept as ``models.posts.Post`` rows, the ``Note`` as sent in ``document``, and the activity in the
author's outbox. Deleting one sends ``Delete`` with a ``Tombstone`` to the same servers; its
URL then answers 410.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from activitypub.activities import wrap_delete
from activitypub.apobject import all_ids
from activitypub.media import document_to_as, media_url
from activitypub.notes import excerpt
from activitypub.posts import (
    LANGUAGES,
    MAX_TEXT,
    Audience,
    Mentioned,
    addressing,
    create_note,
    handles_in,
    note_document,
    render_text,
    with_leading_mention,
)
from activitypub.urls import is_uuid, path_for
from federation.actors import fetch_actor
from federation.context import Federation
from federation.delivery import follower_inboxes, publish
from federation.services.notifications import forget, notify
from federation.services.post_access import OPEN, may_read
from federation.webfinger import resolve
from models.activities import Activity
from models.actors import LocalActor, RemoteActor
from models.errors import CoopubError, Malformed, NotFound
from models.media import Media
from models.notifications import NotificationKind
from models.offers import Offer
from models.posts import Post, PostKind, Visibility

log = logging.getLogger(__name__)

MAX_MENTIONS = 10
"""Accounts one post may notify (each one a WebFinger lookup and an actor fetch)."""


# --- mentions --------------------------------------------------------------------------------


async def mentioned(fed: Federation, handle: str) -> Mentioned:
    """The account behind ``name@host``: a local one as is, a remote one by WebFinger and a
    (signed) fetch of its actor."""
    uri = await resolve(fed, handle)
    parsed = fed.urls.parse_actor(uri)
    if parsed is not None:
        return Mentioned(uri, uri, parsed[1], handle)
    remote = await fetch_actor(fed, uri)
    return Mentioned(remote.ap_id, remote.url or remote.ap_id, remote.username, handle)


async def _resolve_all(
    fed: Federation, text: str, known: dict[str, Mentioned]
) -> dict[str, Mentioned]:
    """Every handle the text names, resolved when it can be (one that cannot stays text)."""
    found = dict(known)
    for handle in handles_in(text)[:MAX_MENTIONS]:
        if handle in found:
            continue
        try:
            found[handle] = await mentioned(fed, handle)
        except CoopubError as exc:
            log.info("mention not resolved", extra={"handle": handle, "error": str(exc)})
    return found


# --- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """What a post says, as typed: plain text (``MAX_TEXT`` at most), its language, and the
    pictures stored for it (``instance.media.store_image``)."""

    text: str
    language: str
    images: tuple[Media, ...] = ()


def _checked(draft: Draft, fed: Federation) -> Draft:
    text = draft.text.strip()
    if not text:
        raise Malformed("empty post", "Write something first.")
    if len(text) > MAX_TEXT:
        raise Malformed("post too long", "This post is too long.")
    language = draft.language if draft.language in LANGUAGES else fed.site.languages[0]
    return Draft(text, language, draft.images)


def _tag_href(fed: Federation) -> Callable[[str], str]:
    return lambda name: fed.urls.url("tag", name=name)


async def _write(
    fed: Federation,
    author: LocalActor,
    draft: Draft,
    *,
    kind: PostKind,
    visibility: Visibility,
    known: dict[str, Mentioned],
    in_reply_to: str | None = None,
    answered_author: str | None = None,
    extra_inboxes: tuple[str, ...] = (),
) -> Post:
    """Store the post, queue its ``Create`` and tell the accounts here it answers or names
    (no inbox tells them: nothing is sent to this instance itself), in one transaction."""
    draft = _checked(draft, fed)
    mentions = await _resolve_all(fed, draft.text, known)
    rendered = render_text(draft.text, mentions, _tag_href(fed))
    local_uuid = str(uuid.uuid4())
    note_id = fed.urls.url("post", uuid=local_uuid)
    author_uri = fed.urls.actor(author)
    now = datetime.now(UTC)
    named = [m.actor_uri for m in rendered.mentioned]
    to, cc = addressing(Audience(visibility.value), fed.urls.followers(author), named)
    note = note_document(
        note_id=note_id,
        author_uri=author_uri,
        content=rendered.html,
        language=draft.language,
        published=now,
        to=to,
        cc=cc,
        tags=rendered.tags,
        attachments=[document_to_as(fed.urls, image) for image in draft.images],
        in_reply_to=in_reply_to,
        replies=fed.urls.url("post_replies", uuid=local_uuid) if visibility in OPEN else None,
    )
    inboxes = set(extra_inboxes) | set(await _inboxes_of(fed, author, to + cc))
    async with in_transaction():
        post = await Post.create(
            ap_id=note_id,
            local_uuid=local_uuid,
            author=author,
            author_uri=author_uri,
            author_name=author.name or author.username,
            author_handle=f"@{author.username}@{fed.urls.domain}",
            kind=kind,
            visibility=visibility,
            content=rendered.html,
            language=draft.language,
            url=note_id,
            in_reply_to=in_reply_to,
            attachments=[_stored(fed, image) for image in draft.images],
            document=note,
            published_at=now,
            updated_at=now,
        )
        await publish(fed, author, create_note(fed.urls.new_activity_id(), note), inboxes)
        await _tell_locals(fed, post, author, named, answered_author)
    log.info("post published", extra={"post": note_id, "kind": kind.value, "to": len(inboxes)})
    return post


async def _tell_locals(
    fed: Federation, post: Post, author: LocalActor, named: list[str], answered_author: str | None
) -> None:
    """Notify the local author of what a post answers (a reply) and the local accounts it
    mentions, as the inbox does for posts from elsewhere."""
    link = path_for("post", uuid=post.local_uuid)
    recipients = [(answered_author, NotificationKind.REPLY)] if answered_author else []
    recipients += [(uri, NotificationKind.MENTION) for uri in named]
    told: set[int] = {author.id}
    for uri, kind in recipients:
        parsed = fed.urls.parse_actor(uri or "")
        actor = (
            await LocalActor.get_or_none(kind=parsed[0], username=parsed[1], deleted_at=None)
            if parsed is not None
            else None
        )
        if actor is None or actor.id in told:
            continue
        told.add(actor.id)
        await notify(
            actor.id,
            kind,
            actor_uri=post.author_uri,
            actor_name=post.author_name,
            source=post.ap_id,
            object_uri=post.in_reply_to if kind == NotificationKind.REPLY else post.ap_id,
            link=link,
            text=excerpt(post.content),
        )


def _stored(fed: Federation, image: Media) -> dict[str, Any]:
    """A picture as ``Post.attachments`` keeps it (the pages link it)."""
    return {
        "url": media_url(fed.urls, image),
        "media_type": image.media_type,
        "description": image.description,
        "width": image.width,
        "height": image.height,
        "media": image.uuid,
    }


async def _inboxes_of(fed: Federation, author: LocalActor, audience: list[str]) -> list[str]:
    """Where the addressees of a post of ``author`` receive it: its followers' (shared) inboxes
    for its followers collection, each remote account's inbox for itself."""
    inboxes: set[str] = set()
    if fed.urls.followers(author) in audience:
        inboxes |= set(await follower_inboxes(fed, author))
    remote = [uri for uri in audience if not fed.urls.is_local(uri) and uri.startswith("http")]
    for actor in await RemoteActor.filter(ap_id__in=remote):
        inboxes.add(actor.inbox)
    return sorted(inboxes)


async def announce(fed: Federation, author: LocalActor, draft: Draft) -> Post:
    """A public post of ``author`` (a coop or a member) for its followers."""
    return await _write(
        fed, author, draft, kind=PostKind.ANNOUNCEMENT, visibility=Visibility.PUBLIC, known={}
    )


# --- replies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    """What a reply answers: a post or an offer, local or a copy of a remote one."""

    ap_id: str
    author_uri: str
    author_name: str
    visibility: Visibility
    excerpt: str
    """Sanitised HTML (a post's content) or the offer's title, escaped by the page."""
    is_offer: bool
    local_path: str | None


async def answered(fed: Federation, uri: str, reader: LocalActor) -> Answered:
    """The post or offer at ``uri`` as kept here, when ``reader`` may read it (a reply is
    only to something shown to them; anything else is a 404, as if unknown)."""
    post = await Post.get_or_none(ap_id=uri)
    if post is not None:
        if not await may_read(fed, reader, post):
            raise NotFound(f"{reader.username} may not read {uri[:200]}", "No such post")
        return Answered(
            post.ap_id,
            post.author_uri,
            post.author_name or post.author_handle,
            Visibility(post.visibility),
            post.content,
            False,
            path_for("post", uuid=post.local_uuid) if post.local_uuid else None,
        )
    offer = await Offer.get_or_none(ap_id=uri)
    if offer is None:
        raise NotFound(f"nothing here at {uri[:200]}", "No such post")
    return Answered(
        offer.ap_id,
        offer.author_uri,
        offer.author_name,
        Visibility.PUBLIC,
        offer.title,
        True,
        path_for("offer", uuid=offer.local_uuid) if offer.local_uuid else None,
    )


async def _author_of(fed: Federation, uri: str) -> tuple[Mentioned, str | None]:
    """The account answered, and its inbox (None for a local one: it reads the reply here)."""
    parsed = fed.urls.parse_actor(uri)
    if parsed is not None:
        return Mentioned(uri, uri, parsed[1], f"{parsed[1]}@{fed.urls.domain}"), None
    remote = await fetch_actor(fed, uri)
    handle = remote.handle.lower()
    return Mentioned(
        remote.ap_id, remote.url or remote.ap_id, remote.username, handle
    ), remote.inbox


async def reply(fed: Federation, member: LocalActor, object_uri: str, draft: Draft) -> Post:
    """``member``'s answer to the post or offer at ``object_uri``: as wide as it (a reply to a
    followers-only post is followers-only), to its author first."""
    target = await answered(fed, object_uri, member)
    author, inbox = await _author_of(fed, target.author_uri)
    own = target.author_uri == fed.urls.actor(member)  # a thread continued: no self-mention
    text = draft.text if own else with_leading_mention(draft.text, author.handle)
    visibility = target.visibility
    return await _write(
        fed,
        member,
        Draft(text, draft.language, draft.images),
        kind=PostKind.REPLY,
        visibility=visibility,
        known={author.handle: author},
        in_reply_to=target.ap_id,
        answered_author=target.author_uri,
        extra_inboxes=(inbox,) if inbox else (),
    )


# --- reading and deleting ----------------------------------------------------------------


async def local_post(local_uuid: str) -> Post:
    """A post written here; a malformed id is a 404 like any unknown one."""
    post = await Post.get_or_none(local_uuid=local_uuid) if is_uuid(local_uuid) else None
    if post is None:
        raise NotFound(f"no post {local_uuid[:100]}", "No such post")
    return post


async def delete_post(fed: Federation, post: Post) -> None:
    """Delete a post written here, everywhere it was sent."""
    author = await LocalActor.get_or_none(id=post.author_id) if post.author_id else None
    if author is None or post.local_uuid is None:
        raise NotFound(f"{post.ap_id} is not a local post")
    doc = post.document or {}
    audience = [*all_ids(doc.get("to")), *all_ids(doc.get("cc"))]
    inboxes = set(await _inboxes_of(fed, author, audience))
    if post.in_reply_to:
        inboxes |= set(await _answered_inbox(post.in_reply_to))
    public = post.visibility in (Visibility.PUBLIC, Visibility.UNLISTED)
    delete = wrap_delete(
        fed.urls.new_activity_id(),
        fed.urls.actor(author),
        post.ap_id,
        to=None if public else all_ids(doc.get("to")),
        cc=[fed.urls.followers(author)] if public else all_ids(doc.get("cc")),
        published=datetime.now(UTC),
    )
    async with in_transaction():
        await publish(fed, author, delete, inboxes)
        await Activity.filter(object_uri=post.ap_id, type="Create").delete()
        await forget((NotificationKind.REPLY, NotificationKind.MENTION), post.ap_id)
        await post.delete()
    log.info("post deleted", extra={"post": post.ap_id})


async def _answered_inbox(uri: str) -> list[str]:
    """The inbox of the remote author of what a reply answered (told of its deletion too)."""
    post = await Post.get_or_none(ap_id=uri)
    author_uri = post.author_uri if post is not None else None
    if author_uri is None:
        offer = await Offer.get_or_none(ap_id=uri)
        author_uri = offer.author_uri if offer is not None else None
    remote = await RemoteActor.get_or_none(ap_id=author_uri) if author_uri else None
    return [remote.inbox] if remote is not None else []
