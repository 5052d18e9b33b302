"""Calendars: an offer's ``.ics`` (for anyone), a booking's ``.ics`` (for its two parties, with
what its page shows them), and each member's subscribable calendar of confirmed bookings at a
secret URL, made, replaced and revoked from the settings page.

The subscribed calendar lists the bookings that are accepted (or done), as booker and as
author, from a year back; a booking cancelled, declined or expired leaves it at the next
refresh (``STATUS:CANCELLED`` stays for a booking's own ``.ics``). Calendars are built on each
request and cached a few minutes at most.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from tortoise.expressions import Q

from activitypub.urls import is_uuid
from federation.context import Federation
from federation.services import bookings as booking_service
from federation.services import offers as offer_service
from instance import sessions
from instance.booking_view import booking_to_api, offers_of
from instance.calendars import CONTENT_TYPE, booking_facts, calendar_bytes, offer_facts
from instance.errors import error_response
from instance.feed_tokens import member_for_feed
from instance.i18n import SUPPORTED, negotiate, translations
from instance.routes.feed_urls import SecretFeed, feed_state, make_feed_url, revoke_feed_url
from instance.routes.settings import member_or_none
from instance.routes.web import NO_STORE, form_page, gettext, page, to_login
from models.activities import Activity
from models.actors import LocalActor
from models.bookings import Booking, BookingState
from models.errors import NotFound
from models.feed_tokens import FeedPurpose
from models.i18n import N_

log = logging.getLogger(__name__)

FRESH = {"Cache-Control": "public, max-age=300", "Vary": "Accept-Language, Cookie"}
"""An offer's calendar: public like its page, read again after five minutes at most."""
PRIVATE_FRESH = {"Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"}
"""A member's calendar: no shared cache keeps it, and a subscriber sees changes in minutes."""
FEED_STATES = (BookingState.ACCEPTED, BookingState.DONE)
FEED_PAST = timedelta(days=365)
FEED_MAX = 1000


def ics_response(body: bytes, filename: str, headers: dict[str, str]) -> Response:
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=CONTENT_TYPE, headers={**disposition, **headers})


def _language(request: Request, fed: Federation, preferred: str | None = None) -> str:
    """The reader's language (``?lang=``, cookie, ``Accept-Language``), else ``preferred`` (an
    offer's own), else the instance's first: a calendar program often says none."""
    fallback = next(
        (lang for lang in (preferred, *fed.site.languages) if lang in SUPPORTED), SUPPORTED[0]
    )
    return negotiate(request, default=fallback)


# --- an offer ---------------------------------------------------------------------------------


async def _deleted(fed: Federation, local_uuid: str) -> bool:
    """Whether a local offer was at this id (its ``Delete`` is kept)."""
    if not is_uuid(local_uuid):
        return False
    return await Activity.exists(type="Delete", object_uri=fed.urls.offer(local_uuid))


async def offer_ics(request: Request) -> Response:
    """``/offers/{uuid}.ics``: what the offer's page shows everyone, as one event."""
    fed: Federation = request.app.state.fed
    local_uuid = request.path_params["uuid"]
    try:
        offer = await offer_service.local_offer(None, local_uuid)
    except NotFound:
        if not await _deleted(fed, local_uuid):
            raise
        log.info("deleted offer asked for", extra={"offer": local_uuid})
        return error_response(request, 410, gettext(request)("This offer has been deleted."))
    lang = _language(request, fed, offer.language)
    body = calendar_bytes([offer_facts(offer, fed.urls.offer(local_uuid), lang)])
    return ics_response(body, f"offer-{local_uuid}.ics", FRESH)


# --- a booking --------------------------------------------------------------------------------


async def booking_ics(request: Request) -> Response:
    """``/bookings/{uuid}.ics``: for its booker and its author only (anyone else: 404, as its
    page), with what the page shows them (the shared details once accepted)."""
    member = await sessions.current_member(request)
    if member is None:
        return to_login(request)
    booking = await booking_service.booking_for(member, request.path_params["uuid"])
    fed: Federation = request.app.state.fed
    offer = (await offers_of([booking])).get(booking.offer_id or 0)
    view = booking_to_api(fed, booking, member.id, offer)
    _ = translations(_language(request, fed)).gettext
    body = calendar_bytes([booking_facts(view, booking, offer, _)])
    return ics_response(body, f"booking-{booking.local_uuid}.ics", NO_STORE)


# --- a member's calendar ----------------------------------------------------------------------


async def _confirmed(member: LocalActor) -> list[Booking]:
    """The member's confirmed bookings, as booker or author, from a year back (the latest
    ``FEED_MAX``: past ones go first when there are more)."""
    since = datetime.now(UTC) - FEED_PAST
    mine = Q(booker_id=member.id) | Q(author_id=member.id)
    found = Booking.filter(mine, state__in=FEED_STATES, happens_at__gte=since)
    return await found.order_by("-happens_at", "-id").limit(FEED_MAX)


def calendar_name(fed: Federation, _: Callable[[str], str]) -> str:
    return f"{_('My bookings')} · {fed.site.title}"


async def calendar_feed(request: Request) -> Response:
    """``/calendar/{token}.ics``: read by calendar programs, without a session; the token is
    the credential (an unknown or revoked one is 404, whatever it was)."""
    member = await member_for_feed(request.path_params["token"], FeedPurpose.CALENDAR)
    if member is None:
        raise NotFound("unknown calendar token", "No such calendar")
    fed: Federation = request.app.state.fed
    bookings = await _confirmed(member)
    offers = await offers_of(bookings)
    _ = translations(_language(request, fed)).gettext
    events = []
    for booking in bookings:
        offer = offers.get(booking.offer_id or 0)
        view = booking_to_api(fed, booking, member.id, offer)
        events.append(booking_facts(view, booking, offer, _))
    body = calendar_bytes(events, name=calendar_name(fed, _))
    return ics_response(body, "bookings.ics", PRIVATE_FRESH)


# --- the settings ------------------------------------------------------------------------------


CALENDAR_FEED = SecretFeed(
    FeedPurpose.CALENDAR,
    feed_route="calendar_feed",
    settings_route="calendar_settings",
    revoked=N_("The calendar URL was revoked: it no longer works."),
    missing=N_("You have no calendar URL."),
)


def _webcal(url: str | None) -> str | None:
    """The ``webcal://`` link that opens the calendar program to subscribe (https only: the
    program fetches it over https)."""
    if url is None or not url.startswith("https://"):
        return None
    return "webcal://" + url.removeprefix("https://")


async def _calendar_page(
    request: Request, member: LocalActor, new_url: str | None = None
) -> Response:
    calendar = await feed_state(member, FeedPurpose.CALENDAR, new_url)
    calendar["webcal"] = _webcal(new_url)
    return form_page(request, "calendar_settings.html", {"calendar": calendar})


@page
async def calendar_settings(request: Request) -> Response:
    member = await member_or_none(request)
    if member is None:
        return to_login(request)
    return await _calendar_page(request, member)


@page
async def new_calendar_feed(request: Request) -> Response:
    return await make_feed_url(request, CALENDAR_FEED, _calendar_page)


@page
async def revoke_calendar_feed(request: Request) -> Response:
    return await revoke_feed_url(request, CALENDAR_FEED)
