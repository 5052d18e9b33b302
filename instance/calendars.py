"""Offers and bookings as iCalendar (RFC 5545, written with the ``icalendar`` package).

One ``VEVENT`` per offer or booking: its id as ``UID`` (an offer's ActivityPub id; a booking's
request id), so that importing it again updates the event instead of adding one. Times are
written in the offer's own time zone (``TZID`` and the matching ``VTIMEZONE``), as the pages
show them, so a calendar elsewhere converts them right. A regular ride repeats weekly
(``RRULE``) until the offer's end (its expiry).

What an event says is what its reader may see on the page, never more: an offer's event has
the public place (for a stay, the approximate one: its name and fuzzed position, never the
address); a booking's event adds the details shared once it is accepted (the exact address of
a stay), only for its two parties.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from icalendar import Calendar, Event

from activitypub.offer_model import UnreadableOffer, describe
from activitypub.offer_schedule import first_on_schedule
from activitypub.offer_schema import WEEKDAYS, RideDetails, Schedule, details_of, zone
from activitypub.offer_text import LANGUAGES, offer_content_html
from instance.forms.booking import PRIVATE_LABELS
from instance.forms.labels import BOOKING_STATE_LABELS
from models.bookings import Booking, BookingState
from models.offers import Offer, OfferKind, OfferStatus

PRODID = "-//coopub//coopub calendar//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"
REFRESH = timedelta(minutes=15)
"""How often a subscribed calendar should be read again (``REFRESH-INTERVAL``)."""
BYDAY = {day: day[:2].upper() for day in WEEKDAYS}  # mon → MO
BOOKING_STATUS = {
    BookingState.REQUESTED: "TENTATIVE",
    BookingState.ACCEPTED: "CONFIRMED",
    BookingState.DONE: "CONFIRMED",
}
"""A booking's ``STATUS``; every other state (declined, expired, cancelled, not happened) is
``CANCELLED``."""
PRIVATE_PLACE = ("address", "meeting_point", "pickup_address")
"""Where a booking takes place, from its shared details, in this order of preference: a
stay's exact address, a ride's meeting point, a delivery job's pickup address."""


@dataclass(frozen=True)
class Recurrence:
    """Weekly on ``days`` (``MO``, ``TH``…) until ``until``; ``also`` is an extra first
    departure that does not fall on the schedule."""

    days: list[str]
    until: datetime
    also: datetime | None = None


@dataclass(frozen=True)
class EventFacts:
    uid: str
    summary: str
    description: str
    url: str
    status: str
    start: datetime
    end: datetime | None
    zone: tzinfo
    place: str = ""
    latitude: float | None = None
    longitude: float | None = None
    updated: datetime | None = None
    repeat: Recurrence | None = None


@dataclass
class _Span:
    """The first and last moments written, for the ``VTIMEZONE`` rules to cover them."""

    moments: list[datetime] = field(default_factory=list)

    def add(self, *moments: datetime | None) -> None:
        self.moments += [m for m in moments if m is not None]

    def dates(self, now: datetime) -> tuple[date, date]:
        found = self.moments or [now]
        return (min(found) - timedelta(days=2)).date(), (max(found) + timedelta(days=2)).date()


def _event(facts: EventFacts, now: datetime, span: _Span) -> Event:
    event = Event()
    event.add("uid", facts.uid)
    event.add("dtstamp", now)
    start = facts.start.astimezone(facts.zone)
    event.add("dtstart", start)
    if facts.end is not None and facts.end > facts.start:
        event.add("dtend", facts.end.astimezone(facts.zone))
    event.add("summary", facts.summary)
    if facts.description:
        event.add("description", facts.description)
    if facts.place:
        event.add("location", facts.place)
    if facts.latitude is not None and facts.longitude is not None:
        event.add("geo", (facts.latitude, facts.longitude))
    event.add("url", facts.url)
    event.add("status", facts.status)
    if facts.updated is not None:
        event.add("last-modified", facts.updated)
    span.add(facts.start, facts.end)
    if facts.repeat is not None:
        rule = {"freq": "weekly", "byday": facts.repeat.days, "until": facts.repeat.until}
        event.add("rrule", rule)
        if facts.repeat.also is not None:
            event.add("rdate", facts.repeat.also.astimezone(facts.zone))
        span.add(facts.repeat.until, facts.repeat.also)
    return event


def calendar_bytes(
    events: Iterable[EventFacts], now: datetime | None = None, *, name: str | None = None
) -> bytes:
    """A ``VCALENDAR`` of these events; ``name`` makes it a calendar to subscribe to (its
    name, and how often to read it again)."""
    now = now or datetime.now(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
        calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT15M")
    span = _Span()
    for facts in events:
        calendar.add_component(_event(facts, now, span))
    first, last = span.dates(now)
    calendar.add_missing_timezones(first_date=first, last_date=last)
    return bytes(calendar.to_ical())


# --- offers -----------------------------------------------------------------------------------


def _zone_of(name: str | None) -> tzinfo:
    return zone(name) or UTC


def _schedule(offer: Offer) -> Schedule | None:
    if offer.kind != OfferKind.RIDE:
        return None
    try:
        details = details_of(describe(offer))
    except UnreadableOffer:
        return None
    return details.schedule if isinstance(details, RideDetails) else None


def _repeat(offer: Offer, tz: tzinfo) -> tuple[datetime, Recurrence] | None:
    """A regular ride's first departure on its schedule, and the weekly rule up to the
    offer's end (its expiry); None without a schedule, or when it ends before that."""
    schedule = _schedule(offer)
    if schedule is None:
        return None
    first = first_on_schedule(offer.starts_at, schedule, tz)
    until = offer.expires_at.astimezone(UTC)
    if until < first:
        return None
    days = [BYDAY[day] for day in WEEKDAYS if day in schedule.weekdays]
    also = offer.starts_at if first != offer.starts_at else None
    return first, Recurrence(days, until, also)


def plain_text(content: str) -> str:
    """Our own post HTML (``offer_content_html``) as plain text: paragraphs kept, a link as
    its text then its URL on the next line, the hashtags left out (no use in a calendar)."""
    paragraphs = re.findall(r"<p>(.*?)</p>", content, re.S)
    kept = [p for p in paragraphs if 'class="mention hashtag"' not in p]
    text = "\n\n".join(kept)
    text = re.sub(r'<a href="([^"]*)"[^>]*>(.*?)</a>', r"\2\n\1", text, flags=re.S)
    text = re.sub(r"<br\s*/?>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text).strip()


def offer_description(offer: Offer, url: str, lang: str) -> str:
    """What the offer's post says (what, where, when, price, status, its text), in ``lang``
    (French or English), as plain text."""
    try:
        return plain_text(offer_content_html(offer, url, lang if lang in LANGUAGES else None))
    except UnreadableOffer:
        return offer.description


def offer_facts(offer: Offer, url: str, lang: str) -> EventFacts:
    """A local offer as everyone may see it: the public place (a stay's approximate one)."""
    tz = _zone_of(offer.timezone)
    start, end, repeat = offer.starts_at, offer.ends_at, None
    found = _repeat(offer, tz)
    if found is not None:
        first, repeat = found
        if end is not None:
            end = first + (end - start)
        start = first
    return EventFacts(
        uid=offer.ap_id,
        summary=offer.title,
        description=offer_description(offer, url, lang),
        url=url,
        status="CANCELLED" if offer.status == OfferStatus.CANCELLED else "CONFIRMED",
        start=start,
        end=end,
        zone=tz,
        place=offer.place_name,
        latitude=offer.latitude,
        longitude=offer.longitude,
        updated=offer.updated_at,
        repeat=repeat,
    )


# --- bookings ---------------------------------------------------------------------------------


def _booking_times(booking: Booking, offer: Offer | None) -> tuple[datetime, datetime | None]:
    """A stay: the arrival and departure asked for; otherwise when it takes place, for as
    long as the offer lasts (when it says)."""
    if booking.kind == OfferKind.STAY and booking.starts_at is not None:
        return booking.starts_at, booking.ends_at
    start = booking.happens_at
    if offer is not None and offer.ends_at is not None and offer.ends_at > offer.starts_at:
        return start, start + (offer.ends_at - offer.starts_at)
    return start, None


def booking_lines(view: dict[str, Any], _: Callable[[str], str]) -> list[str]:
    """What the booking's page says, as lines of text: state, parties, quantity, and the
    details shared with its reader (``view`` is ``booking_to_api``'s, which holds them only
    once accepted)."""
    lines = [
        f"{_('Status')}: {_(BOOKING_STATE_LABELS[view['state']])}",
        f"{_('Asked by')}: {view['booker']['name'] or view['booker']['id']}",
        f"{_('Offer by')}: {view['author']['name'] or view['author']['id']}",
        f"{_('How many')}: {view['quantity']}",
    ]
    private = view.get("private") or {}
    for key, label in PRIVATE_LABELS:
        if private.get(key):
            lines.append(f"{_(label)}: {private[key]}")
    if private.get("latitude") is not None and private.get("longitude") is not None:
        lines.append(f"{_('Position')}: {private['latitude']}, {private['longitude']}")
    if view["offer"]["url"]:
        lines.append(f"{_('Offer')}: {view['offer']['url']}")
    return lines


def booking_facts(
    view: dict[str, Any], booking: Booking, offer: Offer | None, _: Callable[[str], str]
) -> EventFacts:
    """A booking for one of its two parties (``view``, from ``booking_to_api``): the place
    shared with them once accepted, else the offer's public one."""
    private = view.get("private") or {}
    place = next((private[key] for key in PRIVATE_PLACE if private.get(key)), "")
    latitude, longitude = private.get("latitude"), private.get("longitude")
    if latitude is None or longitude is None:
        latitude = offer.latitude if offer is not None else None
        longitude = offer.longitude if offer is not None else None
    if not place and offer is not None:
        place = offer.place_name
    start, end = _booking_times(booking, offer)
    return EventFacts(
        uid=booking.ap_id,
        summary=booking.title,
        description="\n".join(booking_lines(view, _)),
        url=view["url"],
        status=BOOKING_STATUS.get(BookingState(booking.state), "CANCELLED"),
        start=start,
        end=end,
        zone=_zone_of(offer.timezone if offer is not None else None),
        place=place,
        latitude=latitude,
        longitude=longitude,
        updated=booking.updated_at,
    )
