"""Candidate offers from the spatial and text indexes of migration 0015, at most ``CAP``.

A search reads its page in time order (``starts_at, id``). Where few offers lie in the area
(or hold the words), the index names them all and the database sorts that handful; where many
do (a city centre holds a third of all offers), the index would name too many, and walking the
time-ordered index with the filter finds a page in a few hundred rows. So the index is asked
for ``CAP + 1`` ids: fewer means "these, and only these, may match"; more means "dense: walk".
Either way the search applies the very same filter, so both paths give the same results. A
text that many of the latest offers hold is walked without asking its index (``_common``):
the trigram index reads every match before the cap can stop it.

PostgreSQL: GiST on ``point(longitude, latitude)`` (and the destination's), read by nearness
(``<->``) so that the scan stops after ``CAP + 1`` entries instead of collecting the whole box
(nearness only bounds the scan: results stay in time order), index-only (migration 0016: the
index holds the id and the coordinates); pg_trgm GIN over the four text
columns joined. SQLite: the R*Tree ``offer_place`` and the FTS5 trigram table
``offer_text``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from tortoise import connections
from tortoise.expressions import Q, RawSQL
from tortoise.queryset import QuerySet

from federation.services.search_walk import planned
from models.offers import Offer, OfferKind

CAP = 2000
"""Above this many candidates, walking the time order is the faster path (see module doc)."""
MIN_TEXT = 3
"""Trigram indexes cannot narrow a shorter text: shorter ones walk the time order."""
TEXT = "title || ' ' || description || ' ' || place_name || ' ' || dest_name"
"""The indexed expression of migration 0015 (PostgreSQL), spelt exactly as there."""


SPAN_POSTGRES = "COALESCE(ends_at, starts_at) - starts_at"
SPAN_SQLITE = "julianday(COALESCE(ends_at, starts_at)) - julianday(starts_at)"
SCHEDULE_POSTGRES = "details -> 'schedule'"
SCHEDULE_SQLITE = (
    "CASE WHEN json_valid(details) THEN json_extract(details, '$.schedule') ELSE 1 END"
)
"""The indexed expressions of migration 0017 (``offer_span``: how long an offer lasts;
``offer_scheduled``: the rides with a schedule, whose ``IS NOT NULL`` it holds), spelt exactly
as there. Unreadable JSON (never written by coopub) counts as a schedule: Python decides."""


@dataclass(frozen=True)
class Box:
    """A latitude/longitude rectangle, bounds included."""

    south: float
    north: float
    west: float
    east: float


def postgres() -> bool:
    return bool(connections.get("default").capabilities.dialect == "postgres")


NEAR_POSTGRES = tuple(
    f"WITH near AS (SELECT id, starts_at, status, kind FROM offer"
    f" WHERE point({x}, {y}) <@ box(point($1, $2), point($3, $4))"
    f" ORDER BY point({x}, {y}) <-> point($5, $6) LIMIT $7)"
    " SELECT near.*, counted.total FROM (SELECT count(*) AS total FROM near) AS counted"
    " LEFT JOIN near ON counted.total < $7"
    for x, y in (("longitude", "latitude"), ("dest_longitude", "dest_latitude"))
)
"""Offers near a point (``$5, $6``) within a box, fewer than ``$7``: by first places, by last
ones; with what the index holds of each besides its place (migration 0018). When ``$7`` lie
there, one row says so (``total``, and no offer): a dense area's 2,001 rows stay unread."""


class Entry(NamedTuple):
    """What PostgreSQL's place indexes hold of an offer: enough to put candidates in time
    order, and leave out those of another status or kind, before reading any row."""

    starts_at: datetime
    status: str
    kind: str


async def near_ids(box: Box, cap: int | None = None) -> set[int] | None:
    """Offers whose first or last place may lie in ``box`` (a superset), or None when more
    than ``cap`` (default ``CAP``) entries do."""
    cap = CAP if cap is None else cap
    if postgres():
        entries = await near_entries(box, cap)
        return None if entries is None else set(entries)
    _, rows = await connections.get("default").execute_query(
        "SELECT id FROM offer_place WHERE max_lat >= ? AND min_lat <= ?"
        " AND max_lon >= ? AND min_lon <= ? LIMIT ?",
        [box.south, box.north, box.west, box.east, cap + 1],
    )
    return None if len(rows) > cap else {int(r["id"]) // 2 for r in rows}


async def near_entries(box: Box, cap: int | None = None) -> dict[int, Entry] | None:
    """PostgreSQL: ``near_ids`` with each offer's ``Entry``, read from the index alone."""
    cap = CAP if cap is None else cap
    # Read in the index's order of nearness (KNN) within the box, the scan stops after
    # ``cap + 1`` entries; a bitmap scan (the planner's choice, as it expects a box to hold
    # few points) would collect the whole box first, a third of all offers in a city centre.
    # The first places first: a dense area is most often dense in them, and the last places'
    # scan and its 2,001 ids are then spared.
    lat, lon = (box.south + box.north) / 2, (box.west + box.east) / 2
    found: dict[int, Entry] = {}
    async with planned("enable_bitmapscan = off") as conn:
        for sql in NEAR_POSTGRES:
            _, rows = await conn.execute_query(
                sql, [box.west, box.south, box.east, box.north, lon, lat, cap + 1]
            )
            if rows[0]["total"] > cap:
                return None
            for row in rows:
                if row["id"] is not None:
                    found[row["id"]] = Entry(row["starts_at"], row["status"], row["kind"])
    return found


def in_time_order(
    ids: Iterable[int],
    entries: dict[int, Entry],
    *,
    statuses: Sequence[str] | None,
    kind: str | None,
    earliest: datetime | None,
    latest: datetime | None,
) -> list[int]:
    """``ids`` in the search's order (``starts_at, id``), without those its filter refuses
    for what their ``entries`` hold (a status not among ``statuses``, another kind, a start
    before ``earliest`` or after ``latest``): the walk then reads them a page at a time,
    instead of reading them all to sort them."""

    def may_match(entry: Entry) -> bool:
        return (
            (statuses is None or entry.status in statuses)
            and (kind is None or entry.kind == kind)
            and (earliest is None or entry.starts_at >= earliest)
            and (latest is None or entry.starts_at <= latest)
        )

    return [i for _, i in sorted((entries[i].starts_at, i) for i in ids if may_match(entries[i]))]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def text_ids(text: str, cap: int | None = None) -> set[int] | None:
    """Offers whose title, description, place or destination name may contain ``text``,
    whatever its case (a superset), or None when more than ``cap`` do or ``text`` is too short
    for the trigram indexes."""
    cap = CAP if cap is None else cap
    if len(text) < MIN_TEXT or await _common(text):
        return None
    conn = connections.get("default")
    if postgres():
        sql = f"SELECT id FROM offer WHERE ({TEXT}) ILIKE $1 LIMIT $2"
        _, rows = await conn.execute_query(sql, [_like(text), cap + 1])
    else:
        phrase = '"' + text.replace('"', '""') + '"'
        _, rows = await conn.execute_query(
            "SELECT rowid AS id FROM offer_text WHERE offer_text MATCH ? LIMIT ?",
            [phrase, cap + 1],
        )
    if len(rows) > cap:
        return None
    return {int(r["id"]) for r in rows}


SAMPLE = 1000
"""How many of the latest offers ``_common`` reads to guess how common a text is."""
COMMON = 0.02
"""A text held by this share of offers is walked: a page of 50 then reads about 2,500 rows."""


async def _common(text: str) -> bool:
    """Whether ``text`` is common enough to walk the time order without asking the trigram
    index: at least ``COMMON`` of the latest ``SAMPLE`` offers hold it. The index would have
    to read all its matches before the cap stops it (a common word: 8–15 ms at a million
    offers, only to learn that the search must walk); the sample reads a thousand rows by
    primary key, and the walk finds a page of such a text within a few thousand rows. Fewer
    than ``SAMPLE`` offers in all: the index is cheap, ask it. A guess only chooses the path:
    both find exactly the same offers."""
    if postgres():
        where, value = f"({TEXT}) ILIKE $1", _like(text)
    else:  # LIKE folds ASCII letters only: a guess may miss "É" for "é", no result changes
        where = "(title || ' ' || description || ' ' || place_name || ' ' || dest_name)"
        where, value = f"{where} LIKE ? ESCAPE '\\'", _like(text)
    columns = "title, description, place_name, dest_name"
    latest = f"(SELECT {columns} FROM offer ORDER BY id DESC LIMIT {SAMPLE}) AS latest"
    holding = f"sum(CASE WHEN {where} THEN 1 ELSE 0 END) AS hits"
    sql = f"SELECT count(*) AS sampled, {holding} FROM {latest}"
    _, rows = await connections.get("default").execute_query(sql, [value])
    sampled, hits = int(rows[0]["sampled"]), int(rows[0]["hits"] or 0)
    return sampled >= SAMPLE and hits >= COMMON * sampled


async def longest_span(kinds: Sequence[str]) -> timedelta | None:
    """The longest time, among offers of ``kinds``, from an offer's start to its end (its
    start when it has none): an offer found from a date starts at most that long before it,
    which turns the date into a range on the time order; regular rides, found until their
    expiry, are asked apart (``regular_rides``). None when there is no such offer. One
    index look-up per kind (``offer_span``)."""
    conn = connections.get("default")
    on_postgres = postgres()
    spans: list[timedelta] = []
    for kind in kinds:
        if on_postgres:
            sql = f"SELECT max({SPAN_POSTGRES}) AS span FROM offer WHERE kind = $1"
        else:  # SQLite's max() would read every entry of the kind; the order reads one
            sql = (
                f"SELECT {SPAN_SQLITE} AS span FROM offer WHERE kind = ?"
                f" ORDER BY {SPAN_SQLITE} DESC LIMIT 1"
            )
        _, rows = await conn.execute_query(sql, [kind])
        span = rows[0]["span"] if rows else None
        if span is not None:
            spans.append(span if on_postgres else timedelta(days=float(span)))
    return max(spans, default=None)


REGULAR_BY_ID = 200
"""Up to this many regular rides still running, a date search names them by id
(``without_past_rides``): its filter then reads only columns the walks' indexes hold."""


@dataclass(frozen=True)
class RegularRides:
    """The rides with a schedule that expire at or after a date: the earliest start among
    them (None: there is none), and their ids when there are at most ``REGULAR_BY_ID``."""

    first_start: datetime | None
    ids: list[int] | None


async def regular_rides(date_from: datetime) -> RegularRides:
    """The rides with a schedule (readable or not) that expire at or after ``date_from``
    (each is found until its expiry, whenever it started): read from the partial index
    ``offer_scheduled``, which holds only them. Both planners, knowing nothing of how many
    offers have a schedule, would rather walk an index of starts or of kinds until the first
    one (all of them, 1–2 s at a million offers, when there is none): PostgreSQL reads the
    partial index in a materialized CTE, SQLite is told which index to use."""
    conn = connections.get("default")
    order = f"ORDER BY starts_at, id LIMIT {REGULAR_BY_ID + 1}"
    if postgres():
        sql = (
            "WITH regular AS MATERIALIZED (SELECT id, starts_at, kind FROM offer"
            f" WHERE ({SCHEDULE_POSTGRES}) IS NOT NULL AND expires_at >= $1)"
            f" SELECT id, starts_at FROM regular WHERE kind = 'ride' {order}"
        )
        _, rows = await conn.execute_query(sql, [date_from])
        starts = [row["starts_at"] for row in rows]
    else:
        moment = Offer._meta.fields_map["expires_at"]
        sql = (
            "SELECT id, starts_at FROM offer INDEXED BY offer_scheduled"
            f" WHERE ({SCHEDULE_SQLITE}) IS NOT NULL AND expires_at >= ? AND kind = 'ride'"
            f" {order}"
        )
        _, rows = await conn.execute_query(sql, [moment.to_db_value(date_from, Offer)])
        starts = [moment.to_python_value(row["starts_at"]) for row in rows]
    ids = [row["id"] for row in rows] if len(rows) <= REGULAR_BY_ID else None
    return RegularRides(starts[0] if starts else None, ids)


def without_past_rides(
    query: QuerySet[Offer], date_from: datetime, regular: Sequence[int] | None
) -> QuerySet[Offer]:
    """``query`` without the rides that ended before ``date_from`` and have no schedule: the
    date filter lets every ride through until its expiry (a regular ride's departures are
    checked in Python), so a search by dates would otherwise read and build a day of past
    rides before its first match. ``in_dates`` refuses every row left out here (no
    ``schedule`` in ``details``: not a regular ride), so results do not change. ``regular``:
    the ids of the regular rides still running (``regular_rides``), which then stand for the
    schedule test, or None (too many to name: the test is made on ``details``)."""
    ended = ~Q(kind=OfferKind.RIDE) | Q(ends_at__gte=date_from)
    ended |= Q(ends_at__isnull=True, starts_at__gte=date_from)
    if regular is not None:
        return query.filter(ended | Q(id__in=regular)) if regular else query.filter(ended)
    schedule = SCHEDULE_POSTGRES if postgres() else SCHEDULE_SQLITE
    return query.annotate(search_schedule=RawSQL(schedule)).filter(
        ended | Q(search_schedule__isnull=False)
    )


async def earliest_start(
    date_from: datetime | None, kind: OfferKind | None, regular: RegularRides | None
) -> datetime | None:
    """A bound a search from ``date_from`` implies (``longest_span`` of ``kind``, or of all
    kinds, and the first start of a regular ride still running), so that the time order is
    walked from there, not from the oldest offer; a second and the microseconds more, so that
    it stays below every offer it must let through, however the database compares moments."""
    if date_from is None:
        return None
    span = await longest_span([kind] if kind else list(OfferKind))
    earliest = date_from - (span or timedelta(0))
    if regular is not None and regular.first_start is not None:
        earliest = min(earliest, regular.first_start)
    try:
        return (earliest - timedelta(seconds=1)).replace(microsecond=0)
    except OverflowError:  # before year 1: no bound
        return None
