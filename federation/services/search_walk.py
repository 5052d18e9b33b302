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
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
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
"""The columns the walked indexes hold on PostgreSQL (migration 0018): a walk whose filter
and columns are among them reads the index alone."""

KIND_ORDER = ["kind", "status", "starts_at", "id"]
"""The columns of the index a walk among one kind reads (``Offer.Meta``)."""
_kind_index: list[str] = []
"""Its name on SQLite, once read (Tortoise names it after a hash of its columns)."""


async def _sqlite_kind_index(db: BaseDBAsyncClient) -> str | None:
    if not _kind_index:
        _, indexes = await db.execute_query("SELECT name FROM pragma_index_list('offer')")
        for index in indexes:
            _, columns = await db.execute_query(
                "SELECT name FROM pragma_index_info(?) ORDER BY seqno", [index["name"]]
            )
            if [c["name"] for c in columns] == KIND_ORDER:
                _kind_index.append(index["name"])
    return _kind_index[0] if _kind_index else None


async def _read(query: QuerySet[Offer], ids: Sequence[int] | None) -> list[Offer]:
    """The rows of ``query``, among ``ids`` when given (the few candidates an index named).

    The ids go as one parameter (an array; a JSON list on SQLite): Tortoise would write two
    thousand placeholders, and building that statement costs more than running it. SQLite's
    planner, without statistics, would rather find them through an index on kind or status
    (all rides, say) than look them up: it is told to use no index but the rowid. On
    PostgreSQL the rows are joined to the ids (``unnest``), looked up by primary key whatever
    the statistics say: without them (before autovacuum's first ``ANALYZE``) ``id = ANY(…)``
    became a scan of every visible offer, 10× slower. A walk among one kind, on SQLite, is
    told to read the index of that kind: a page that resumes after its last row (or a stream
    bounded by another's last row) made it prefer the index of all kinds, and read every
    offer of the window (rides of an area by dates: 40 ms instead of 4)."""
    sqlite = query.capabilities.dialect == "sqlite"
    sql, values = await _statement(query, walk=ids is None, where=ids is not None)
    if ids is not None and sqlite:
        sql = sql.replace(TABLE, f"{TABLE} NOT INDEXED")
        among = ' AND "id" IN (SELECT value FROM json_each(?))'
        # the new parameter goes before LIMIT and OFFSET's, as it comes first in the text
        head, tail = sql.split(ORDER)
        values = [*values[: head.count("?")], json.dumps(list(ids)), *values[head.count("?") :]]
        sql = f"{head}{among}{ORDER}{tail}"
    elif ids is not None:
        among = f"unnest(${len(values) + 1}::int[]) AS candidates(candidate)"
        sql = sql.replace(TABLE, f'FROM {among} JOIN "offer" ON "offer"."id" = candidate')
        values = [*values, list(ids)]
    return await _select(query, sql, values)


TABLE, ORDER = f'FROM "{Offer._meta.db_table}"', " ORDER BY "


async def _statement(query: QuerySet[Offer], *, walk: bool, where: bool) -> tuple[str, list[Any]]:
    """What ``QuerySet._execute`` would send, as text and parameters, to add the clauses
    Tortoise cannot write; on SQLite, a ``walk`` among one kind names that kind's index.
    ``UnexpectedQuery`` unless it has one ``FROM "offer"``, one ``ORDER BY`` and (``where``)
    a ``WHERE``."""
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, values = query.query.get_parameterized_sql()
    if sql.count(TABLE) != 1 or sql.count(ORDER) != 1 or (where and " WHERE " not in sql):
        raise UnexpectedQuery(sql)
    if walk and query.capabilities.dialect == "sqlite" and '"kind"=?' in sql:
        index = await _sqlite_kind_index(query._db)
        if index is not None:
            sql = sql.replace(TABLE, f'{TABLE} INDEXED BY "{index}"')
    return sql, list(values)


async def _select(query: QuerySet[Offer], sql: str, values: list[Any]) -> list[Offer]:
    """The offers of a statement ``query`` made, built as Tortoise builds them, faster
    (``models/partial_rows.py``: a walk reads a few hundred rows of a few columns)."""
    _, rows = await query._db.execute_query(sql, values)
    return partial_rows(Offer, rows)


async def _streams(
    query: QuerySet[Offer], statuses: Sequence[OfferStatus]
) -> dict[OfferStatus, list[Offer]]:
    """The rows of ``query`` (ordered, limited) of each of ``statuses``, in one statement:
    the query built once, each status's copy of it walking its own index (``UNION ALL``), so
    that the few rows of the rarer statuses cost one round trip and one build, not one each."""
    sql, values = await _statement(query, walk=True, where=True)
    head, tail = sql.split(ORDER)
    parts: list[str] = []
    params: list[Any] = []
    for n, status in enumerate(statuses):
        if query.capabilities.dialect == "sqlite":
            part = f'{head} AND "status"=?{ORDER}{tail}'
            at = head.count("?")  # the new parameter comes before LIMIT's, as in the text
            params += [*values[:at], status.value, *values[at:]]
        else:  # numbered parameters: each copy's own
            part = f'{head} AND "status"=${len(values) + 1}{ORDER}{tail}'
            part = re.sub(r"\$(\d+)", _shifted(len(params)), part)
            params += [*values, status.value]
        parts.append(f"SELECT * FROM ({part}) AS stream{n}")
    rows = await _select(query, " UNION ALL ".join(parts), params)
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
    ordered: QuerySet[Offer],
    keep: Callable[[Offer], bool] | None,
    wanted: int,
    ids: Sequence[int] | None = None,
    rest: Sequence[str] = (),
    in_order: bool = False,
) -> list[Offer]:
    """The first ``wanted`` offers of ``ordered`` that ``keep`` accepts (None: all), read a
    page at a time (Tortoise builds every row of a query: never the whole of it), with their
    columns ``rest`` read afterwards. Each page after the first starts after the last offer
    read (its ``starts_at, id``), not at an ``OFFSET``: the index walk resumes there instead
    of passing again every row the pages before it passed."""
    if in_order and ids is not None:
        return await _in_order(ordered, keep, wanted, ids)
    found: list[Offer] = []
    size = _first_size(wanted, keep)
    query = ordered
    while True:
        page = await _read(query.limit(size), ids)
        rows = await _completed(page, rest, ordered._db)
        kept = rows if keep is None else [offer for offer in rows if keep(offer)]
        found.extend(kept)
        if len(found) >= wanted or len(page) < size:
            return found[:wanted]
        last = page[-1]
        query = ordered.filter(  # the first: a bound on the index, the second: exact
            Q(starts_at__gte=last.starts_at),
            Q(starts_at__gt=last.starts_at) | Q(starts_at=last.starts_at, id__gt=last.id),
        )
        # what is still missing, at the rate this page kept (the exact circle keeps about
        # four in five rows of its box), and a little more
        rate = max(len(kept), 1) / len(page)
        size = min(int((wanted - len(found)) / rate * 1.25) + 10, 1_000)


async def _in_order(
    ordered: QuerySet[Offer],
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
        page = await _read(ordered.limit(len(chunk)), chunk)
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
) -> list[Offer]:
    """The page (``offset``, ``limit``) of ``ordered`` (in ``starts_at, id`` order) that
    ``keep`` accepts (None: every row), among ``statuses`` (None: any status, one stream) and
    ``ids`` if given (a few: the candidates of ``search_index.py``; ``in_order``: already in
    the walk's order). ``rest``: columns ``ordered`` leaves out (its filter and columns are
    ``COVERED``), read for the rows it finds, before ``keep``."""
    wanted = offset + limit
    if not statuses:
        return (await _matching(ordered, keep, wanted, ids, rest, in_order))[offset:]
    first, *others = statuses
    found = await _matching(ordered.filter(status=first), keep, wanted, rest=rest)
    last = found[-1] if len(found) == wanted else None
    bounded = ordered
    if last is not None:
        bounded = ordered.filter(  # the first: a bound on the index, the second: exact
            Q(starts_at__lte=last.starts_at),
            Q(starts_at__lt=last.starts_at) | Q(starts_at=last.starts_at, id__lte=last.id),
        )
    if others:
        found.extend(await _others(bounded, others, keep, wanted, rest))
    found.sort(key=lambda offer: (offer.starts_at, offer.id))
    return found[offset:wanted]


async def _others(
    bounded: QuerySet[Offer],
    statuses: Sequence[OfferStatus],
    keep: Callable[[Offer], bool] | None,
    wanted: int,
    rest: Sequence[str],
) -> list[Offer]:
    """The first ``wanted`` offers ``keep`` accepts of each of ``statuses``: their first pages
    in one statement (``_streams``), then, for a status whose page was full and is still
    short, the usual walk after its last row."""
    size = _first_size(wanted, keep)
    pages = await _streams(bounded.limit(size), statuses)
    complete = await _completed([o for page in pages.values() for o in page], rest, bounded._db)
    held = {offer.id for offer in complete}
    found: list[Offer] = []
    for status, page in pages.items():
        kept = [o for o in page if o.id in held and (keep is None or keep(o))][:wanted]
        found.extend(kept)
        if len(kept) < wanted and len(page) == size:
            last = page[-1]
            after = bounded.filter(status=status).filter(
                Q(starts_at__gte=last.starts_at),
                Q(starts_at__gt=last.starts_at) | Q(starts_at=last.starts_at, id__gt=last.id),
            )
            found.extend(await _matching(after, keep, wanted - len(kept), rest=rest))
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
