"""Signing up: the form (with an invitation code, or as ``[signup] mode`` allows), the new
member logged in at once, or the page saying an admin will decide.

The password is hashed here (Argon2id, in a thread) and only its hash goes further down.
Refusals of the input show the form again with what was typed (the passwords excepted);
a closed sign-up or a bad invitation link is an error page. Posts are rate-limited per client
address (``instance/join_limits``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import path_for
from federation.services import invitations, signup
from federation.services.signup import Applicant, Mode
from instance import sessions
from instance.config import Config
from instance.errors import status_for
from instance.forms.messages import translate_message
from instance.i18n import negotiate
from instance.join_limits import check_join_limit, too_many
from instance.passwords import MIN_LENGTH, hash_password
from instance.routes.settings import flash
from instance.routes.web import form_page, gettext, page, see_other
from models.actors import LocalActor
from models.errors import CoopubError, RateLimited
from models.signups import Invitation

log = logging.getLogger(__name__)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PasswordRefused(CoopubError):
    """A new password the form refuses (too short, the two copies differ)."""


def text(form: FormData, name: str, limit: int = 200) -> str:
    value = form.get(name) or ""
    return value.strip()[:limit] if isinstance(value, str) else ""


def new_password(form: FormData, _: Any) -> str:
    """The new password typed twice, or ``PasswordRefused`` with the reason in words."""
    password = form.get("password") or ""
    again = form.get("password_again") or ""
    if not isinstance(password, str) or not isinstance(again, str) or password != again:
        raise PasswordRefused("passwords differ", _("The two passwords differ."))
    if len(password) < MIN_LENGTH:
        message = _("A password has at least %(count)d characters.") % {"count": MIN_LENGTH}
        raise PasswordRefused("password too short", message)
    if len(password) > 1024:
        raise PasswordRefused("password too long", _("A password has at most 1024 characters."))
    return password


async def hashed(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


def _mode(request: Request) -> Mode:
    config: Config = request.app.state.config
    return config.signup.mode


async def _form(
    request: Request,
    code: str,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The sign-up form; refused (an error page) when neither the mode nor a code allows it."""
    invitation: Invitation | None = None
    if code:
        invitation = await invitations.valid_invitation(code)
    elif _mode(request) == "invite":
        raise signup.SignupClosed("invite mode, no code")
    context = {
        "member": await sessions.current_member(request),
        "mode": _mode(request),
        "code": code,
        "invited_to": invitation.coop if invitation else None,
        "coops": [] if invitation and invitation.coop else await signup.coops(),
        "values": values or {},
        "error": error,
        "min_length": MIN_LENGTH,
    }
    return form_page(request, "signup.html", context, status)


@page
async def signup_page(request: Request) -> Response:
    return await _form(request, request.query_params.get("invite", "")[:200].strip())


@page
async def invitation_page(request: Request) -> Response:
    return await _form(request, request.path_params["token"][:200])


@page
async def signup_pending(request: Request) -> Response:
    return form_page(request, "signup_pending.html", {})


async def _applicant(request: Request, form: FormData, _: Any) -> Applicant:
    username = text(form, "username", 64).lower()
    email = text(form, "email", 254)
    if email and not EMAIL.match(email):
        raise PasswordRefused("bad email", _("This email address does not look right."))
    password = new_password(form, _)
    return Applicant(
        username=await signup.check_available(username),
        password_hash=await hashed(password),
        email=email or None,
        coop=await signup.coop_named(text(form, "coop", 64)),
        reason=text(form, "reason", 2000),
        lang=negotiate(request),
    )


@page
async def signup_post(request: Request) -> Response:
    form = await sessions.checked_form(request)
    _ = gettext(request)
    try:
        check_join_limit(request)
    except RateLimited as exc:
        return too_many(request, exc, _)
    code = text(form, "invite")
    values = {k: text(form, k, 2000) for k in ("username", "email", "coop", "reason")}
    try:
        if not code and _mode(request) == "invite":
            raise signup.SignupClosed("invite mode, no code")
        outcome = await signup.sign_up(await _applicant(request, form, _), _mode(request), code)
    except (PasswordRefused, signup.NameRefused, signup.NameTaken) as exc:
        log.info("sign-up refused", extra={"detail": exc.detail})
        error = translate_message(exc.public_message, _)
        status = 422 if isinstance(exc, PasswordRefused) else status_for(exc)
        return await _form(request, code, values=values, error=error, status=status)
    if outcome.member is not None:
        return await _welcome(request, outcome.member, outcome)
    log.info("sign-up requested", extra={"username": values["username"]})
    return see_other(path_for("signup_pending"))


async def _welcome(request: Request, member: LocalActor, outcome: signup.Outcome) -> Response:
    sessions.log_in(request, member, request.app.state.fed.urls.actor(member))
    request.session["admin"] = False
    _ = gettext(request)
    log.info("signed up", extra={"member": member.username, "coop": member.coop_id})
    coop = await LocalActor.get_or_none(id=member.coop_id) if member.coop_id else None
    if coop is not None:
        name = coop.name or coop.username
        flash(request, _("Welcome! You are a member of {coop}.").format(coop=name))
    elif outcome.membership is not None:
        flash(request, _("Welcome! The coop's admins will answer your request to join it."))
    else:
        flash(request, _("Welcome! You can ask to join a coop below."))
    return see_other(path_for("settings"))
