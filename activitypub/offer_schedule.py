"""Regular rides: a ride repeated every week on its ``schedule`` (weekdays, a local time, an
optional last day ``until``).

A regular ride stays open until the end of its last day in the offer's time zone, or
``DEFAULT_DAYS`` after its start when it names none; its last day is at most ``MAX_DAYS`` after
the start. A search finds it on any day it runs (``departs_between``).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from pydantic import ValidationError

from activitypub.offer_errors import OfferError
from activitypub.offer_schema import (
    WEEKDAYS,
    OfferDescription,
    RideOffer,
    Schedule,
    zone,
)

DEFAULT_DAYS = 91
"""A regular ride without a last day stays open about three months after its start."""
MAX_DAYS = 366
"""A regular ride's last day is at most a year after its start."""


def first_on_schedule(start: datetime, schedule: Schedule, tz: tzinfo) -> datetime:
    """The first departure of the schedule at or after ``start``, at the schedule's local
    time (a wall-clock time: 07:30 stays 07:30 across a change of summer time)."""
    hour, minute = (int(part) for part in schedule.time.split(":"))
    local = start.astimezone(tz)
    days = {WEEKDAYS.index(day) for day in schedule.weekdays}
    for offset in range(8):  # the same weekday a week later at the latest
        day = local.date() + timedelta(days=offset)
        if day.weekday() in days:
            candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
            if candidate >= local:
                return candidate
    raise ValueError(f"no departure in {schedule.weekdays}")  # min_length=1: unreachable


def schedule_end(starts_at: datetime, schedule: Schedule, timezone: str) -> datetime:
    """When a regular ride stops being open: the end of its last day (local midnight), else
    ``DEFAULT_DAYS`` after its start. In UTC."""
    if schedule.until is None:
        return starts_at + timedelta(days=DEFAULT_DAYS)
    tz = zone(timezone) or UTC
    midnight = datetime.combine(schedule.until + timedelta(days=1), time(), tzinfo=tz)
    return midnight.astimezone(UTC)


def schedule_problems(offer: OfferDescription) -> list[OfferError]:
    """A last day before the start, or more than ``MAX_DAYS`` after it (checked here, not in
    the description: the start is a field of the offer, the last day one of its schedule)."""
    if not isinstance(offer, RideOffer) or offer.ride.schedule is None:
        return []
    until = offer.ride.schedule.until
    if until is None:
        return []
    first = offer.starts_at.astimezone(zone(offer.timezone) or UTC).date()
    field = "ride.schedule.until"
    if until < first:
        return [OfferError(field, "before_start", {})]
    if (until - first).days > MAX_DAYS:
        return [OfferError(field, "too_late", {"days": MAX_DAYS})]
    return []


def stored_schedule(details: Any) -> Schedule | None:
    """The schedule in a stored ride's ``details``, or None (none, or unreadable)."""
    raw = details.get("schedule") if isinstance(details, dict) else None
    if not isinstance(raw, dict):
        return None
    try:
        return Schedule.model_validate(raw)
    except ValidationError:
        return None


def departs_between(
    start: datetime,
    end: datetime,
    schedule: Schedule,
    timezone: str,
    low: datetime | None,
    high: datetime | None,
) -> bool:
    """Whether a ride departing on ``schedule`` from ``start`` until ``end`` (its expiry)
    leaves at least once within ``low``–``high`` (either may be open). The start counts as a
    departure even off the schedule, as in its calendar."""
    earliest = max(start, low) if low is not None else start
    latest = min(end, high) if high is not None else end
    if latest < earliest:
        return False
    if earliest == start:
        return True
    departure = first_on_schedule(earliest, schedule, zone(timezone) or UTC)
    return departure <= latest
