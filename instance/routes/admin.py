"""The admin page: instance settings, delivery queue health, directories joined, admissions.

Admins only (``LocalActor.is_admin``, set by ``coopub member create --admin`` or ``coopub member
admin NAME``): anonymous visitors are sent to the login page, other members get a 403 page, for
the page and for every action. Actions are CSRF-checked forms that call the same services as the
CLI (``federation.services.directory``), log, and redirect back with a message. Deliveries they
queue are sent by the worker.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import path_for
from federation.context import Federation
from federation.delivery import queue_stats
from federation.services import directory
from instance import sessions
from instance.forms.messages import translate_message
from instance.routes.settings import flash, member_or_none
from instance.routes.web import form_page, gettext, page, see_other, to_login
from models.actors import LocalActor
from models.delivery import Host
from models.directory import DirectoryEntry, EntryState
from models.errors import Blocked, CoopubError
from models.follows import FollowState
from models.i18n import N_

log = logging.getLogger(__name__)

MEMBERSHIP = {
    FollowState.PENDING: N_("pending"),
    FollowState.ACCEPTED: N_("admitted"),
    FollowState.REJECTED: N_("rejected"),
}

CHECK_LABELS = {
    "key_verified": N_("Its instance actor's key verified the Follow"),
    "instance_actor": N_("The follower is an instance actor"),
    "nodeinfo": N_("NodeInfo 2.1 answers"),
    "activitypub": N_("NodeInfo lists activitypub"),
    "domain_match": N_("The domains match"),
    "chatonsinfos": N_("ChatonsInfos files published"),
}
QUEUE_LABELS = {
    "pending": N_("Waiting to be sent"),
    "delivered": N_("Sent"),
    "failed": N_("Failed (given up)"),
    "skipped": N_("Skipped (host unreachable)"),
}


class NotAdmin(Blocked):
    public_message = "Only the administrators of this instance can open this page."


async def _admin(request: Request) -> LocalActor | None:
    """The logged-in admin; None for anonymous visitors; ``NotAdmin`` (403) for other members."""
    member = await member_or_none(request)
    if member is not None and not member.is_admin:
        raise NotAdmin(f"{member.username} is not an admin", NotAdmin.public_message)
    return member


def _field(form: Any, name: str, limit: int = 500) -> str:
    value = form.get(name) or ""
    return value.strip()[:limit] if isinstance(value, str) else ""


# --- the page -------------------------------------------------------------------------------


def _entry_view(entry: DirectoryEntry) -> dict[str, Any]:
    checks = entry.checks if isinstance(entry.checks, dict) else {}
    return {
        "domain": entry.domain,
        "state": EntryState(entry.state).value,
        "name": entry.name,
        "description": entry.description,
        "url": entry.url,
        "actor_uri": entry.actor_uri,
        "software": " ".join(p for p in (entry.software_name, entry.software_version) if p),
        "open_registrations": entry.open_registrations,
        "chatons_member": entry.chatons_member,
        "chatonsinfos": bool(checks.get("chatonsinfos")),
        "country_code": entry.country_code,
        "city": entry.city,
        "latitude": entry.latitude,
        "longitude": entry.longitude,
        "kinds": entry.kinds or [],
        # booleans get ✓ / ✗; anything else (the reason a check failed) is shown as text
        "checks": [(k, v) for k, v in checks.items() if isinstance(v, bool)],
        "notes": [(k, str(v)) for k, v in checks.items() if not isinstance(v, bool)],
        "checked": entry.checked_at.isoformat() if entry.checked_at else None,
        "unreachable": entry.unreachable,
    }


async def _directory_sections(fed: Federation) -> dict[str, list[dict[str, Any]]] | None:
    if not fed.directory.enabled:
        return None
    entries = await DirectoryEntry.filter(source=None).order_by("domain")
    sections: dict[str, list[dict[str, Any]]] = {state.value: [] for state in EntryState}
    for entry in entries:
        view = _entry_view(entry)
        sections[view["state"]].append(view)
    return sections


@page
async def admin_page(request: Request) -> Response:
    member = await _admin(request)
    if member is None:
        return to_login(request)
    fed: Federation = request.app.state.fed
    joined = [
        {"uri": f.target_uri, "state": MEMBERSHIP[FollowState(f.state)]}
        for f in await directory.memberships(fed)
    ]
    hosts = await Host.filter(unreachable=True).order_by("domain")
    context = {
        "member": member,
        "instance": {
            "domain": fed.urls.domain,
            "base_url": fed.urls.base,
            "title": fed.site.title,
            "description": fed.site.description,
            "languages": fed.site.languages,
            "allow_private_addresses": fed.settings.allow_private_addresses,
            "authorized_fetch": fed.settings.authorized_fetch,
            "directory_mode": fed.directory.enabled,
            "admission": fed.directory.admission,
        },
        "queue": await queue_stats(),
        "hosts": [
            {
                "domain": h.domain,
                "failing_since": h.failing_since.isoformat() if h.failing_since else None,
                "last_failure": h.last_failure_at.isoformat() if h.last_failure_at else None,
            }
            for h in hosts
        ],
        "joined": joined,
        "entries": await _directory_sections(fed),
        "check_labels": CHECK_LABELS,
        "queue_labels": QUEUE_LABELS,
    }
    return form_page(request, "admin.html", context)


# --- actions --------------------------------------------------------------------------------


async def _action(request: Request) -> tuple[LocalActor | None, Any]:
    form = await sessions.checked_form(request)
    return await _admin(request), form


def _failed(request: Request, what: str, target: str, exc: CoopubError) -> Response:
    log.info(f"admin: {what} failed", extra={"target": target, "detail": exc.detail or str(exc)})
    flash(request, translate_message(exc.public_message, gettext(request)), "error")
    return see_other(path_for("admin"))


@page
async def join_directory(request: Request) -> Response:
    admin, form = await _action(request)
    if admin is None:
        return to_login(request)
    url = _field(form, "url")
    _ = gettext(request)
    try:
        record = await directory.join(request.app.state.fed, url)
    except CoopubError as exc:
        return _failed(request, "join", url, exc)
    state = MEMBERSHIP[FollowState(record.state)]
    log.info(
        "admin: directory join asked",
        extra={"admin": admin.username, "directory": record.target_uri, "state": state},
    )
    flash(
        request,
        _("Asked to join {directory}: {state}.").format(
            directory=record.target_uri, state=_(state)
        ),
    )
    return see_other(path_for("admin"))


@page
async def leave_directory(request: Request) -> Response:
    admin, form = await _action(request)
    if admin is None:
        return to_login(request)
    url = _field(form, "url")
    try:
        await directory.leave(request.app.state.fed, url)
    except CoopubError as exc:
        return _failed(request, "leave", url, exc)
    log.info("admin: directory left", extra={"admin": admin.username, "directory": url})
    flash(request, gettext(request)("Left {directory}.").format(directory=url))
    return see_other(path_for("admin"))


async def _decide(request: Request, admit: bool) -> Response:
    admin, form = await _action(request)
    if admin is None:
        return to_login(request)
    fed: Federation = request.app.state.fed
    domain = _field(form, "domain", 253).lower()
    _ = gettext(request)
    what = "admit" if admit else "reject"
    if not fed.directory.enabled:
        flash(request, _("This instance runs no directory."), "error")
        return see_other(path_for("admin"))
    try:
        if admit:
            count = await directory.admit(fed, domain)
        else:
            await directory.reject(fed, domain)
    except CoopubError as exc:
        return _failed(request, what, domain, exc)
    log.info(f"admin: directory {what}", extra={"admin": admin.username, "domain": domain})
    if admit:
        text = _("{domain} admitted; {count} known offer(s) will be sent to it.")
        flash(request, text.format(domain=domain, count=count))
    else:
        flash(request, _("{domain} rejected.").format(domain=domain))
    return see_other(path_for("admin"))


@page
async def admit_candidate(request: Request) -> Response:
    return await _decide(request, admit=True)


@page
async def reject_candidate(request: Request) -> Response:
    return await _decide(request, admit=False)
