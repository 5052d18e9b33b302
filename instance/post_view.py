"""What the pages show of a post: its author, its text, its images as links, where to reply.

The text is HTML: ours is built from escaped plain text (``activitypub/posts.py``), a remote
post's was sanitised when it was stored; it is cleaned once more here before being marked safe
(a row written by an older version, or by hand, is never trusted as it is). Images are links,
never ``<img>``: nothing is loaded from another server when a member opens a page.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from starlette.requests import Request

from activitypub.notes import sanitise
from activitypub.posts import LANGUAGES
from activitypub.urls import path_for
from activitypub.wire import is_http_url
from federation.services.feed import announcements_of
from federation.services.post_access import may_post_as
from instance import sessions
from models.actors import LocalActor, RemoteActor
from models.errors import Malformed
from models.posts import Post


def safe_html(content: str) -> Markup:
    """HTML that may be shown as is: what Mastodon keeps of a post (``notes.sanitise``: no
    class, no style, links only to http(s), each without a referrer)."""
    try:
        return Markup(sanitise(content))  # cleaned by nh3 just there
    except Malformed:  # nested past what the parser follows: not shown at all
        return Markup("")


def _images(post: Post) -> list[dict[str, str]]:
    shown = []
    for item in post.attachments or []:
        url = item.get("url") if isinstance(item, dict) else None
        if isinstance(url, str) and is_http_url(url):
            description = item.get("description")
            shown.append({"url": url, "description": str(description or "")[:1500]})
    return shown


async def _profiles(posts: list[Post]) -> dict[str, str]:
    """The profile page of each remote author (the actor id when none is known)."""
    remote = {p.author_uri for p in posts if p.local_uuid is None}
    found = await RemoteActor.filter(ap_id__in=remote) if remote else []
    return {a.ap_id: a.url for a in found if a.url and is_http_url(a.url)}


async def post_views(posts: list[Post]) -> list[dict[str, Any]]:
    """The posts as the templates read them (``templates/_post.html``)."""
    profiles = await _profiles(posts)
    views = []
    for post in posts:
        local = post.local_uuid is not None
        page = path_for("post", uuid=post.local_uuid) if post.local_uuid else None
        elsewhere = post.url if is_http_url(post.url) else post.ap_id
        views.append(
            {
                "ap_id": post.ap_id,
                "local": local,
                "local_uuid": post.local_uuid,
                "page": page or elsewhere,
                "author_name": post.author_name or post.author_handle or post.author_uri,
                "author_handle": post.author_handle,
                "author_url": profiles.get(post.author_uri, post.author_uri),
                "summary": post.summary,
                "content": safe_html(post.content),
                "language": post.language,
                "published": post.published_at.isoformat(),
                "kind": post.kind,
                "in_reply_to": post.in_reply_to,
                "images": _images(post),
                "reply": path_for("reply", query={"to": post.ap_id}),
            }
        )
    return views


def reply_form_context(
    request: Request,
    member: LocalActor | None,
    object_uri: str,
    *,
    text: str = "",
    error: str | None = None,
) -> dict[str, Any]:
    """The reply form's values (``templates/_reply_form.html``); no form for visitors."""
    return {
        "reply_member": member,
        "reply_to": object_uri,
        "reply_text": text,
        "reply_error": error,
        "reply_languages": LANGUAGES,
        "reply_csrf": sessions.csrf_token(request) if member is not None else "",
    }


async def announcements_context(actor: LocalActor, member: LocalActor | None) -> dict[str, Any]:
    """What ``templates/_announcements.html`` needs on an account's page: its announcements,
    newest first, and whether the visitor may write one as it."""
    posts = await announcements_of(actor)
    return {
        "announcements": await post_views(posts),
        "may_announce": member is not None and await may_post_as(member, actor),
        "announcements_account": actor.username,
    }
