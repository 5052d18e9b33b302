"""Reading a search's page in time order (``starts_at, id``) from the indexes that have it.

The visible statuses are four; an index on ``(status, starts_at, id)`` is in time order for
one status only, and an index on ``(starts_at, id)`` alone walks through every closed and
expired offer of the past before the first visible one. So each status is walked on its own
and the streams are merged: the busiest status (open) first, until it fills the page; the
others then only up to the last offer that page holds (a page from them ends no later).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.offers import Offer, OfferStatus


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
        if conn.capabilities.dialect == "postgres":
            for setting in settings:
                await conn.execute_script(f"SET LOCAL {setting}")
        yield conn


WALK = ("enable_sort = off", "max_parallel_workers_per_gather = 0")
"""A walk reads a few hundred rows: starting parallel workers costs more than it saves."""


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
    if ids is None and not sqlite:
        return await query
    # what ``QuerySet._execute`` does, with the clauses Tortoise cannot write
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, values = query.query.get_parameterized_sql()
    table, order = f'FROM "{Offer._meta.db_table}"', " ORDER BY "
    if ids is None:  # SQLite: among one kind, that kind's index; else the statement as it is
        index = await _sqlite_kind_index(query._db) if '"kind"=?' in sql else None
        if index is not None and sql.count(table) == 1:
            sql = sql.replace(table, f'{table} INDEXED BY "{index}"')
    elif sql.count(table) != 1 or sql.count(order) != 1 or " WHERE " not in sql:
        raise UnexpectedQuery(sql)
    elif sqlite:
        sql = sql.replace(table, f"{table} NOT INDEXED")
        among = ' AND "id" IN (SELECT value FROM json_each(?))'
        # the new parameter goes before LIMIT and OFFSET's, as it comes first in the text
        head, tail = sql.split(order)
        values = [*values[: head.count("?")], json.dumps(list(ids)), *values[head.count("?") :]]
        sql = f"{head}{among}{order}{tail}"
    else:
        among = f"unnest(${len(values) + 1}::int[]) AS candidates(candidate)"
        sql = sql.replace(table, f'FROM {among} JOIN "offer" ON "offer"."id" = candidate')
        values = [*values, list(ids)]
    executor = query._db.executor_class(model=Offer, db=query._db)
    found: list[Offer] = await executor.execute_select(sql, values)
    return found


async def _matching(
    ordered: QuerySet[Offer],
    keep: Callable[[Offer], bool],
    wanted: int,
    ids: Sequence[int] | None = None,
) -> list[Offer]:
    """The first ``wanted`` offers of ``ordered`` that ``keep`` accepts, read a page at a time
    (Tortoise builds every row of a query: never the whole of it). Each page after the first
    starts after the last offer read (its ``starts_at, id``), not at an ``OFFSET``: the index
    walk resumes there instead of passing again every row the pages before it passed."""
    found: list[Offer] = []
    # among candidates every page reads them all: ask for what the tests in Python refuse
    # too (the exact circle keeps about four in five rows of its box)
    size = max(wanted, 20) if ids is None else int(wanted * 1.3) + 10
    query = ordered
    while True:
        page = await _read(query.limit(size), ids)
        kept = [offer for offer in page if keep(offer)]
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


async def walk(
    ordered: QuerySet[Offer],
    keep: Callable[[Offer], bool],
    offset: int,
    limit: int,
    statuses: Sequence[OfferStatus] | None,
    *,
    ids: Sequence[int] | None = None,
) -> list[Offer]:
    """The page (``offset``, ``limit``) of ``ordered`` (in ``starts_at, id`` order) that
    ``keep`` accepts, among ``statuses`` (None: any status, one stream) and ``ids`` if given (a
    few: the candidates of ``search_index.py``)."""
    wanted = offset + limit
    if not statuses:
        return (await _matching(ordered, keep, wanted, ids))[offset:]
    first, *others = statuses
    found = await _matching(ordered.filter(status=first), keep, wanted)
    last = found[-1] if len(found) == wanted else None
    for status in others:
        query = ordered.filter(status=status)
        if last is not None:
            query = query.filter(  # the first: a bound on the index, the second: exact
                Q(starts_at__lte=last.starts_at),
                Q(starts_at__lt=last.starts_at) | Q(starts_at=last.starts_at, id__lte=last.id),
            )
        found.extend(await _matching(query, keep, wanted))
    found.sort(key=lambda offer: (offer.starts_at, offer.id))
    return found[offset:wanted]
