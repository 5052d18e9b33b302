"""Replies, favourites, boosts and notifications as the pages (and the API) show them.

A reply's HTML was sanitised when it arrived (``activitypub.notes``); a remote one is cleaned
once more on its way to the page, so a row written by anything else than the inbox is shown
safely too. ``WHAT`` says, for each kind of notification, what happened (a msgid of the
catalogue).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup
from pydantic import BaseModel, Field

from activitypub.notes import sanitise
from activitypub.offer_schema import Moment
from activitypub.urls import match_path
from federation.context import Federation
from federation.services.notifications import Who, who_did
from federation.services.replies import reaction_counts, shown_replies
from models.i18n import N_
from models.notifications import Notification
from models.offers import Offer
from models.posts import Post, ReactionKind

WHAT: dict[tuple[str, str], str] = {
    ("reply", "offer"): N_("replied to your offer"),
    ("reply", "post"): N_("replied to your post"),
    ("mention", ""): N_("mentioned you"),
    ("follow", ""): N_("followed you"),
    ("follow", "request"): N_("asked to follow you"),
    ("move", ""): N_("moved to a new account, which you now follow"),
    ("like", "offer"): N_("favourited your offer"),
    ("like", "post"): N_("favourited your post"),
    ("boost", "offer"): N_("boosted your offer"),
    ("boost", "post"): N_("boosted your post"),
    ("booking", "requested"): N_("asked for your offer"),
    ("booking", "accepted"): N_("accepted your request"),
    ("booking", "declined"): N_("declined your request"),
    ("booking", "cancelled"): N_("cancelled the booking"),
    ("booking", "message"): N_("wrote to you about a booking"),
    ("moderation", "silence"): N_("limited your account: only your followers see your offers"),
    ("moderation", "unsilence"): N_("lifted the limit on your account"),
    ("moderation", "unsuspend"): N_("lifted the suspension of your account"),
    ("moderation", "remove_offer"): N_("removed your offer"),
    ("moderation", "remove_post"): N_("removed your post"),
    ("moderation", "report"): N_("reported an account: see the report"),
}
"""(kind, event or what it concerns) → what happened, after the actor's name."""


def _host(uri: str) -> str:
    try:
        return urlsplit(uri).netloc
    except ValueError:
        return ""


def reply_view(post: Post) -> dict[str, Any]:
    """A reply under an offer or a post: who wrote it (name, ``@name@host``, instance), what,
    when, and its attachments as links."""
    content = post.content if post.local_uuid else sanitise(post.content)
    return {
        "id": post.id,
        "ap_id": post.ap_id,
        "url": post.url or post.ap_id,
        "author_name": post.author_name or post.author_handle or post.author_uri,
        "author_handle": post.author_handle,
        "author_url": post.author_uri,
        "instance": _host(post.author_uri),
        "summary": post.summary,
        "content": Markup(content),
        "language": post.language,
        "published": post.published_at.isoformat(),
        "attachments": [
            {
                "url": a.get("url", ""),
                "media_type": a.get("media_type", ""),
                "description": a.get("description", ""),
            }
            for a in post.attachments or []
            if isinstance(a, dict) and str(a.get("url", "")).startswith(("https://", "http://"))
        ],
    }


async def interactions_of(object_uri: str) -> dict[str, Any]:
    """What a page shows under an offer or a post (``templates/_interactions.html``): its
    public replies (only the columns shown), its favourites and boosts counted (one grouped
    query; the replies are counted as listed)."""
    counts = await reaction_counts(object_uri)
    replies = [reply_view(p) for p in await shown_replies(object_uri)]
    return {
        "object_uri": object_uri,
        "replies": replies,
        "likes": counts[ReactionKind.LIKE],
        "boosts": counts[ReactionKind.BOOST],
    }


async def offer_interactions(fed: Federation, offer: Offer) -> dict[str, Any]:
    return await interactions_of(offer.ap_id)


# --- notifications --------------------------------------------------------------------------


def _about(fed: Federation, n: Notification) -> str:
    """``offer`` or ``post``: what a reply, a favourite or a boost was about."""
    if n.kind.value not in ("reply", "like", "boost"):
        return n.event
    try:
        path = urlsplit(n.object_uri).path
    except ValueError:
        return "post"
    local = fed.urls.is_local(n.object_uri)
    return "offer" if local and match_path("offer", path) is not None else "post"


class Actor(BaseModel):
    id: str = Field(description="The ActivityPub id")
    name: str
    handle: str = Field(description="name@host")
    url: str = Field(description="Their page")


class NotificationOut(BaseModel):
    id: int
    kind: str = Field(description="reply, mention, follow, like, boost or booking")
    event: str = Field(
        description="booking: requested, accepted, declined, cancelled or message; "
        "follow: request (waiting for approval), else empty; "
        "reply, like, boost: offer or post"
    )
    actor: Actor
    object: str = Field(description="The ActivityPub id of what it concerns")
    link: str = Field(description="A page about it")
    text: str = Field(description="An excerpt, plain text")
    read: bool
    created_at: Moment


def notification_view(fed: Federation, n: Notification, who: Who) -> NotificationOut:
    link = n.link if n.link.startswith(("https://", "http://")) else fed.urls.base + n.link
    return NotificationOut(
        id=n.id,
        kind=n.kind.value,
        event=_about(fed, n),
        actor=Actor(id=who.uri, name=who.name, handle=who.handle, url=who.url),
        object=n.object_uri,
        link=link if n.link else "",
        text=n.text,
        read=n.read_at is not None,
        created_at=n.created_at,
    )


async def notification_views(fed: Federation, items: list[Notification]) -> list[dict[str, Any]]:
    """For the page: as the API has them, with ``what`` (a msgid) and the link as a path when
    it is one of ours."""
    who = await who_did(fed, items)
    views = []
    for n in items:
        view = notification_view(fed, n, who[n.actor_uri]).model_dump(mode="json")
        view["what"] = WHAT.get((view["kind"], view["event"]), "")
        view["href"] = n.link
        views.append(view)
    return views
