"""Pinning an offer to one's profile (the ``featured`` collection), from the "my offers" page.

A POST form button per offer, CSRF-checked like every form; the answer goes back to the list
with a one-time message (a refusal too: at most five pins, only an open offer).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from activitypub.urls import path_for
from federation.services import offers as offer_service
from federation.services import pins
from instance import sessions
from instance.forms.messages import translate_message
from instance.routes.settings import flash
from instance.routes.web import gettext, page, see_other, to_login
from models.errors import Conflict

log = logging.getLogger(__name__)


async def _pin(request: Request, pinned: bool) -> Response:
    await sessions.checked_form(request)
    member = await sessions.current_member(request)
    if member is None:
        return to_login(request)
    offer = await offer_service.local_offer(member, request.path_params["uuid"])
    _ = gettext(request)
    fed = request.app.state.fed
    try:
        if pinned:
            await pins.pin_offer(fed, member, offer)
        else:
            await pins.unpin_offer(fed, member, offer)
    except Conflict as exc:
        log.info("pin refused", extra={"member": member.username, "detail": exc.detail})
        flash(request, translate_message(exc.public_message, _), "error")
        return see_other(path_for("my_offers"))
    log.info("offer pinned" if pinned else "offer unpinned", extra={"offer": offer.ap_id})
    if pinned:
        flash(request, _("The offer is pinned to your profile."))
    else:
        flash(request, _("The offer is no longer pinned."))
    return see_other(path_for("my_offers"))


@page
async def pin_offer(request: Request) -> Response:
    return await _pin(request, True)


@page
async def unpin_offer(request: Request) -> Response:
    return await _pin(request, False)
