"""The member's settings page (profiles, API tokens) and following from an "interact" link.

Same conventions as ``instance.routes.web``: every POST checks the session's CSRF token first,
refusals are HTML pages, actions redirect back with a one-time message kept in the session
(shown and removed by ``base.html``). A new API token is the exception: it is shown once, on the
page answering the POST, and never stored anywhere but as its SHA-256 digest.
"""

from __future__ import annotations

import logging

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import path_for
from federation.services.follows import follow
from federation.services.profiles import (
    ProfileChange,
    ProfileRefused,
    check_profile,
    editable_actors,
    save_profile,
)
from instance import sessions
from instance.auth import create_token
from instance.config import MediaSettings
from instance.errors import status_for
from instance.forms.messages import translate_message
from instance.media import ImageRefused, ImageTooLarge, delete_media, store_image
from instance.profile_view import Submitted, megabytes, profile_forms, read_profile, upload
from instance.routes.web import form_page, gettext, login_path, page, see_other, to_login
from models.actors import LocalActor
from models.errors import CoopubError, NotFound
from models.follows import FollowState
from models.media import Media, MediaPurpose
from models.offers import ApiToken

log = logging.getLogger(__name__)

FLASH = "flash"
MAX_LABEL = 100


def flash(request: Request, text: str, kind: str = "ok") -> None:
    """A message for the next page shown (``kind``: ``ok`` or ``error``)."""
    request.session[FLASH] = {"kind": kind, "text": text}


async def member_or_none(request: Request) -> LocalActor | None:
    """The logged-in member; also refreshes the session's admin flag (the nav's Admin link)."""
    member = await sessions.current_member(request)
    if member is not None and request.session.get("admin") != member.is_admin:
        request.session["admin"] = member.is_admin
    return member


# --- the page ---------------------------------------------------------------------------------


async def _settings(
    request: Request,
    member: LocalActor,
    *,
    failed: Submitted | None = None,
    status: int = 200,
    **extra: object,
) -> Response:
    tokens = await ApiToken.filter(member_id=member.id).order_by("-created_at", "-id")
    rows = [
        {
            "id": t.id,
            "label": t.label,
            "created": t.created_at.isoformat(),
            "last_used": t.last_used_at.isoformat() if t.last_used_at else None,
        }
        for t in tokens
    ]
    context = {
        "member": member,
        "tokens": rows,
        "new_token": None,
        "label": "",
        "profiles": await profile_forms(member, failed),
        "upload_mb": megabytes(request.app.state.config.media),
        **extra,
    }
    return form_page(request, "settings.html", context, status)


@page
async def settings_page(request: Request) -> Response:
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    return await _settings(request, member)


# --- profiles (the member's, their coop's) -----------------------------------------------------


async def _images(
    form: FormData, actor: LocalActor, settings: MediaSettings, stored: list[Media]
) -> dict[str, Media]:
    """Store the avatar and header sent with the form (``stored`` keeps what was stored, to
    remove it if the rest is refused)."""
    images: dict[str, Media] = {}
    for key, purpose in (("avatar", MediaPurpose.AVATAR), ("header", MediaPurpose.HEADER)):
        data = await upload(form, key)
        if data is not None:
            images[key] = await store_image(
                data, owner=actor, purpose=purpose, description="", settings=settings
            )
            stored.append(images[key])
    return images


@page
async def edit_profile(request: Request) -> Response:
    """Save a profile from the settings page, images included, and tell its followers."""
    settings: MediaSettings = request.app.state.config.media
    limit = 2 * settings.max_upload_bytes + sessions.MAX_FORM
    form = await sessions.checked_upload_form(request, limit)
    stored: list[Media] = []
    try:
        member = await member_or_none(request)
        if member is None:
            return to_login(request)
        username = request.path_params["username"]
        actor = next((a for a in await editable_actors(member) if a.username == username), None)
        if actor is None:  # someone else's, or no such account: the same answer
            raise NotFound(f"{member.username} may not edit {username[:64]}")
        sent = read_profile(form, actor.username)
        try:
            check_profile(sent["name"], sent["summary"], sent["fields"])
            images = await _images(form, actor, settings, stored)
            change = ProfileChange(
                name=sent["name"],
                summary=sent["summary"],
                fields=sent["fields"],
                avatar=images.get("avatar"),
                header=images.get("header"),
                remove_avatar=sent["remove_avatar"],
                remove_header=sent["remove_header"],
            )
            replaced = await save_profile(request.app.state.fed, actor, change)
        except (ProfileRefused, ImageRefused, ImageTooLarge) as exc:
            for media in stored:
                await delete_media(media, settings)
            log.info("profile refused", extra={"actor": actor.username, "detail": exc.detail})
            sent["error"] = translate_message(exc.public_message, gettext(request))
            return await _settings(request, member, failed=sent, status=status_for(exc))
    finally:
        await form.close()
    for media in replaced:
        await delete_media(media, settings)
    log.info("profile saved", extra={"member": member.username, "actor": actor.username})
    flash(request, gettext(request)("The profile was saved; its followers are told."))
    return see_other(path_for("settings") + f"#profile-{actor.username}")


# --- API tokens -------------------------------------------------------------------------------


@page
async def new_token(request: Request) -> Response:
    form = await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    label = form.get("label") or ""
    label = label.strip()[:MAX_LABEL] if isinstance(label, str) else ""
    token = await create_token(member, label)
    log.info("API token created", extra={"member": member.username, "label": label})
    # shown on this answer only: a redirect would have to carry it in the (readable) cookie
    return await _settings(request, member, new_token=token, new_label=label)


@page
async def revoke_token(request: Request) -> Response:
    await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    token = await ApiToken.get_or_none(id=request.path_params["id"], member_id=member.id)
    if token is None:  # someone else's, or gone: the same answer
        raise NotFound(f"no token {request.path_params['id']} of {member.username}")
    await token.delete()
    log.info("API token revoked", extra={"member": member.username, "label": token.label})
    flash(request, gettext(request)("The token was revoked: it no longer works."))
    return see_other(path_for("settings"))


# --- following from an "interact" link -------------------------------------------------------


def interaction_path(uri: str) -> str:
    return path_for("authorize_interaction", query={"uri": uri})


@page
async def follow_from_interaction(request: Request) -> Response:
    form = await sessions.checked_form(request)
    uri = form.get("uri") or ""
    uri = uri.strip()[:500] if isinstance(uri, str) else ""
    back = interaction_path(uri) if uri else path_for("home")
    member = await member_or_none(request)
    if member is None:
        return see_other(login_path(back))
    _ = gettext(request)
    if not uri:
        flash(request, _("Give the account to follow."), "error")
        return see_other(back)
    fed = request.app.state.fed
    try:
        record = await follow(fed, member, uri)
    except CoopubError as exc:
        log.info(
            "follow refused",
            extra={"member": member.username, "target": uri, "detail": exc.detail},
        )
        flash(request, translate_message(exc.public_message, _), "error")
        return see_other(back)
    log.info("follow asked", extra={"member": member.username, "target": record.target_uri})
    if record.state == FollowState.ACCEPTED:
        text = _("You follow {target}.")
    else:
        text = _("Follow request sent to {target}: it waits for their answer.")
    flash(request, text.format(target=record.target_uri))
    return see_other(back)
