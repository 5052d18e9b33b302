"""Posts on the pages: a post's URL (its ``Note`` for servers, a page with its replies for
people), writing an announcement, replying, deleting, the member's home feed, a hashtag's page.

Same conventions as ``instance.routes.web``: every POST checks the session's CSRF token first,
refusals on the member's pages are HTML pages, actions redirect (303) with a one-time message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from activitypub.posts import LANGUAGES, MAX_TEXT, note_tombstone
from activitypub.urls import path_for
from federation.services import feed, post_access, posting
from federation.services.post_access import OPEN
from federation.services.replies import counts_of, replies_of
from federation.services.tombstones import deleted_at
from instance import sessions
from instance.alerts_view import home_alerts
from instance.config import MediaSettings
from instance.errors import error_response, status_for
from instance.forms.messages import translate_message
from instance.i18n import negotiate
from instance.media import ImageRefused, ImageTooLarge, delete_media, store_image
from instance.negotiation import AS2Response, wants_as2
from instance.post_view import post_views, reply_form_context, safe_html
from instance.profile_view import megabytes, upload
from instance.routes.actors import require_signed_fetch
from instance.routes.settings import flash
from instance.routes.web import form_page, gettext, page, see_other, to_login
from instance.sessions import MAX_FORM
from instance.templating import render
from models.actors import LocalActor
from models.errors import Malformed, NotFound
from models.media import Media, MediaPurpose
from models.posts import Post

log = logging.getLogger(__name__)

MAX_CURSOR_DIGITS = 12


# --- the post's URL ------------------------------------------------------------------------


async def post_page(request: Request) -> Response:
    """``/posts/{uuid}``: the ``Note`` for servers, the post and its replies for people; 410
    with a ``Tombstone`` once deleted."""
    local_uuid = request.path_params["uuid"]
    post = await _live_post(request, local_uuid)
    if post is None:
        return await _gone(request, local_uuid)
    if wants_as2(request):
        await require_signed_fetch(request)
        return AS2Response(post.document or {})
    member = await sessions.current_member(request)
    [view] = await post_views([post])
    replies = await post_views(await replies_of(post.ap_id))
    context = {
        "post": view,
        "replies": replies,
        "counts": await counts_of(post.ap_id),
        "may_delete": await post_access.may_delete(member, post),
        "moderator": member is not None and member.is_admin,
        **reply_form_context(request, member, post.ap_id),
    }
    if member is not None:  # with the reply form and its CSRF token: never cached
        return form_page(request, "post.html", context)
    return render(request, "post.html", context)


async def _live_post(request: Request, local_uuid: str) -> Post | None:
    """The post, None when it was deleted (or its author was); 404 when it never existed or
    is not for everyone to read (followers-only and direct replies stay with their readers)."""
    try:
        post = await posting.local_post(local_uuid)
    except NotFound:
        if await deleted_at(request.app.state.fed, "post", local_uuid) is None:
            raise
        return None
    author = await LocalActor.get_or_none(id=post.author_id) if post.author_id else None
    if author is None or author.deleted_at is not None:
        return None
    if author.suspended_at is not None:  # hidden while suspended (account_moderation)
        raise NotFound(f"post {local_uuid} of a suspended member", "Not found")
    if post.visibility not in OPEN:  # never to servers; to its readers, logged in
        member = None if wants_as2(request) else await sessions.current_member(request)
        fed = request.app.state.fed
        if member is None or not await post_access.may_read(fed, member, post):
            raise NotFound(f"post {local_uuid} is not public", "No such post")
    return post


async def _gone(request: Request, local_uuid: str) -> Response:
    fed = request.app.state.fed
    when = await deleted_at(fed, "post", local_uuid)
    if wants_as2(request):
        tombstone = note_tombstone(fed.urls.url("post", uuid=local_uuid), when)
        response: Response = AS2Response(tombstone, status_code=410)
    else:
        _ = gettext(request)
        response = error_response(request, 410, _("This post has been deleted."))
    response.headers["Vary"] = "Accept"
    return response


# --- writing an announcement ---------------------------------------------------------------


def _form(
    request: Request,
    accounts: list[LocalActor],
    values: dict[str, str],
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "accounts": accounts,
        "values": values,
        "error": error,
        "max_text": MAX_TEXT,
        "post_languages": LANGUAGES,
        "megabytes": megabytes(request.app.state.config.media),
    }
    return form_page(request, "post_form.html", context, status)


@page
async def new_post_page(request: Request) -> Response:
    member = await sessions.current_member(request)
    if member is None:
        return to_login(request)
    accounts = await post_access.postable_accounts(member)
    chosen = request.query_params.get("as") or member.username
    language = request.query_params.get("language", "")
    values = {"as": chosen, "text": "", "language": language, "description": ""}
    return _form(request, accounts, values)


@page
async def new_post(request: Request) -> Response:
    """Publish an announcement, with its picture when one is sent (stored first, removed again
    when the post is refused)."""
    settings: MediaSettings = request.app.state.config.media
    form = await sessions.checked_upload_form(request, settings.max_upload_bytes + MAX_FORM)
    try:
        member = await sessions.current_member(request)
        if member is None:
            return to_login(request)
        return await _publish(request, member, form, settings)
    finally:
        await form.close()


async def _publish(
    request: Request, member: LocalActor, form: FormData, settings: MediaSettings
) -> Response:
    fed = request.app.state.fed
    accounts = await post_access.postable_accounts(member)
    values = {k: str(form.get(k) or "") for k in ("as", "text", "language", "description")}
    author = next((a for a in accounts if a.username == values["as"]), None)
    _ = gettext(request)
    if author is None:
        return _form(request, accounts, values, _("You may not post as this account."), 403)
    problem = _text_problem(values["text"], _)
    if problem:
        return _form(request, accounts, values, problem, 422)
    images: tuple[Media, ...] = ()
    data = await upload(form, "image")
    if data is not None:
        try:
            image = await store_image(
                data,
                owner=author,
                purpose=MediaPurpose.ATTACHMENT,
                description=values["description"],
                settings=settings,
            )
        except (ImageRefused, ImageTooLarge) as exc:
            message = translate_message(exc.public_message, _)
            return _form(request, accounts, values, message, status_for(exc))
        images = (image,)
    draft = posting.Draft(values["text"], values["language"] or negotiate(request), images)
    try:
        post = await posting.announce(fed, author, draft)
    except BaseException:
        for image in images:
            await delete_media(image, settings)
        raise
    flash(request, _("Your post is published."))
    return see_other(path_for("post", uuid=post.local_uuid))


def _text_problem(text: str, _: Callable[[str], str]) -> str | None:
    if not text.strip():
        return _("Write something first.")
    if len(text.strip()) > MAX_TEXT:
        return _("This post is too long (%(max)d characters at most).") % {"max": MAX_TEXT}
    return None


# --- replying ------------------------------------------------------------------------------


@page
async def reply_page(request: Request) -> Response:
    """``/reply?to=<id>``: what is answered, and the form."""
    member = await sessions.current_member(request)
    if member is None:
        return to_login(request)
    fed = request.app.state.fed
    target = await posting.answered(fed, request.query_params.get("to", "")[:500], member)
    context = {**_target(target), **reply_form_context(request, member, target.ap_id)}
    return form_page(request, "reply.html", context)


def _target(target: posting.Answered) -> dict[str, Any]:
    """What is answered, its text shown safely (an offer's title is text, a post's HTML)."""
    excerpt = target.excerpt if target.is_offer else safe_html(target.excerpt)
    return {"target": target, "excerpt": excerpt}


@page
async def reply(request: Request) -> Response:
    form = await sessions.checked_form(request)
    member = await sessions.current_member(request)
    if member is None:
        return to_login(request)
    fed = request.app.state.fed
    uri = str(form.get("in_reply_to") or "")[:500]
    text = str(form.get("text") or "")
    target = await posting.answered(fed, uri, member)
    _ = gettext(request)
    problem = _text_problem(text, _)
    if problem:
        context = {
            **_target(target),
            **reply_form_context(request, member, target.ap_id, text=text, error=problem),
        }
        return form_page(request, "reply.html", context, 422)
    language = str(form.get("language") or "") or negotiate(request)
    await posting.reply(fed, member, target.ap_id, posting.Draft(text, language))
    flash(request, _("Your reply is sent."))
    return see_other(target.local_path or path_for("feed"))


# --- deleting ------------------------------------------------------------------------------


async def _deletable(request: Request) -> tuple[LocalActor, Post] | None:
    member = await sessions.current_member(request)
    if member is None:
        return None
    post = await posting.local_post(request.path_params["uuid"])
    if not await post_access.may_delete(member, post):
        raise NotFound(f"{member.username} may not delete {post.ap_id}", "No such post")
    return member, post


@page
async def delete_post_page(request: Request) -> Response:
    found = await _deletable(request)
    if found is None:
        return to_login(request)
    [view] = await post_views([found[1]])
    return form_page(request, "post_delete.html", {"post": view})


@page
async def delete_post(request: Request) -> Response:
    await sessions.checked_form(request)
    found = await _deletable(request)
    if found is None:
        return to_login(request)
    await posting.delete_post(request.app.state.fed, found[1])
    _ = gettext(request)
    flash(request, _("The post is deleted."))
    return see_other(path_for("feed"))


# --- the home feed and hashtags ------------------------------------------------------------


def _cursor(request: Request) -> int | None:
    raw = request.query_params.get("before")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_CURSOR_DIGITS):
        raise Malformed(f"bad cursor {raw[:20]!r}", "before must be a post number")
    return int(raw)


@page
async def home_feed(request: Request) -> Response:
    """The posts of the accounts the member follows, newest first, a page at a time."""
    member = await sessions.current_member(request)
    if member is None:
        return to_login(request)
    fed = request.app.state.fed
    found = await feed.home_feed(fed, member, _cursor(request))
    older = path_for("feed", query={"before": found.next_before}) if found.next_before else None
    context = {
        "posts": await post_views(found.posts),
        "older": older,
        "first_page": request.query_params.get("before") is None,
    }
    if context["first_page"]:
        context.update(await home_alerts(fed, member, gettext(request)))
    return form_page(request, "feed.html", context)


async def tag_page(request: Request) -> Response:
    """``/tags/{name}``: the public posts kept here with that hashtag (where our hashtag links
    lead)."""
    fed = request.app.state.fed
    name = request.path_params["name"][:100]
    posts = await post_views(await feed.tagged(fed, name))
    return render(request, "tag.html", {"name": name, "posts": posts})
