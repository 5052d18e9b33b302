"""Saved searches and their alerts: a member keeps a search (kind, place and radius, dates,
seats, words); an open offer that arrives later, from this instance or any other, and that the
search would find, is recorded once as an ``AlertMatch``. The home page and the member's
private Atom feed list them.

What "matches" means is the search's own rules (``search.offer_matches``), asked of the one
offer when it is stored or changed (``offers.py`` calls ``match_offer``): a saved search can
never disagree with the search page. A place is resolved once, when the search is saved, and
kept as coordinates beside the name the member typed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Case, Q, Subquery, When
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from federation.services.search import VISIBLE, SearchParams, area_of, narrowed
from models.actors import LocalActor
from models.alerts import AlertMatch, SavedSearch
from models.errors import Conflict, Malformed, NotFound
from models.offers import Offer, OfferKind, OfferStatus, Purpose

log = logging.getLogger(__name__)

MAX_SEARCHES = 20
"""Saved searches per member: each one is tested against every offer that arrives."""
MAX_NAME = 200


class TooManySearches(Conflict):
    public_message = "You have too many saved searches: delete one first."


class EmptySearch(Malformed):
    public_message = "Choose at least one criterion to save a search."


@dataclass(frozen=True)
class Alert:
    """A match as the pages and the feed show it: the offer, the search it matched, when."""

    offer: Offer
    search: SavedSearch
    matched_at: datetime
    new: bool


# --- the member's saved searches --------------------------------------------------------------


async def saved_searches(member: LocalActor) -> list[SavedSearch]:
    return await SavedSearch.filter(member_id=member.id).order_by("id")


async def save_search(member: LocalActor, params: SearchParams, name: str = "") -> SavedSearch:
    """Keep ``params`` (a search the page ran) for ``member``; the place, if named, resolved
    now (``InvalidSearch`` for a place nobody knows)."""
    criteria = (params.kind, params.purpose, params.place, params.latitude, params.date_from)
    if all(c is None for c in (*criteria, params.date_to, params.min_quantity, params.text)):
        raise EmptySearch(f"{member.username} saved a search without criteria")
    if await SavedSearch.filter(member_id=member.id).count() >= MAX_SEARCHES:
        raise TooManySearches(f"{member.username} has {MAX_SEARCHES} saved searches")
    area = await area_of(params)
    search = await SavedSearch.create(
        member_id=member.id,
        name=name.strip()[:MAX_NAME],
        kind=params.kind.value if params.kind else None,
        purpose=params.purpose.value if params.purpose else None,
        place=params.place[:200] if params.place and params.latitude is None else None,
        latitude=area.latitude if area else None,
        longitude=area.longitude if area else None,
        radius_km=params.radius_km,
        date_from=params.date_from,
        date_to=params.date_to,
        min_quantity=params.min_quantity,
        text=params.text[:200] if params.text else None,
        created_at=datetime.now(UTC),
    )
    log.info("search saved", extra={"member": member.username, "search": search.id})
    return search


async def delete_search(member: LocalActor, search_id: int) -> None:
    """Delete one of the member's searches (someone else's is 404, as an unknown one)."""
    if not await SavedSearch.filter(id=search_id, member_id=member.id).delete():
        raise NotFound(f"no saved search {search_id} for {member.username}", "No such search")


def params_of(search: SavedSearch) -> SearchParams:
    """The search a saved one stands for (its place already as coordinates)."""
    return SearchParams(
        kind=OfferKind(search.kind) if search.kind else None,
        purpose=Purpose(search.purpose) if search.purpose else None,
        latitude=search.latitude,
        longitude=search.longitude,
        radius_km=search.radius_km,
        date_from=search.date_from,
        date_to=search.date_to,
        min_quantity=search.min_quantity,
        text=search.text,
    )


# --- matching ----------------------------------------------------------------------------------


async def match_offer(offer: Offer, searches: list[SavedSearch] | None = None) -> int:
    """Record each saved search that finds ``offer``, once per search; how many are new. Only
    an open offer matches, and never one of the member's own. ``searches``: the candidates
    read already for several offers (``candidate_searches``), else read here.

    The search's rules are ``search.narrowed`` (and its tests made in Python): here the tests
    in Python come first for every saved search, and those that pass are asked of the database
    in one statement (``_found``), not one query per saved search."""
    if offer.status != OfferStatus.OPEN:
        return 0
    if searches is None:
        searches = await candidate_searches([offer])
    asked: list[tuple[SavedSearch, QuerySet[Offer]]] = []
    for search in searches:
        if _cannot_match(offer, search):
            continue
        params = params_of(search)
        query, keeps = narrowed(Offer.filter(id=offer.id), params)
        area = await area_of(params)
        if area is not None:
            keeps.append(area.contains)
        if all(keep(offer) for keep in keeps):
            asked.append((search, query))
    new = await _record(offer, await _found(offer, asked))
    if new:
        log.info("offer matched saved searches", extra={"offer": offer.ap_id, "matches": new})
    return new


async def candidate_searches(offers: list[Offer]) -> list[SavedSearch]:
    """The saved searches that may find one of ``offers`` (open ones): of an active member,
    for any kind or one of theirs; one query, none when no offer is open. ``match_offer``
    leaves out, per offer, those of another kind and the author's own."""
    kinds = sorted({_value(o.kind) for o in offers if o.status == OfferStatus.OPEN})
    if not kinds:
        return []
    return await SavedSearch.filter(
        Q(kind__isnull=True) | Q(kind__in=kinds),
        member__disabled=False,
        member__deleted_at__isnull=True,
    )


async def _record(offer: Offer, found: list[SavedSearch]) -> int:
    """One ``AlertMatch`` per search of ``found`` (those recorded already kept as they are);
    how many are new. Two statements (the ones recorded, then the others inserted at once);
    if another process records one meanwhile, row by row as ``get_or_create`` does."""
    if not found:
        return 0
    ids = [search.id for search in found]
    recorded: set[Any] = set(
        await AlertMatch.filter(offer_id=offer.id, search_id__in=ids).values_list(
            "search_id", flat=True
        )
    )
    missing = [search for search in found if search.id not in recorded]
    if not missing:
        return 0
    now = datetime.now(UTC)
    rows = [
        AlertMatch(search_id=s.id, offer_id=offer.id, member_id=s.member_id, matched_at=now)
        for s in missing
    ]
    try:
        async with in_transaction():
            await AlertMatch.bulk_create(rows)
    except IntegrityError:
        new = 0
        for search in missing:
            _, created = await AlertMatch.get_or_create(
                search_id=search.id,
                offer_id=offer.id,
                defaults={"member_id": search.member_id, "matched_at": now},
            )
            new += int(created)
        return new
    return len(rows)


def _cannot_match(offer: Offer, search: SavedSearch) -> bool:
    """A criterion the offer fails for certain, seen without the database: another kind, the
    author's own search, another purpose, fewer places than asked (an unknown number is never
    enough, as ``NULL >= n`` in SQL)."""
    if search.kind is not None and search.kind != _value(offer.kind):
        return True
    if offer.author_id is not None and search.member_id == offer.author_id:
        return True
    if search.purpose is not None and search.purpose != _value(offer.purpose):
        return True
    if search.min_quantity is None:
        return False
    return offer.quantity_available is None or offer.quantity_available < search.min_quantity


def _value(field: Any) -> Any:
    return field.value if isinstance(field, Enum) else field


FOUND_PER_STATEMENT = 50
"""Saved searches asked of the database in one statement (each a subquery with a dozen
parameters: well within SQLite's and PostgreSQL's limits)."""


async def _found(
    offer: Offer, asked: list[tuple[SavedSearch, QuerySet[Offer]]]
) -> list[SavedSearch]:
    """The searches of ``asked`` whose query finds the offer's row: one statement, a column
    per search (``EXISTS`` of its query), for up to ``FOUND_PER_STATEMENT`` searches."""
    found: list[SavedSearch] = []
    for start in range(0, len(asked), FOUND_PER_STATEMENT):
        chunk = asked[start : start + FOUND_PER_STATEMENT]
        columns = {
            f"s{i}": Case(When(Q(id__in=Subquery(query.values("id"))), then="1"), default="0")
            for i, (_, query) in enumerate(chunk)
        }
        rows = await Offer.filter(id=offer.id).annotate(**columns).values(*columns)
        for row in rows:
            found += [search for i, (search, _) in enumerate(chunk) if int(row[f"s{i}"])]
    return found


async def matched(offer: Offer) -> Offer:
    """``offer``, after recording the saved searches it matches (for ``return`` lines)."""
    await match_offer(offer)
    return offer


# --- what the member sees ----------------------------------------------------------------------


async def recent_alerts(member: LocalActor, limit: int) -> list[Alert]:
    """The member's latest matches, newest first, one per offer, offers still visible."""
    rows = (
        await AlertMatch.filter(member_id=member.id, offer__status__in=VISIBLE)
        .order_by("-matched_at", "-id")
        .limit(limit * 2)
        .prefetch_related("offer", "search")
    )
    alerts: dict[int, Alert] = {}
    for row in rows:
        if row.offer_id not in alerts:
            alerts[row.offer_id] = Alert(row.offer, row.search, row.matched_at, not row.seen_at)
    return list(alerts.values())[:limit]


async def mark_seen(member: LocalActor) -> None:
    await AlertMatch.filter(member_id=member.id, seen_at__isnull=True).update(
        seen_at=datetime.now(UTC)
    )
