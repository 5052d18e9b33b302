"""The member's own account: changing the password, resetting a forgotten one, asking to join
a coop.

A password change needs the current password; a wrong one counts as a failed login for the
account and the address (``instance/login_limits``), so the form cannot be used to guess it.
The "forgot password" form always answers the same words, whether or not the name or address
belongs to someone, and sends its email after the answer (no timing difference either); with
no ``[mail]`` server it says to ask an admin for a link.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import Urls, path_for
from federation.services import memberships, password_resets, signup
from federation.services.accounts import set_password
from instance import sessions
from instance.config import Config
from instance.errors import status_for
from instance.forms.messages import translate_message
from instance.i18n import negotiate
from instance.join_limits import check_join_limit, too_many
from instance.login_limits import LoginLimits, LoginLocked
from instance.mail import MailFailed, reset_email, send_mail
from instance.passwords import MIN_LENGTH, verify_password
from instance.rate_limits import client_address
from instance.routes.settings import flash, member_or_none
from instance.routes.signup import PasswordRefused, hashed, new_password, text
from instance.routes.web import form_page, gettext, page, see_other, to_login
from models.actors import LocalActor
from models.errors import CoopubError, RateLimited

log = logging.getLogger(__name__)


# --- changing the password --------------------------------------------------------------------


def _password_form(
    request: Request, member: LocalActor, error: str = "", status: int = 200
) -> Response:
    context = {"member": member, "error": error, "min_length": MIN_LENGTH}
    return form_page(request, "password_change.html", context, status)


@page
async def change_password_page(request: Request) -> Response:
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    return _password_form(request, member)


@page
async def change_password(request: Request) -> Response:
    form = await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    _ = gettext(request)
    limits: LoginLimits = request.app.state.limits.login
    address = client_address(request.scope)
    try:
        await limits.check(member.username, address)
    except LoginLocked as locked:
        return too_many(request, locked, _)
    current = form.get("current_password") or ""
    current = current[:1024] if isinstance(current, str) else ""
    ok = bool(member.password_hash) and await asyncio.to_thread(
        verify_password, member.password_hash or "", current
    )
    if not ok:
        await limits.failed(member.username, address)
        log.info("password change refused", extra={"member": member.username})
        return _password_form(request, member, _("The current password is wrong."), 403)
    try:
        password = new_password(form, _)
    except PasswordRefused as exc:
        return _password_form(request, member, exc.public_message, 422)
    await set_password(member, await hashed(password))
    await limits.succeeded(member.username)
    sessions.log_in(request, member, request.app.state.fed.urls.actor(member))  # new stamp
    request.session["admin"] = member.is_admin
    log.info("password changed", extra={"member": member.username})
    flash(request, _("Your password was changed; your other sessions are logged out."))
    return see_other(path_for("settings"))


# --- a forgotten password ----------------------------------------------------------------------


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


@page
async def forgot_password_page(request: Request) -> Response:
    context = {"mail": _config(request).mail.enabled, "sent": False}
    return form_page(request, "password_forgot.html", context)


async def _send_links(config: Config, urls: Urls, identifier: str, lang: str) -> None:
    """Issue a link for each member the form names and email it (after the answer)."""
    for member in await password_resets.members_for(identifier):
        reset = await password_resets.issue_reset(member, config.signup.reset_hours)
        link = urls.url("reset_password", token=reset.token)
        message = reset_email(
            config.mail, member.email or "", member.username, link, reset.expires_at, lang
        )
        try:
            await send_mail(config.mail, message)
        except MailFailed as exc:
            log.warning(
                "reset email failed", extra={"member": member.username, "detail": exc.detail}
            )


@page
async def forgot_password(request: Request) -> Response:
    form = await sessions.checked_form(request)
    _ = gettext(request)
    try:
        check_join_limit(request)
    except RateLimited as exc:
        return too_many(request, exc, _)
    config = _config(request)
    context = {"mail": config.mail.enabled, "sent": config.mail.enabled}
    task = None
    identifier = text(form, "identifier", 254)
    if config.mail.enabled and identifier:
        urls = request.app.state.fed.urls
        task = BackgroundTask(_send_links, config, urls, identifier, negotiate(request))
    response = form_page(request, "password_forgot.html", context)
    response.background = task
    return response


@page
async def reset_password_page(request: Request) -> Response:
    reset = await password_resets.valid_reset(request.path_params["token"][:200])
    context = {"username": reset.member.username, "error": "", "min_length": MIN_LENGTH}
    return form_page(request, "password_reset.html", context)


@page
async def reset_password(request: Request) -> Response:
    form = await sessions.checked_form(request)
    token = request.path_params["token"][:200]
    _ = gettext(request)
    reset = await password_resets.valid_reset(token)
    try:
        password = new_password(form, _)
    except PasswordRefused as exc:
        context = {"username": reset.member.username, "error": exc.public_message}
        return form_page(request, "password_reset.html", {**context, "min_length": MIN_LENGTH}, 422)
    member = await password_resets.use_reset(token, await hashed(password))
    await request.app.state.limits.login.succeeded(member.username)  # the lock, if any, is over
    sessions.log_out(request)
    log.info("password reset", extra={"member": member.username})
    flash(request, _("Your password was changed: log in with it."))
    return see_other(path_for("login"))


# --- asking to join a coop ---------------------------------------------------------------------


async def _join_form(
    request: Request, member: LocalActor, error: str = "", status: int = 200
) -> Response:
    context = {
        "member": member,
        "coops": await signup.coops(),
        "pending": await memberships.pending_requests_of(member),
        "error": error,
    }
    return form_page(request, "join_coop.html", context, status)


@page
async def join_coop_page(request: Request) -> Response:
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    return await _join_form(request, member)


@page
async def join_coop(request: Request) -> Response:
    form = await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    _ = gettext(request)
    try:
        coop = await signup.coop_named(text(form, "coop", 64))
        if coop is None:
            return await _join_form(request, member, _("Choose a coop."), 422)
        await memberships.ask_to_join(member, coop, text(form, "message", 2000))
    except CoopubError as exc:
        log.info("join request refused", extra={"member": member.username, "detail": exc.detail})
        error = translate_message(exc.public_message, _)
        return await _join_form(request, member, error, status_for(exc))
    log.info("join request", extra={"member": member.username, "coop": coop.username})
    flash(request, _("Your request was sent; the coop's admins will answer."))
    return see_other(path_for("settings"))
