"""Moving an account, on the web (``/settings/move``): the aliases of the new account and the
move of the old one, through the services the CLI uses (``federation.services.moves``).

Every action is a CSRF-checked form; the move itself asks for the password, as Mastodon's
does (``instance/password_confirm``). A refusal (an alias that cannot be found, a new account
that does not list this one yet) answers the page again with the message and what was typed;
a success redirects back with a one-time message.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import path_for
from federation.services.moves import add_alias, cancel_move, move_account, remove_alias
from instance import sessions
from instance.errors import status_for
from instance.forms.messages import translate_message
from instance.join_limits import too_many
from instance.login_limits import LoginLocked
from instance.password_confirm import password_confirmed
from instance.routes.settings import flash, member_or_none
from instance.routes.web import form_page, gettext, page, see_other, to_login
from models.actors import LocalActor
from models.errors import CoopubError

log = logging.getLogger(__name__)

MAX_ACCOUNT = 500


def _text(form: Any, name: str) -> str:
    value = form.get(name) or ""
    return value.strip()[:MAX_ACCOUNT] if isinstance(value, str) else ""


async def _page(
    request: Request,
    member: LocalActor,
    *,
    status: int = 200,
    error: str = "",
    failed: str = "",
    **typed: str,
) -> Response:
    fed = request.app.state.fed
    context = {
        "member": member,
        "actor_id": fed.urls.actor(member),
        "handle": f"@{member.username}@{fed.urls.domain}",
        "aliases": list(member.also_known_as or []),
        "moved_to": member.moved_to,
        "error": error,
        "failed": failed,
        "alias_value": typed.get("alias", ""),
        "target_value": typed.get("target", ""),
    }
    return form_page(request, "move.html", context, status)


async def _refused(
    request: Request, member: LocalActor, what: str, exc: CoopubError, **typed: str
) -> Response:
    log.info(f"move settings: {what} refused", extra={"detail": exc.detail or str(exc)})
    error = translate_message(exc.public_message, gettext(request))
    return await _page(request, member, status=status_for(exc), error=error, failed=what, **typed)


@page
async def move_page(request: Request) -> Response:
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    return await _page(request, member)


@page
async def add_alias_post(request: Request) -> Response:
    form = await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    account = _text(form, "account")
    try:
        alias = await add_alias(request.app.state.fed, member, account)
    except CoopubError as exc:
        return await _refused(request, member, "alias", exc, alias=account)
    flash(request, gettext(request)("{account} is now listed as an alias.").format(account=alias))
    return see_other(path_for("move_settings") + "#aliases")


@page
async def remove_alias_post(request: Request) -> Response:
    form = await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    try:
        alias = await remove_alias(request.app.state.fed, member, _text(form, "account"))
    except CoopubError as exc:
        return await _refused(request, member, "alias", exc)
    flash(request, gettext(request)("{account} is no longer an alias.").format(account=alias))
    return see_other(path_for("move_settings") + "#aliases")


@page
async def move_post(request: Request) -> Response:
    form = await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    target = _text(form, "target")
    _ = gettext(request)
    try:
        confirmed = await password_confirmed(request, member, form)
    except LoginLocked as locked:
        return too_many(request, locked, _)
    if not confirmed:
        log.info("move refused: wrong password", extra={"member": member.username})
        error = _("The password is wrong: your account was not moved.")
        return await _page(request, member, status=400, error=error, failed="move", target=target)
    try:
        moved = await move_account(request.app.state.fed, member, target)
    except CoopubError as exc:
        return await _refused(request, member, "move", exc, target=target)
    text = _("This account has moved to {account}; its followers are told.")
    flash(request, text.format(account=moved.target))
    return see_other(path_for("move_settings") + "#move")


@page
async def cancel_move_post(request: Request) -> Response:
    await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    try:
        await cancel_move(request.app.state.fed, member)
    except CoopubError as exc:
        return await _refused(request, member, "move", exc)
    flash(request, gettext(request)("The move was cancelled; followers are told."))
    return see_other(path_for("move_settings") + "#move")
