"""Who joins: invitation links, sign-ups waiting for an admin, requests to join a coop, and
one-time password-reset links (``/admin/join``).

Admins see and decide everything; a coop admin (``LocalActor.coop_admin``) sees the page for
their own coop only: its invitations and its membership requests. Anyone else gets a 403
page. A new invitation link or reset link is shown once, on the page answering the POST (only
its digest is stored), as API tokens are on the settings page.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import path_for
from federation.services import invitations, memberships, password_resets, signup
from federation.services.local import list_actors
from instance import sessions
from instance.config import Config
from instance.forms.messages import translate_message
from instance.routes.settings import flash, member_or_none
from instance.routes.signup import text
from instance.routes.web import form_page, gettext, page, see_other, to_login
from models.actors import ActorKind, LocalActor
from models.errors import CoopubError, NotFound
from models.signups import Invitation

log = logging.getLogger(__name__)

DECISIONS = {"approve": True, "reject": False}


async def _manager(request: Request) -> LocalActor | None:
    """The logged-in admin or coop admin; None for anonymous visitors; 403 for others."""
    member = await member_or_none(request)
    if member is not None and not invitations.may_manage_joining(member):
        raise invitations.NotAllowed(f"{member.username} manages no coop")
    return member


def _invitation_view(item: Invitation) -> dict[str, Any]:
    return {
        "id": item.id,
        "coop": item.coop.username if item.coop else None,
        "created_by": item.created_by.username,
        "uses": item.uses,
        "max_uses": item.max_uses,
        "expires": item.expires_at.isoformat(),
        "revoked": item.revoked_at is not None,
        "usable": item.revoked_at is None
        and item.uses < item.max_uses
        and item.expires_at > invitations.now_utc(),
    }


async def _page(request: Request, manager: LocalActor, **extra: Any) -> Response:
    config: Config = request.app.state.config
    admin = manager.is_admin
    coops = await signup.coops()
    if not admin:
        coops = [c for c in coops if c.id == manager.coop_id]
    members = await list_actors(ActorKind.MEMBER) if admin else []
    context = {
        "member": manager,
        "is_admin": admin,
        "mode": config.signup.mode,
        "default_days": config.signup.invitation_days,
        "coops": coops,
        "invitations": [_invitation_view(i) for i in await invitations.list_invitations(manager)],
        "signups": await signup.pending_signups() if admin else [],
        "requests": await memberships.requests_to_decide(manager),
        "members": [m for m in members if m.deleted_at is None and not m.disabled],
        "new_link": None,
        "reset": None,
        **extra,
    }
    return form_page(request, "join_admin.html", context)


@page
async def join_admin_page(request: Request) -> Response:
    manager = await _manager(request)
    if manager is None:
        return to_login(request)
    return await _page(request, manager)


async def _action(request: Request) -> tuple[LocalActor | None, Any]:
    form = await sessions.checked_form(request)
    return await _manager(request), form


def _failed(request: Request, what: str, exc: CoopubError) -> Response:
    log.info(f"join admin: {what} refused", extra={"detail": exc.detail or str(exc)})
    flash(request, translate_message(exc.public_message, gettext(request)), "error")
    return see_other(path_for("join_admin"))


def _number(form: Any, name: str, default: float) -> float:
    try:
        return float(text(form, name, 20) or default)
    except ValueError:
        return -1.0  # refused by the service, with the allowed ranges


@page
async def new_invitation(request: Request) -> Response:
    manager, form = await _action(request)
    if manager is None:
        return to_login(request)
    config: Config = request.app.state.config
    try:
        coop = await signup.coop_named(text(form, "coop", 64))
        uses = _number(form, "uses", 1)
        created = await invitations.create_invitation(
            manager,
            coop,
            max_uses=int(uses) if uses.is_integer() else -1,
            days=_number(form, "days", config.signup.invitation_days),
        )
    except CoopubError as exc:
        return _failed(request, "invitation", exc)
    link = request.app.state.fed.urls.url("invitation", token=created.code)
    log.info(
        "invitation created",
        extra={"by": manager.username, "coop": coop.username if coop else None},
    )
    return await _page(request, manager, new_link=link)


@page
async def revoke_invitation(request: Request) -> Response:
    manager, _form = await _action(request)
    if manager is None:
        return to_login(request)
    await invitations.revoke_invitation(manager, request.path_params["id"])
    log.info("invitation revoked", extra={"by": manager.username})
    flash(request, gettext(request)("The invitation link was withdrawn: it no longer works."))
    return see_other(path_for("join_admin"))


def _decision(request: Request) -> bool:
    action = request.path_params["action"]
    if action not in DECISIONS:
        raise NotFound(f"no action {action[:20]}")
    return DECISIONS[action]


@page
async def decide_signup(request: Request) -> Response:
    manager, _form = await _action(request)
    if manager is None:
        return to_login(request)
    approve = _decision(request)
    _ = gettext(request)
    try:
        if approve:
            outcome = await signup.approve_signup(manager, request.path_params["id"])
            name = outcome.member.username if outcome.member else ""
            flash(request, _("{name} is now a member.").format(name=name))
        else:
            request_ = await signup.reject_signup(manager, request.path_params["id"])
            name = request_.username
            flash(request, _("The sign-up of {name} was rejected.").format(name=name))
    except CoopubError as exc:
        return _failed(request, "sign-up decision", exc)
    log.info("sign-up decided", extra={"by": manager.username, "name": name, "ok": approve})
    return see_other(path_for("join_admin"))


@page
async def decide_membership(request: Request) -> Response:
    manager, _form = await _action(request)
    if manager is None:
        return to_login(request)
    approve = _decision(request)
    _ = gettext(request)
    try:
        decided = await memberships.decide_membership(manager, request.path_params["id"], approve)
    except CoopubError as exc:
        return _failed(request, "membership decision", exc)
    names = {"name": decided.member.username, "coop": decided.coop.username}
    if approve:
        flash(request, _("{name} joined {coop}.").format(**names))
    else:
        flash(request, _("The request of {name} to join {coop} was rejected.").format(**names))
    log.info("membership decided", extra={"by": manager.username, **names, "ok": approve})
    return see_other(path_for("join_admin"))


@page
async def reset_link(request: Request) -> Response:
    """An admin's one-time link for a member who forgot their password, shown once."""
    manager, form = await _action(request)
    if manager is None:
        return to_login(request)
    if not manager.is_admin:
        raise invitations.NotAllowed(f"{manager.username} is not an admin")
    config: Config = request.app.state.config
    try:
        member = await password_resets.member_named(text(form, "username", 64))
        reset = await password_resets.issue_reset(member, config.signup.reset_hours)
    except CoopubError as exc:
        return _failed(request, "reset link", exc)
    link = request.app.state.fed.urls.url("reset_password", token=reset.token)
    log.info("reset link issued", extra={"by": manager.username, "member": member.username})
    shown = {"username": member.username, "link": link, "expires": reset.expires_at.isoformat()}
    return await _page(request, manager, reset=shown)
