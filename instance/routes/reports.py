"""Reports on the web: a member's report form (``/report?offer=…``, ``?post=…``, ``?account=…``)
and the admins' pages (``/admin/reports``, ``/admin/reports/{id}``) where reports are read
with what they are about, and closed with a moderation action.

Logged-in members only for the form, admins only for the rest (as ``/admin``: anonymous
visitors go to the login page, other members get a 403 page). Every POST checks the CSRF
token first; the services do the work (``federation.services.reports``).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from activitypub.offer_from_as import offer_url
from activitypub.urls import path_for
from federation.context import Federation
from federation.services.reports import (
    MAX_COMMENT,
    Account,
    Target,
    account_or_stub,
    find_target,
    make_report,
)
from federation.services.reports_admin import (
    Resolution,
    actions_on,
    get_report,
    list_reports,
    reported_objects,
    resolve,
)
from instance import sessions
from instance.forms.messages import translate_message
from instance.post_view import post_views
from instance.routes.admin import NotAdmin
from instance.routes.settings import flash, member_or_none
from instance.routes.signup import text
from instance.routes.web import form_page, gettext, page, see_other, to_login
from models.actors import LocalActor
from models.errors import CoopubError, Malformed
from models.i18n import N_
from models.moderation import ActionKind, Report, ReportState

log = logging.getLogger(__name__)

TARGET_FIELDS = ("offer", "post", "account")
STATE_LABELS = {
    ReportState.OPEN.value: N_("Open"),
    ReportState.RESOLVED.value: N_("Resolved"),
    ReportState.DISMISSED.value: N_("Dismissed"),
}
ACTION_LABELS = {
    ActionKind.SILENCE.value: N_("Silence the account"),
    ActionKind.UNSILENCE.value: N_("Lift the silence"),
    ActionKind.SUSPEND.value: N_("Suspend the account"),
    ActionKind.UNSUSPEND.value: N_("Lift the suspension"),
    ActionKind.REMOVE_OFFER.value: N_("Remove the offer"),
    ActionKind.REMOVE_POST.value: N_("Remove the post"),
    ActionKind.DISMISS.value: N_("Dismiss: nothing to do"),
}


# --- a member reports -----------------------------------------------------------------------


def _wanted(values: Any) -> dict[str, str]:
    """The one target named by the query or the form (``offer``, ``post`` or ``account``)."""
    found = {}
    for name in TARGET_FIELDS:
        value = values.get(name)
        if isinstance(value, str) and value.strip():
            found[name] = value.strip()[:500]
    if len(found) > 1:
        raise Malformed("report of several things", "Report one offer, post or account at a time")
    return found


def _account_view(account: Account) -> dict[str, Any]:
    return {
        "uri": account.uri,
        "name": account.name,
        "handle": account.handle,
        "host": account.host,
        "local": account.local is not None,
        "url": _page_of(account),
    }


def _page_of(account: Account) -> str:
    """Its profile: our page for ours, its server's page for a remote one."""
    if account.local is not None:
        return _path(account.uri)
    return (account.remote.url if account.remote else None) or account.uri


def _path(uri: str) -> str:
    return urlsplit(uri).path or "/"


async def _target_context(fed: Federation, target: Target) -> dict[str, Any]:
    return {
        "account": _account_view(target.account),
        "offers": [_offer_view(o) for o in target.offers],
        "posts": await post_views(target.posts),
        "remote": target.account.remote is not None,
    }


def _offer_view(offer: Any) -> dict[str, Any]:
    return {
        "ap_id": offer.ap_id,
        "title": offer.title,
        "description": offer.description,
        "url": offer_url(offer),
        "page": path_for("offer", uuid=offer.local_uuid)
        if offer.local_uuid
        else path_for("new_booking", query={"offer": offer.ap_id}),
    }


def _back(target: Target) -> str:
    """Where the member goes once the report is made: back to what they reported."""
    if target.offers:
        return str(_offer_view(target.offers[0])["page"])
    if target.posts and target.posts[0].local_uuid:
        return path_for("post", uuid=target.posts[0].local_uuid)
    if target.posts:
        return path_for("feed")
    if target.account.local is not None:
        return _path(target.account.uri)
    return path_for("home")


@page
async def report_page(request: Request) -> Response:
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    fed = request.app.state.fed
    wanted = _wanted(request.query_params)
    target = await find_target(fed, member, **wanted)
    context = {
        "member": member,
        "wanted": wanted,
        "max_comment": MAX_COMMENT,
        **await _target_context(fed, target),
    }
    return form_page(request, "report.html", context)


@page
async def send_report(request: Request) -> Response:
    form = await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    fed = request.app.state.fed
    target = await find_target(fed, member, **_wanted(form))
    comment = text(form, "comment", MAX_COMMENT)
    report = await make_report(fed, member, target, comment, forward=form.get("forward") == "on")
    log.info("member reported", extra={"member": member.username, "report": report.id})
    flash(request, gettext(request)("Thank you. The admins will look at your report."))
    return see_other(_back(target))


# --- the admins' pages ----------------------------------------------------------------------


async def _admin(request: Request) -> LocalActor | None:
    member = await member_or_none(request)
    if member is not None and not member.is_admin:
        raise NotAdmin(f"{member.username} is not an admin", NotAdmin.public_message)
    return member


async def _report_view(fed: Federation, report: Report, *, full: bool = False) -> dict[str, Any]:
    """A report as the admin pages show it: who reported (a member here, or a server), the
    account, the reported offers and posts as they are now, the comment."""
    offers, posts, gone = await reported_objects(report)
    reporter = report.reporter
    view: dict[str, Any] = {
        "id": report.id,
        "state": ReportState(report.state).value,
        "created": report.created_at.isoformat(),
        "reporter": (
            {"name": reporter.name or reporter.username, "handle": reporter.username}
            if reporter is not None
            else None
        ),
        "origin": report.origin_uri,
        "origin_host": urlsplit(report.origin_uri).netloc if report.origin_uri else "",
        "account": _account_view(await account_or_stub(fed, report.target_uri)),
        "offers": [_offer_view(o) for o in offers],
        "posts": await post_views(posts),
        "gone": gone,
        "comment": report.comment,
        "forward": report.forward,
        "forwarded_at": report.forwarded_at.isoformat() if report.forwarded_at else None,
        "resolved_by": (report.resolved_by.username if report.resolved_by else None),
        "resolved_at": report.resolved_at.isoformat() if report.resolved_at else None,
    }
    if full:
        view["actions"] = [
            {
                "kind": ActionKind(a.kind).value,
                "reason": a.reason,
                "object": a.object_uri,
                "created": a.created_at.isoformat(),
            }
            for a in await actions_on(report)
        ]
    return view


def _state(request: Request) -> ReportState:
    try:
        return ReportState(request.query_params.get("state") or "open")
    except ValueError as exc:
        raise Malformed("bad report state", "Choose open, resolved or dismissed") from exc


@page
async def reports_page(request: Request) -> Response:
    admin = await _admin(request)
    if admin is None:
        return to_login(request)
    fed = request.app.state.fed
    state = _state(request)
    reports = [await _report_view(fed, r) for r in await list_reports(state)]
    context = {
        "member": admin,
        "reports": reports,
        "state": state.value,
        "state_labels": STATE_LABELS,
    }
    return form_page(request, "admin_reports.html", context)


async def _report_page(
    request: Request, admin: LocalActor, report: Report, status: int = 200
) -> Response:
    context = {
        "member": admin,
        "report": await _report_view(request.app.state.fed, report, full=True),
        "state_labels": STATE_LABELS,
        "action_labels": ACTION_LABELS,
    }
    return form_page(request, "admin_report.html", context, status)


@page
async def report_detail(request: Request) -> Response:
    admin = await _admin(request)
    if admin is None:
        return to_login(request)
    report = await get_report(int(request.path_params["id"]))
    return await _report_page(request, admin, report)


def _resolution(form: FormData) -> tuple[Resolution, str]:
    """``dismiss``, ``silence``, ``suspend`` or ``remove:<offer or post id>``."""
    choice = text(form, "action", 600)
    how, _, object_uri = choice.partition(":")
    try:
        return Resolution(how), object_uri
    except ValueError as exc:
        raise Malformed(f"bad action {choice[:50]!r}", "Choose what to do") from exc


@page
async def close_report(request: Request) -> Response:
    form = await sessions.checked_form(request)
    admin = await _admin(request)
    if admin is None:
        return to_login(request)
    report = await get_report(int(request.path_params["id"]))
    _ = gettext(request)
    try:
        how, object_uri = _resolution(form)
        await resolve(
            request.app.state.fed,
            report,
            how,
            reason=text(form, "reason", MAX_COMMENT),
            moderator=admin,
            object_uri=object_uri,
        )
    except CoopubError as exc:
        log.info("report not closed", extra={"report": report.id, "detail": exc.detail})
        flash(request, translate_message(exc.public_message, _), "error")
        return see_other(path_for("admin_report", id=report.id))
    log.info("admin closed a report", extra={"admin": admin.username, "report": report.id})
    flash(request, _("Report #{id} closed.").format(id=report.id))
    return see_other(path_for("admin_reports"))
