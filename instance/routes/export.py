"""``POST /settings/export``: the member's archive, as a download (``instance/export_archive``).

A POST with the session's CSRF token, from the settings page's button: another site cannot make
a member's browser build archives, and nothing is left behind (no file on disk, no link that
works later). The answer is never cached (``no-store``); the summary is in the page's language.
An archive holds every image the member uploaded, so one member's archive is built once at a
time in a process: a second click meanwhile is answered 409, not built again in parallel.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from instance import sessions
from instance.export_archive import export_member
from instance.i18n import negotiate
from instance.routes.settings import member_or_none
from instance.routes.web import page, to_login
from models.errors import Conflict

log = logging.getLogger(__name__)

BUILDING: set[int] = set()
"""Members whose archive this process is building now."""


class ExportUnderWay(Conflict):
    public_message = "Your archive is already being prepared: wait a moment, then try again."


@page
async def export_archive(request: Request) -> Response:
    await sessions.checked_form(request)
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    if member.id in BUILDING:
        raise ExportUnderWay(f"an export of {member.username} is under way")
    BUILDING.add(member.id)
    try:
        fed, media = request.app.state.fed, request.app.state.config.media
        export = await export_member(fed, member, negotiate(request), media)
    finally:
        BUILDING.discard(member.id)
    return Response(
        export.data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "private, no-store",
        },
    )
