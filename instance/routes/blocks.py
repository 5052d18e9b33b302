"""Domain blocks on the web: the admins' page (``/admin/blocks``: list, add, remove, import and
export Mastodon's CSV) and the public list (``/about/blocks``, when ``[moderation]
public_blocklist`` is on; 404 otherwise).

Admins only, as on ``/admin``: anonymous visitors go to the login page, other members get a
403 page. Every action is a CSRF-checked form calling the services the CLI uses
(``federation.services.domain_blocks``), logged, then back to the page with a message.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import path_for
from federation.services.domain_blocks import (
    block_domain,
    list_blocks,
    obfuscated,
    unblock_domain,
)
from federation.services.domain_blocks_csv import ImportReport, export_blocks, import_csv
from instance import sessions
from instance.config import Config
from instance.forms.messages import translate_message
from instance.routes.admin import NotAdmin
from instance.routes.settings import flash, member_or_none
from instance.routes.web import form_page, gettext, page, see_other, to_login
from instance.templating import render
from models.actors import LocalActor
from models.errors import CoopubError, Malformed, NotFound
from models.i18n import N_
from models.moderation import BlockSeverity

log = logging.getLogger(__name__)

MAX_UPLOAD = 2 * 1024 * 1024
SEVERITY_LABELS = {
    BlockSeverity.SUSPEND.value: N_("Suspend"),
    BlockSeverity.LIMIT.value: N_("Limit"),
}
FLAGS = ("reject_media", "reject_reports", "obfuscate")


async def _admin(request: Request) -> LocalActor | None:
    member = await member_or_none(request)
    if member is not None and not member.is_admin:
        raise NotAdmin(f"{member.username} is not an admin", NotAdmin.public_message)
    return member


def _text(form: Any, name: str, limit: int = 1000) -> str:
    value = form.get(name) or ""
    return value.strip()[:limit] if isinstance(value, str) else ""


def _view(block: Any) -> dict[str, Any]:
    return {
        "domain": block.domain,
        "severity": BlockSeverity(block.severity).value,
        "public_comment": block.public_comment,
        "private_comment": block.private_comment,
        "flags": [f for f in FLAGS if getattr(block, f)],
        "created": block.created_at.isoformat(),
    }


async def _page(
    request: Request, admin: LocalActor, report: ImportReport | None = None
) -> Response:
    context = {
        "member": admin,
        "blocks": [_view(b) for b in await list_blocks()],
        "severity_labels": SEVERITY_LABELS,
        "report": report,
        "public": request.app.state.config.moderation.public_blocklist,
    }
    return form_page(request, "admin_blocks.html", context)


@page
async def blocks_page(request: Request) -> Response:
    admin = await _admin(request)
    if admin is None:
        return to_login(request)
    return await _page(request, admin)


def _failed(request: Request, what: str, exc: CoopubError) -> Response:
    log.info(f"domain block: {what} refused", extra={"detail": exc.detail or str(exc)})
    flash(request, translate_message(exc.public_message, gettext(request)), "error")
    return see_other(path_for("admin_blocks"))


@page
async def add_block(request: Request) -> Response:
    form = await sessions.checked_form(request)
    admin = await _admin(request)
    if admin is None:
        return to_login(request)
    _ = gettext(request)
    domain = _text(form, "domain", 300)
    try:
        severity = BlockSeverity(_text(form, "severity", 16) or "suspend")
    except ValueError:
        return _failed(request, "add", Malformed("bad severity", "Choose suspend or limit"))
    try:
        block, purged = await block_domain(
            request.app.state.fed,
            domain,
            severity,
            public_comment=_text(form, "public_comment"),
            private_comment=_text(form, "private_comment"),
            **{f: form.get(f) == "on" for f in FLAGS},
        )
    except CoopubError as exc:
        return _failed(request, "add", exc)
    log.info("admin: domain blocked", extra={"admin": admin.username, "domain": block.domain})
    text = _("{domain} suspended.") if purged is not None else _("{domain} limited.")
    flash(request, text.format(domain=block.domain))
    return see_other(path_for("admin_blocks"))


@page
async def remove_block(request: Request) -> Response:
    form = await sessions.checked_form(request)
    admin = await _admin(request)
    if admin is None:
        return to_login(request)
    domain = _text(form, "domain", 300)
    try:
        await unblock_domain(domain)
    except CoopubError as exc:
        return _failed(request, "remove", exc)
    log.info("admin: domain unblocked", extra={"admin": admin.username, "domain": domain})
    flash(request, gettext(request)("{domain} is no longer blocked.").format(domain=domain))
    return see_other(path_for("admin_blocks"))


@page
async def import_blocks(request: Request) -> Response:
    form = await sessions.checked_upload_form(request, MAX_UPLOAD)
    try:
        admin = await _admin(request)
        if admin is None:
            return to_login(request)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.size:
            raise Malformed("no file", "Choose a CSV file")
        try:
            text = (await upload.read()).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Malformed("not UTF-8", "The file is not UTF-8 text") from exc
        when = datetime.now(UTC).strftime("%Y-%m-%d")
        note = f"imported from {upload.filename or 'a file'} on {when}"
        report = await import_csv(request.app.state.fed, text, private_comment=note)
    except CoopubError as exc:
        return _failed(request, "import", exc)
    finally:
        await form.close()
    log.info(
        "admin: domain blocks imported",
        extra={
            "admin": admin.username,
            "blocked": len(report.blocked),
            "refused": len(report.refused),
        },
    )
    return await _page(request, admin, report)


@page
async def export_blocks_csv(request: Request) -> Response:
    admin = await _admin(request)
    if admin is None:
        return to_login(request)
    return Response(
        await export_blocks(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="domain_blocks.csv"',
            "Cache-Control": "private, no-store",
        },
    )


@page
async def about_blocks(request: Request) -> Response:
    """The public list, when the admins publish it."""
    config: Config = request.app.state.config
    if not config.moderation.public_blocklist:
        raise NotFound("public block list off", "Not found")
    rows = [
        {
            "domain": obfuscated(b.domain) if b.obfuscate else b.domain,
            "severity": BlockSeverity(b.severity).value,
            "public_comment": b.public_comment,
        }
        for b in await list_blocks()
    ]
    return render(
        request, "about_blocks.html", {"blocks": rows, "severity_labels": SEVERITY_LABELS}
    )
