"""Reading a search's page in time order (``starts_at, id``) from the indexes that have it.

The visible statuses are four; an index on ``(status, starts_at, id)`` is in time order for
one status only, and an index on ``(starts_at, id)`` alone walks through every closed and
expired offer of the past before the first visible one. So each status is walked on its own
and the streams are merged: the busiest status (open) first, until it fills the page; the
others then only up to the last offer that page holds (a page from them ends no later).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.offers import Offer, OfferStatus
from models.partial_rows import partial_rows


class UnexpectedQuery(RuntimeError):
    """A query of a shape ``_read`` does not know (one ``FROM "offer"``, a ``WHERE``, one
    ``ORDER BY``)."""


@asynccontextmanager
async def planned(*settings: str) -> AsyncIterator[BaseDBAsyncClient]:
    """A transaction with these PostgreSQL planner ``settings`` (``"enable_sort = off"``:
    a sort only as a last resort), where its estimates cannot know which index is the right
    path: that a third of all offers lie in a city's box, or hold a common word. Nothing on
    SQLite."""
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres" and settings:  # one round trip for all
            await conn.execute_script("; ".join(f"SET LOCAL {setting}" for setting in settings))
        yield conn


WALK = ("enable_sort = off", "max_parallel_workers_per_gather = 0")
"""A walk reads a few hundred rows: starting parallel workers costs more than it saves."""


COVERED = frozenset(
    {"id", "kind", "status", "starts_at", "purpose", "quantity_available", "latitude"}
    | {"longitude", "dest_latitude", "dest_longitude", "ends_at", "expires_at"}
)
"""The columns the walked indexes hold (migrations 0018 and 0019): a walk whose filter and
columns are among them reads the index alone."""

KIND_ORDER = ["kind", "status", "starts_at", "id"]
"""The first columns of the index a walk among one kind reads (``Offer.Meta``; then those
``COVERED``)."""
_kind_index: list[str] = []
"""Its name on SQLite, once read (Tortoise names it after a hash of its columns)."""


async def _sqlite_kind_index(db: BaseDBAsyncClient) -> str | None:
    if not _kind_index:
        _, indexes = await db.execute_query("SELECT name FROM pragma_index_list('offer')")
        for index in indexes:
            _, columns = await db.execute_query(
                "SELECT name FROM pragma_index_info(?) ORDER BY seqno", [index["name"]]
            )
            if [c["name"] for c in columns][: len(KIND_ORDER)] == KIND_ORDER:
                _kind_index.append(index["name"])
    return _kind_index[0] if _kind_index else None


TABLE, ORDER = f'FROM "{Offer._meta.db_table}"', " ORDER BY "

Where = tuple[str, tuple[Any, ...]]
"""A condition a page adds: its text, ``{}`` for each parameter, and the parameters."""


class Walked:
    """A walk's query as Tortoise writes it, once (``SELECT … FROM "offer" WHERE …`` and its
    order): each page then adds its conditions (a status, after or up to a row) and its limit
    as text and parameters. Tortoise built the whole statement again for every page, a third
    of a search's time in Python.

    Among ``ids`` (the few candidates an index named) they go as one parameter (an array; a
    JSON list on SQLite): two thousand placeholders cost more to build than to run. SQLite's
    planner, without statistics, would rather find them through an index on kind or status
    (all rides, say) than look them up: it is told to use no index but the rowid. On
    PostgreSQL the rows are joined to the ids (``unnest``), looked up by primary key whatever
    the statistics say: without them (before autovacuum's first ``ANALYZE``) ``id = ANY(…)``
    became a scan of every visible offer, 10× slower. A walk among one kind, on SQLite, is
    told to read the index of that kind: a page that resumes after its last row (or a stream
    bounded by another's last row) made it prefer the index of all kinds, and read every
    offer of the window (rides of an area by dates: 40 ms instead of 4)."""

    def __init__(
        self,
        head: str,
        order: str,
        values: list[Any],
        db: BaseDBAsyncClient,
        *,
        where: bool,
        index: str | None,
    ) -> None:
        self.head, self.order, self.values, self.db = head, order, values, db
        self.sqlite = db.capabilities.dialect == "sqlite"
        self.where, self.index = where, index

    @classmethod
    async def of(cls, query: QuerySet[Offer], *, by_kind: bool = False) -> Walked:
        """``query`` (filtered, ordered, not limited) as text; ``by_kind``: it keeps one kind
        (SQLite then walks that kind's index). ``UnexpectedQuery`` unless it has one ``FROM
        "offer"`` and ends with its ``ORDER BY``."""
        query._choose_db_if_not_chosen()
        query._make_query()
        sql, values = query.query.get_parameterized_sql()
        if sql.count(TABLE) != 1 or sql.count(ORDER) != 1 or " LIMIT " in sql.split(ORDER)[1]:
            raise UnexpectedQuery(sql)
        head, order = sql.split(ORDER)
        # its conditions in parentheses, so that those a page adds hold for all of them
        at = head.find(" WHERE ", head.index(TABLE))
        if at >= 0:
            head = f"{head[:at]} WHERE ({head[at + len(' WHERE ') :]})"
        index = None
        if query.capabilities.dialect == "sqlite" and by_kind:
            # not found in the text: a search by dates names rides in an OR, and a walk of the
            # kinds' index without a kind reads all of it and sorts it (seconds at a million)
            index = await _sqlite_kind_index(query._db)
        return cls(head, ORDER + order, list(values), query._db, where=at >= 0, index=index)

    def _mark(self, values: list[Any], value: Any) -> str:
        values.append(value)
        return "?" if self.sqlite else f"${len(values)}"

    def page(
        self, where: Sequence[Where], size: int, ids: Sequence[int] | None = None
    ) -> tuple[str, list[Any]]:
        """The statement of a page: this query, with ``where`` and among ``ids``, its first
        ``size`` rows."""
        values = list(self.values)
        head = self.head
        if ids is None and self.index is not None:
            head = head.replace(TABLE, f'{TABLE} INDEXED BY "{self.index}"')
        elif ids is not None and self.sqlite:
            head = head.replace(TABLE, f"{TABLE} NOT INDEXED")
        elif ids is not None:
            among = f"unnest({self._mark(values, list(ids))}::int[]) AS candidates(candidate)"
            head = head.replace(TABLE, f'FROM {among} JOIN "offer" ON "offer"."id" = candidate')
        conditions = [
            template.format(*(self._mark(values, v) for v in params)) for template, params in where
        ]
        if ids is not None and self.sqlite:
            listed = self._mark(values, json.dumps(list(ids)))
            conditions.append(f'"id" IN (SELECT value FROM json_each({listed}))')
        if conditions:
            head += (" AND " if self.where else " WHERE ") + " AND ".join(conditions)
        return f"{head}{self.order} LIMIT {self._mark(values, size)}", values

    async def read(
        self, where: Sequence[Where], size: int, ids: Sequence[int] | None = None
    ) -> list[Offer]:
        sql, values = self.page(where, size, ids)
        return await _select(self.db, sql, values)


def _moment(value: datetime) -> Any:
    return STARTS.to_db_value(value, Offer)


STARTS = Offer._meta.fields_map["starts_at"]


def _status(status: OfferStatus) -> Where:
    return '"status"={}', (status.value,)


def _after(offer: Offer) -> Where:
    """After ``offer`` in the walk's order: the first test a bound on the index, the second
    exact."""
    at = _moment(offer.starts_at)
    return '"starts_at">={} AND ("starts_at">{} OR ("starts_at"={} AND "id">{}))', (
        at,
        at,
        at,
        offer.id,
    )


def _up_to(offer: Offer) -> Where:
    """Up to ``offer`` (included) in the walk's order."""
    at = _moment(offer.starts_at)
    return '"starts_at"<={} AND ("starts_at"<{} OR ("starts_at"={} AND "id"<={}))', (
        at,
        at,
        at,
        offer.id,
    )


async def _select(db: BaseDBAsyncClient, sql: str, values: list[Any]) -> list[Offer]:
    """The offers of a statement, built as Tortoise builds them, faster
    (``models/partial_rows.py``: a walk reads a few hundred rows of a few columns)."""
    _, rows = await db.execute_query(sql, values)
    return partial_rows(Offer, rows)


async def _streams(
    walked: Walked, where: Sequence[Where], size: int, statuses: Sequence[OfferStatus]
) -> dict[OfferStatus, list[Offer]]:
    """The first ``size`` rows of each of ``statuses``, in one statement: each status's copy
    of the query walking its own index (``UNION ALL``), so that the few rows of the rarer
    statuses cost one round trip, not one each."""
    parts: list[str] = []
    params: list[Any] = []
    for n, status in enumerate(statuses):
        sql, values = walked.page([*where, _status(status)], size)
        if not walked.sqlite:  # numbered parameters: each copy's own
            sql = re.sub(r"\$(\d+)", _shifted(len(params)), sql)
        params += values
        parts.append(f"SELECT * FROM ({sql}) AS stream{n}")
    rows = await _select(walked.db, " UNION ALL ".join(parts), params)
    found: dict[OfferStatus, list[Offer]] = {status: [] for status in statuses}
    for row in rows:
        found[OfferStatus(row.status)].append(row)
    return found


def _shifted(by: int) -> Callable[[re.Match[str]], str]:
    """A parameter ``$n`` of a statement's copy, numbered after the ``by`` before it."""
    return lambda match: f"${int(match.group(1)) + by}"


async def _completed(
    page: list[Offer], rest: Sequence[str], db: BaseDBAsyncClient | None
) -> list[Offer]:
    """``page`` with its columns ``rest`` too, read by primary key: what a walk of the index
    alone could not read (a row deleted meanwhile is left out)."""
    if not rest or not page:
        return page
    rows = await by_id([offer.id for offer in page], rest, db)
    for offer in page:
        if offer.id in rows:
            for column in rest:
                setattr(offer, column, getattr(rows[offer.id], column))
    return [offer for offer in page if offer.id in rows]


async def by_id(
    ids: Sequence[int], columns: Iterable[str] | None = None, db: BaseDBAsyncClient | None = None
) -> dict[int, Offer]:
    """The offers ``ids`` that are still there, with their ``columns`` (None: all) and id, in
    one statement whose text does not change with their number (the ids are one parameter):
    asyncpg prepares each new text on its connection, a round trip more, parsed and planned
    again, and a list of placeholders made every page of results a new one."""
    db = db or connections.get("default")
    projection = Offer._meta.fields_db_projection
    wanted = projection if columns is None else {"id", *columns}
    names = ", ".join(f'"{projection[name]}"' for name in sorted(wanted))
    values: list[Any]
    if db.capabilities.dialect == "sqlite":
        among, values = "IN (SELECT value FROM json_each(?))", [json.dumps(list(ids))]
    else:
        among, values = "= ANY($1::int[])", [list(ids)]
    _, rows = await db.execute_query(f'SELECT {names} {TABLE} WHERE "id" {among}', values)
    return {offer.id: offer for offer in partial_rows(Offer, rows)}


def _first_size(wanted: int, keep: Callable[[Offer], bool] | None) -> int:
    """Where the tests in Python refuse rows, a first page asks for those too (the exact
    circle keeps about four in five rows of its box): among candidates every page reads them
    all, and a walk's second page costs more than the first's 25 more rows."""
    return max(wanted, 20) if keep is None else int(wanted * 1.3) + 10


async def _matching(
    walked: Walked,
    where: Sequence[Where],
    keep: Callable[[Offer], bool] | None,
    wanted: int,
    ids: Sequence[int] | None = None,
    rest: Sequence[str] = (),
    in_order: bool = False,
) -> list[Offer]:
    """The first ``wanted`` offers of the walk (with ``where``) that ``keep`` accepts (None:
    all), read a page at a time (never the whole of it), with their columns ``rest`` read
    afterwards. Each page after the first starts after the last offer read (its ``starts_at,
    id``), not at an ``OFFSET``: the index walk resumes there instead of passing again every
    row the pages before it passed."""
    if in_order and ids is not None:
        return await _in_order(walked, keep, wanted, ids)
    found: list[Offer] = []
    size = _first_size(wanted, keep)
    after: list[Where] = []
    while True:
        page = await walked.read([*where, *after], size, ids)
        rows = await _completed(page, rest, walked.db)
        kept = rows if keep is None else [offer for offer in rows if keep(offer)]
        found.extend(kept)
        if len(found) >= wanted or len(page) < size:
            return found[:wanted]
        after = [_after(page[-1])]
        # what is still missing, at the rate this page kept (the exact circle keeps about
        # four in five rows of its box), and a little more
        rate = max(len(kept), 1) / len(page)
        size = min(int((wanted - len(found)) / rate * 1.25) + 10, 1_000)


async def _in_order(
    walked: Walked,
    keep: Callable[[Offer], bool] | None,
    wanted: int,
    ids: Sequence[int],
) -> list[Offer]:
    """``_matching`` among ``ids`` already in the walk's order: each page reads the next of
    them (twice as many as the page before), not all of them to sort them."""
    found: list[Offer] = []
    start, size = 0, _first_size(wanted, keep)
    while start < len(ids) and len(found) < wanted:
        chunk = ids[start : start + size]
        page = await walked.read([], len(chunk), chunk)
        found.extend(page if keep is None else [o for o in page if keep(o)])
        start, size = start + len(chunk), 2 * size
    return found[:wanted]


async def walk(
    ordered: QuerySet[Offer],
    keep: Callable[[Offer], bool] | None,
    offset: int,
    limit: int,
    statuses: Sequence[OfferStatus] | None,
    *,
    ids: Sequence[int] | None = None,
    in_order: bool = False,
    rest: Sequence[str] = (),
    by_kind: bool = False,
) -> list[Offer]:
    """The page (``offset``, ``limit``) of ``ordered`` (in ``starts_at, id`` order, not
    limited) that ``keep`` accepts (None: every row), among ``statuses`` (None: any status,
    one stream) and ``ids`` if given (a few: the candidates of ``search_index.py``;
    ``in_order``: already in the walk's order). ``rest``: columns ``ordered`` leaves out (its
    filter and columns are ``COVERED``), read for the rows it finds, before ``keep``.
    ``by_kind``: ``ordered`` keeps one kind only."""
    wanted = offset + limit
    walked = await Walked.of(ordered, by_kind=by_kind)
    if not statuses:
        return (await _matching(walked, [], keep, wanted, ids, rest, in_order))[offset:]
    first, *others = statuses
    found = await _matching(walked, [_status(first)], keep, wanted, rest=rest)
    bounded = [_up_to(found[-1])] if len(found) == wanted else []
    if others:
        found.extend(await _others(walked, bounded, others, keep, wanted, rest))
    found.sort(key=lambda offer: (offer.starts_at, offer.id))
    return found[offset:wanted]


async def _others(
    walked: Walked,
    bounded: Sequence[Where],
    statuses: Sequence[OfferStatus],
    keep: Callable[[Offer], bool] | None,
    wanted: int,
    rest: Sequence[str],
) -> list[Offer]:
    """The first ``wanted`` offers ``keep`` accepts of each of ``statuses`` (up to the first
    stream's last row: ``bounded``): their first pages in one statement (``_streams``), then,
    for a status whose page was full and is still short, the usual walk after its last row."""
    size = _first_size(wanted, keep)
    pages = await _streams(walked, bounded, size, statuses)
    complete = await _completed([o for page in pages.values() for o in page], rest, walked.db)
    held = {offer.id for offer in complete}
    found: list[Offer] = []
    for status, page in pages.items():
        kept = [o for o in page if o.id in held and (keep is None or keep(o))][:wanted]
        found.extend(kept)
        if len(kept) < wanted and len(page) == size:
            where = [*bounded, _status(status), _after(page[-1])]
            found.extend(await _matching(walked, where, keep, wanted - len(kept), rest=rest))
    return found


async def first_matching(
    ordered: QuerySet[Offer], keep: Callable[[Offer], bool], offset: int, limit: int
) -> list[Offer]:
    """The page (``offset``, ``limit``) of the offers of ``ordered`` that ``keep`` accepts: a
    test the database cannot make (the exact distance; a field inside ``details``). Read a page
    at a time, in order, never the whole query (Tortoise builds every row of a query)."""
    found: list[Offer] = []
    skipped, start, page_size = 0, 0, min(2 * (offset + limit), 1_000)
    while True:
        page = await ordered.offset(start).limit(page_size)
        for offer in page:
            if not keep(offer):
                continue
            if skipped < offset:
                skipped += 1
                continue
            found.append(offer)
            if len(found) >= limit:
                return found
        if len(page) < page_size:
            return found
        start += page_size
