"""Offer search over local and received offers: filters only, sorted by time, no hidden score.

"Near a place" and a text use the spatial and text indexes (``search_index.py``) when they
narrow the search to a few offers, else the time-ordered index; then the exact great-circle
distance. A place name is looked up in the bundled gazetteer (``places.py``: every
French commune and postcode, the world's cities), then among the places offers mention; no
external geocoding service is ever called. The dispatch board (``dispatch.py``) filters by
the same ``Area`` and reads its pages the same way (``search_walk.first_matching``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from activitypub.offer_errors import CodedRefusal, OfferError
from activitypub.offer_schedule import departs_between, stored_schedule
from activitypub.offers import distance_km
from federation.services.limited import hidden_offers
from federation.services.places import find_places
from federation.services.search_index import (
    Box,
    Entry,
    earliest_start,
    in_time_order,
    near_entries,
    near_ids,
    postgres,
    regular_rides,
    text_ids,
    without_past_rides,
)
from federation.services.search_walk import COVERED, WALK, by_id, planned, walk
from models.actors import LocalActor
from models.offers import Offer, OfferKind, OfferStatus, Purpose

MAX_LIMIT = 100
MAX_DIGITS = 9
"""Counts in the query string (offset, seats) have at most this many digits."""
MAX_OFFSET = 10_000
"""Pages go no deeper: an area search filters in Python, so its cost grows with the offset
(a narrower search finds what lies deeper)."""
VISIBLE = (OfferStatus.OPEN, OfferStatus.FULL, OfferStatus.ASSIGNED, OfferStatus.PICKED_UP)


@dataclass
class SearchParams:
    kind: OfferKind | None = None
    purpose: Purpose | None = None
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float = 25.0
    place: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    min_quantity: int | None = None
    text: str | None = None
    include_closed: bool = False
    limit: int = 50
    offset: int = 0


class InvalidSearch(CodedRefusal):
    """A search parameter refused, as a coded problem whose ``field`` is the query parameter
    (``lat``, ``from``…): the API sends it, the search page translates it."""

    def __init__(self, field: str, code: str, **params: Any) -> None:
        self.problem = OfferError(field, code, params)
        super().__init__([self.problem])
        self.public_message = f"{field}: {self.problem.message()}"


def _moment(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # OverflowError: 9999-12-31 at UTC-23:59
        raise InvalidSearch(name, "not_a_date") from exc


def _float(value: str, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise InvalidSearch(name, "not_a_number") from exc
    if not math.isfinite(number):
        raise InvalidSearch(name, "not_a_number")
    if not low <= number <= high:
        code = "too_small" if number < low else "too_large"
        raise InvalidSearch(name, code, min=low, max=high)
    return number


def _whole(value: str, name: str) -> int:
    """A count in the query string: ASCII digits only (``"²".isdigit()`` is true), bounded so
    that it stays a valid SQL integer on every database."""
    if not (value.isascii() and value.isdigit()):
        raise InvalidSearch(name, "not_an_integer")
    if len(value) > MAX_DIGITS:
        raise InvalidSearch(name, "too_large", max=10**MAX_DIGITS - 1)
    return int(value)


def _choice(q: dict[str, str], name: str, choices: type[StrEnum]) -> Any:
    if name not in q:
        return None
    try:
        return choices(q[name])
    except ValueError as exc:
        raise InvalidSearch(name, "not_a_choice", choices=[c.value for c in choices]) from exc


def parse_search(query: dict[str, str]) -> SearchParams:
    """Search parameters from a query string (the search page and the API share them);
    ``InvalidSearch`` names the first parameter refused."""
    q = {k: v.strip() for k, v in query.items() if isinstance(v, str) and v.strip()}
    params = SearchParams(
        kind=_choice(q, "kind", OfferKind), purpose=_choice(q, "purpose", Purpose)
    )
    for given, missing in (("lat", "lon"), ("lon", "lat")):
        if given in q and missing not in q:
            raise InvalidSearch(missing, "required")
    if "lat" in q:
        params.latitude = _float(q["lat"], "lat", -90, 90)
        params.longitude = _float(q["lon"], "lon", -180, 180)
    if "radius_km" in q:
        params.radius_km = _float(q["radius_km"], "radius_km", 0, 2000)
        if params.radius_km <= 0:
            raise InvalidSearch("radius_km", "not_positive")
    params.place = q.get("place")
    if "from" in q:
        params.date_from = _moment(q["from"], "from")
    if "to" in q:
        params.date_to = _moment(q["to"], "to")
        if len(q["to"]) == 10:  # a day: include all of it
            params.date_to = params.date_to.replace(hour=23, minute=59, second=59)
    if params.date_from and params.date_to and params.date_to < params.date_from:
        raise InvalidSearch("to", "before_start")
    for key in ("min_seats", "min_guests", "min_quantity"):
        if key in q:
            params.min_quantity = _whole(q[key], key)
    params.text = q.get("q")
    params.include_closed = q.get("include_closed") in ("1", "true", "on")
    if "limit" in q:
        params.limit = max(1, min(MAX_LIMIT, _whole(q["limit"], "limit")))
    if "offset" in q:
        params.offset = _whole(q["offset"], "offset")
        if params.offset > MAX_OFFSET:
            raise InvalidSearch("offset", "too_large", max=MAX_OFFSET)
    return params


async def resolve_place(name: str) -> tuple[float, float] | None:
    """Coordinates of a place name: the gazetteer's most populous place of that very name (or
    postcode); else a name offers mention (exact, then prefix), the newest; else the
    gazetteer's best guess (a place starting so, or named by the leading words)."""
    found = await find_places(name)
    if found.exact and not found.partial:
        return found.places[0].latitude, found.places[0].longitude
    for filters in ({"place_name__iexact": name}, {"place_name__istartswith": name}):
        row = await Offer.filter(latitude__not_isnull=True, **filters).order_by("-id").first()
        if row is not None:
            return row.latitude, row.longitude  # type: ignore[return-value]
    row = await Offer.filter(dest_name__iexact=name, dest_latitude__not_isnull=True).first()
    if row is not None:
        return row.dest_latitude, row.dest_longitude  # type: ignore[return-value]
    if found.places:
        return found.places[0].latitude, found.places[0].longitude
    return None


def narrowed(
    query: QuerySet[Offer], params: SearchParams
) -> tuple[QuerySet[Offer], list[Callable[[Offer], bool]]]:
    """``query`` narrowed by every criterion but the area, and the tests the database cannot
    make (a regular ride's days): the one statement of what a search means, for the search
    and for saved searches (``alerts.py``)."""
    if not params.include_closed:
        query = query.filter(status__in=VISIBLE)
    if params.kind:
        query = query.filter(kind=params.kind)
    if params.purpose:
        query = query.filter(purpose=params.purpose)
    keeps: list[Callable[[Offer], bool]] = []
    if params.date_from:
        # a ride may be regular: open until its expiry, checked day by day in Python
        query = query.filter(
            Q(ends_at__gte=params.date_from)
            | Q(ends_at__isnull=True, starts_at__gte=params.date_from)
            | Q(kind=OfferKind.RIDE, expires_at__gte=params.date_from)
        )
    if params.date_to:
        query = query.filter(starts_at__lte=params.date_to)
    if params.date_from or params.date_to:
        keeps.append(lambda offer: in_dates(offer, params.date_from, params.date_to))
    if params.min_quantity is not None:
        query = query.filter(quantity_available__gte=params.min_quantity)
    if params.text:
        query = query.filter(
            Q(title__icontains=params.text)
            | Q(description__icontains=params.text)
            | Q(place_name__icontains=params.text)
            | Q(dest_name__icontains=params.text)
        )
    return query, keeps


AREA_COLUMNS = ("latitude", "longitude", "dest_latitude", "dest_longitude")
DATE_COLUMNS = ("starts_at", "ends_at", "expires_at", "kind", "details", "timezone")
"""What the tests made in Python read (``Area.contains``, ``in_dates``)."""


async def search_offers(
    params: SearchParams,
    viewer: LocalActor | None = None,
    *,
    columns: Sequence[str] | None = None,
) -> list[Offer]:
    """Limited domains' offers are left out, but those of authors ``viewer`` follows. With
    ``columns``, only those are read (and ``id`` and what the tests in Python need): a page
    that shows a few columns does not decode every offer's ``document``."""
    query, keeps = narrowed(Offer.all(), params)
    hidden = await hidden_offers(viewer)
    if hidden is not None:
        query = query.exclude(hidden)
    area = await area_of(params)
    if area is not None:
        query = query.filter(area.box())
        keeps.append(area.contains)
    regular = None
    if params.date_from and params.kind in (None, OfferKind.RIDE):
        regular = await regular_rides(params.date_from)
    earliest = await earliest_start(params.date_from, params.kind, regular)
    if earliest is not None:
        query = query.filter(starts_at__gte=earliest)
    if params.date_from and regular is not None:
        query = without_past_rides(query, params.date_from, regular.ids)
    candidates, entries = await _candidates(params, area)
    if candidates is not None and not candidates:
        return []
    # The page is found reading only what ordering, the status streams and the tests in
    # Python need, then read whole (or its ``columns``): building every row a walk passes is
    # most of its cost.
    needed = {"id", "starts_at", "status"}
    if area is not None:
        needed.update(AREA_COLUMNS)
    if params.date_from or params.date_to:
        needed.update(DATE_COLUMNS)
    ordered = query.order_by("starts_at", "id")

    def passes(offer: Offer) -> bool:
        return all(test(offer) for test in keeps)

    keep = passes if keeps else None

    statuses = None if params.include_closed else VISIBLE
    if candidates is not None:  # a few offers: in time order if the index said, else sorted
        if entries is None:
            ids = sorted(candidates)
        else:
            bounds = {"earliest": earliest, "latest": params.date_to}
            ids = in_time_order(candidates, entries, statuses=statuses, kind=params.kind, **bounds)
        page = await walk(
            ordered.only(*sorted(needed)),
            keep,
            params.offset,
            params.limit,
            None,
            ids=ids,
            in_order=entries is not None,
        )
    else:  # dense: the time order, filtered (no sort of a whole area, of every visible offer)
        # when the filter reads only what the walked index holds, the walk reads the index
        # alone, and the rows it keeps are then read for the rest (``search_walk``)
        covered = (
            not params.text and hidden is None and (regular is None or regular.ids is not None)
        )
        rest = sorted(needed - COVERED) if covered else []
        first = ordered.only(*sorted(needed - set(rest)))
        async with planned(*WALK) as conn:
            page = await walk(
                first.using_db(conn),
                keep,
                params.offset,
                params.limit,
                statuses,
                rest=rest,
                by_kind=params.kind is not None,
            )
    if not page:
        return []
    rows = await by_id(
        [offer.id for offer in page], None if columns is None else {*needed, *columns}
    )
    return [rows[offer.id] for offer in page if offer.id in rows]


async def _candidates(
    params: SearchParams, area: Area | None
) -> tuple[set[int] | None, dict[int, Entry] | None]:
    """The ids the spatial and text indexes allow (``search_index.py``), or None when neither
    narrows the search to a few (no area nor text, or dense ones: walk the time order); and,
    on PostgreSQL, what the place index holds of each (``Entry``), or None."""
    found: list[set[int]] = []
    entries = None
    if area is not None and postgres():
        entries = await near_entries(area.bounds())
        if entries is not None:
            found.append(set(entries))
    elif area is not None:
        near = await near_ids(area.bounds())
        if near is not None:
            found.append(near)
    if params.text:
        words = await text_ids(params.text)
        if words is not None:
            found.append(words)
    return (set.intersection(*found) if found else None), entries


async def offer_matches(offer: Offer, params: SearchParams) -> bool:
    """Whether the search ``params`` finds ``offer`` (a saved search meeting a new offer): the
    tests made in Python first, then the same query as the search, asked of this one row."""
    query, keeps = narrowed(Offer.filter(id=offer.id), params)
    area = await area_of(params)
    if area is not None:
        keeps.append(area.contains)
    if not all(keep(offer) for keep in keeps):
        return False
    return await query.exists()


def in_dates(offer: Offer, date_from: datetime | None, date_to: datetime | None) -> bool:
    """A regular ride: one of its departures, from its start to its expiry, falls within the
    dates. Any other offer: it has not ended before them (the query already knows it starts
    before their end)."""
    schedule = stored_schedule(offer.details) if offer.kind == OfferKind.RIDE else None
    if schedule is not None:
        return departs_between(
            offer.starts_at, offer.expires_at, schedule, offer.timezone, date_from, date_to
        )
    if date_from is None:
        return True
    return (offer.ends_at or offer.starts_at) >= date_from


@dataclass(frozen=True)
class Area:
    """A circle around a point: offers whose first or last place lies in it."""

    latitude: float
    longitude: float
    radius_km: float

    def bounds(self) -> Box:
        """The bounding box of the circle: a superset of it, narrowed by ``contains``."""
        dlat = self.radius_km / 111.0
        dlon = self.radius_km / max(1e-6, 111.0 * math.cos(math.radians(self.latitude)))
        return Box(
            self.latitude - dlat, self.latitude + dlat, self.longitude - dlon, self.longitude + dlon
        )

    def box(self) -> Q:
        """``bounds`` as a filter on the first or the last place (the search asks it of the
        rows the indexes name, or of every row when it walks the time order)."""
        b = self.bounds()
        box = Q(
            latitude__gte=b.south,
            latitude__lte=b.north,
            longitude__gte=b.west,
            longitude__lte=b.east,
        )
        dest_box = Q(
            dest_latitude__gte=b.south,
            dest_latitude__lte=b.north,
            dest_longitude__gte=b.west,
            dest_longitude__lte=b.east,
        )
        return box | dest_box

    def contains(self, offer: Offer) -> bool:
        """The exact great-circle test."""
        points: list[Any] = [
            (offer.latitude, offer.longitude),
            (offer.dest_latitude, offer.dest_longitude),
        ]
        return any(
            p[0] is not None
            and p[1] is not None
            and distance_km(self.latitude, self.longitude, p[0], p[1]) <= self.radius_km
            for p in points
        )


async def area_of(params: SearchParams) -> Area | None:
    """The area asked for (coordinates, or a place name: ``resolve_place``), or None;
    ``InvalidSearch`` for a place name nobody knows."""
    center: tuple[float, float] | None = None
    if params.latitude is not None and params.longitude is not None:
        center = (params.latitude, params.longitude)
    elif params.place:
        center = await resolve_place(params.place)
        if center is None:
            raise InvalidSearch("place", "unknown_place")
    return Area(center[0], center[1], params.radius_km) if center is not None else None
