"""Account moderation on the web (admins only, as ``/admin/blocks``): ``/admin/accounts`` finds
an account by handle or URL and lists the silenced and suspended ones and the moderation log;
an account's page has the silence, suspend and lift forms, each with a reason; an offer's or a
post's page shows admins a form to remove it with a reason sent to its author.

Every action is a CSRF-checked form calling ``federation.services.account_moderation`` (the
functions the CLI and the reports use), then back to a page with a message.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import path_for
from federation.services import account_moderation as moderation
from federation.services import moderated
from federation.services.bookings import known_offer
from instance import sessions
from instance.forms.messages import translate_message
from instance.routes.admin import NotAdmin
from instance.routes.settings import flash, member_or_none
from instance.routes.web import form_page, gettext, page, see_other, to_login
from models.actors import LocalActor
from models.errors import CoopubError, Malformed
from models.i18n import N_
from models.moderation import ActionKind, ModerationAction

log = logging.getLogger(__name__)

ACTIONS = {
    "silence": moderation.silence,
    "unsilence": moderation.unsilence,
    "suspend": moderation.suspend,
    "unsuspend": moderation.unsuspend,
}
DONE = {
    "silence": N_("{handle} is silenced."),
    "unsilence": N_("{handle} is no longer silenced."),
    "suspend": N_("{handle} is suspended."),
    "unsuspend": N_("{handle} is no longer suspended."),
}
KIND_LABELS = {
    ActionKind.SILENCE.value: N_("Silenced"),
    ActionKind.UNSILENCE.value: N_("Silence lifted"),
    ActionKind.SUSPEND.value: N_("Suspended"),
    ActionKind.UNSUSPEND.value: N_("Suspension lifted"),
    ActionKind.REMOVE_OFFER.value: N_("Offer removed"),
    ActionKind.REMOVE_POST.value: N_("Post removed"),
    ActionKind.DISMISS.value: N_("Report dismissed"),
}


async def _admin(request: Request) -> LocalActor | None:
    member = await member_or_none(request)
    if member is not None and not member.is_admin:
        raise NotAdmin(f"{member.username} is not an admin", NotAdmin.public_message)
    return member


def _text(form: Any, name: str, limit: int = 1000) -> str:
    value = form.get(name) or ""
    return value.strip()[:limit] if isinstance(value, str) else ""


def _log_view(action: ModerationAction) -> dict[str, Any]:
    moderator = action.moderator
    return {
        "id": action.id,
        "kind": action.kind.value,
        "target": action.target_uri,
        "object": action.object_uri,
        "reason": action.reason,
        "moderator": moderator.username if moderator is not None else "",
        "report": action.report_id,
        "created": action.created_at.isoformat(),
    }


def _refused(request: Request, what: str, exc: CoopubError, back: str) -> Response:
    log.info(f"moderation: {what} refused", extra={"detail": exc.detail or str(exc)})
    flash(request, translate_message(exc.public_message, gettext(request)), "error")
    return see_other(back)


@page
async def accounts_page(request: Request) -> Response:
    """Find an account (``?q=``), or the list of those moderated and the log."""
    admin = await _admin(request)
    if admin is None:
        return to_login(request)
    fed = request.app.state.fed
    query = request.query_params.get("q", "").strip()[:500]
    if query:
        try:
            found = await moderation.find_account(fed, query)
        except CoopubError as exc:
            return _refused(request, "search", exc, path_for("admin_accounts"))
        uri = moderation.actor_uri(fed, found)
        return see_other(path_for("admin_account", query={"uri": uri}))
    context = {
        "member": admin,
        "accounts": await moderated.moderated_accounts(fed),
        "actions": [_log_view(a) for a in await moderated.moderation_log()],
        "kind_labels": KIND_LABELS,
    }
    return form_page(request, "admin_accounts.html", context)


@page
async def account_page(request: Request) -> Response:
    admin = await _admin(request)
    if admin is None:
        return to_login(request)
    fed = request.app.state.fed
    uri = request.query_params.get("uri", "").strip()[:500]
    if not uri:
        raise Malformed("no uri", "Give an account's handle or address")
    account = await moderation.account_at(fed, uri)
    view = moderated.moderated_view(fed, account)
    context = {
        "member": admin,
        "account": view,
        "offers": await moderated.offers_count(fed, account),
        "actions": [_log_view(a) for a in await moderated.moderation_log(target_uri=view.uri)],
        "kind_labels": KIND_LABELS,
    }
    return form_page(request, "admin_accounts_account.html", context)


@page
async def account_action(request: Request) -> Response:
    form = await sessions.checked_form(request)
    admin = await _admin(request)
    if admin is None:
        return to_login(request)
    fed = request.app.state.fed
    uri = _text(form, "uri", 500)
    back = path_for("admin_account", query={"uri": uri}) if uri else path_for("admin_accounts")
    name = _text(form, "action", 16)
    act = ACTIONS.get(name)
    try:
        if act is None:
            raise Malformed(f"bad action {name!r}", "Choose silence, suspend or lift")
        await act(fed, uri, reason=_text(form, "reason"), moderator=admin)
        account = await moderation.account_at(fed, uri)
    except CoopubError as exc:
        return _refused(request, name, exc, back)
    handle = moderation.handle_of(fed, account)
    log.info("admin: account moderated", extra={"admin": admin.username, "action": name})
    flash(request, gettext(request)(DONE[name]).format(handle=handle))
    return see_other(back)


@page
async def remove_offer(request: Request) -> Response:
    form = await sessions.checked_form(request)
    admin = await _admin(request)
    if admin is None:
        return to_login(request)
    fed = request.app.state.fed
    try:
        offer = await known_offer(_text(form, "offer", 500))
        author = offer.author_uri
        await moderation.remove_offer(fed, offer, reason=_text(form, "reason"), moderator=admin)
    except CoopubError as exc:
        return _refused(request, "offer removal", exc, path_for("admin_accounts"))
    flash(request, gettext(request)("The offer is removed; its author is told why."))
    return see_other(path_for("admin_account", query={"uri": author}))


@page
async def remove_post(request: Request) -> Response:
    form = await sessions.checked_form(request)
    admin = await _admin(request)
    if admin is None:
        return to_login(request)
    fed = request.app.state.fed
    try:
        post = await moderated.known_post(_text(form, "post", 500))
        author = post.author_uri
        await moderation.remove_post(fed, post, reason=_text(form, "reason"), moderator=admin)
    except CoopubError as exc:
        return _refused(request, "post removal", exc, path_for("admin_accounts"))
    flash(request, gettext(request)("The post is removed; its author is told why."))
    return see_other(path_for("admin_account", query={"uri": author}))
