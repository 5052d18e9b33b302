"""A member deletes their own account, from the settings page.

The page says what happens before anything does (offers deleted everywhere, bookings in
progress cancelled and the other side told, the name kept reserved, no way back) and suggests
the export first. The form asks for the username typed again and the password
(``instance/password_confirm``: a wrong one counts as a failed login, so the form cannot be
used to guess it). The last administrator of the instance, and a member with a delivery
picked up and not yet reported, are refused (``removal.check_self_deletion``).
On success the images go, the session ends and a goodbye page answers; the other servers are
told by the worker (``removal.delete_account`` queues every notice).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from federation.services.removal import check_self_deletion, delete_account, what_goes
from instance import sessions
from instance.forms.messages import translate_message
from instance.join_limits import too_many
from instance.login_limits import LoginLocked
from instance.media import delete_media_of
from instance.password_confirm import password_confirmed
from instance.routes.settings import member_or_none
from instance.routes.signup import text
from instance.routes.web import NO_STORE, form_page, gettext, page, to_login
from instance.templating import render
from models.actors import LocalActor
from models.errors import Conflict

log = logging.getLogger(__name__)

DELETING: set[int] = set()
"""Members whose account this process is deleting now: a second submit of the form meanwhile
would publish every ``Delete`` twice."""


class DeletionUnderWay(Conflict):
    public_message = "Your account is already being deleted."


async def _form(
    request: Request, member: LocalActor, error: str = "", status: int = 200
) -> Response:
    """The confirmation page; without its form when the deletion is refused anyway."""
    refused = ""
    try:
        await check_self_deletion(member)
    except Conflict as exc:
        refused = translate_message(exc.public_message, gettext(request))
    context = {
        "member": member,
        "goes": await what_goes(member),
        "refused": refused,
        "error": error,
    }
    return form_page(request, "account_delete.html", context, 409 if refused else status)


@page
async def delete_account_page(request: Request) -> Response:
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    return await _form(request, member)


@page
async def delete_own_account(request: Request) -> Response:
    form = await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    _ = gettext(request)
    try:
        await check_self_deletion(member)
    except Conflict:
        return await _form(request, member)  # says why, without the form
    if text(form, "username", 64).lower() != member.username:
        message = _("Type your username, %(username)s, to confirm.")
        return await _form(request, member, message % {"username": member.username}, 400)
    try:
        confirmed = await password_confirmed(request, member, form)
    except LoginLocked as locked:
        return too_many(request, locked, _)
    if not confirmed:
        log.info("account deletion refused", extra={"member": member.username})
        message = _("The password is wrong: your account was not deleted.")
        return await _form(request, member, message, 400)
    if member.id in DELETING:  # a double click: the first one is deleting it
        raise DeletionUnderWay(f"{member.username} is being deleted")
    DELETING.add(member.id)
    try:
        await delete_account(request.app.state.fed, member)
        images = await delete_media_of(member, request.app.state.config.media)
    finally:
        DELETING.discard(member.id)
    sessions.log_out(request)
    log.info("account deleted by its member", extra={"member": member.username, "images": images})
    context = {"username": member.username}
    return render(request, "account_deleted.html", context, 200, headers=NO_STORE)
