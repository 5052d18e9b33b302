"""A coop's dispatch board: the delivery jobs it can see, who claimed them, who holds them.

Which jobs. Every posted delivery job (``kind`` delivery_job, ``purpose`` request) this
instance knows: local ones, whoever here posted them, and the copies of remote ones (received
because someone here follows their author or coop, or through a directory). The board is the
search's set of jobs, not a coop's private list: a courier coop dispatches jobs posted by
shops and by other coops. A courier's availability (``purpose`` offer) is not a job to
dispatch: it is booked from its page. Shown: open jobs until they expire; assigned and picked
up jobs whatever their date (someone still holds them); delivered and failed jobs for a day
after their time window, so that both sides see how it ended. Closed, cancelled and expired
jobs are not.

Which claims. A claim is a booking of the job. The board of coop C shows the claims that
concern C: those received by jobs of C's members (with the claimants' names, so that the
author can assign one) and those made by C's members (on jobs here or elsewhere, with their
state). Claims between other people are theirs, and stay off C's board; so does the holder of
a job when neither the job nor its holder is C's (the job then shows only as assigned).

Order. By the start of the time window, then by id: nothing is ranked by a score, people
choose. Filters: an area (a place and a radius, the search's own ``Area``) and the vehicle
the job needs.

Who assigns. The job's author, through ``accept_booking`` like any acceptance (the API's
``/accept``, the booking's page). Not the instance's admins: ``is_admin`` is the right to run
the instance (settings, queue, directories), not a dispatch role, and the assignment sends the
author's pickup and dropoff addresses to a courier as the author's own ``Accept``; a coop that
wants a dispatcher posts its jobs from that dispatcher's account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from tortoise.expressions import Q

from activitypub.bookings_input import Details
from activitypub.offer_schema import VEHICLES
from federation.context import Federation
from federation.services.bookings import booking_for
from federation.services.bookings_decide import accept_booking
from federation.services.limited import of_suspended_members
from federation.services.search import InvalidSearch, SearchParams, area_of, parse_search
from federation.services.search_walk import first_matching
from models.actors import ActorKind, LocalActor
from models.bookings import Booking, BookingState
from models.errors import NotFound
from models.offers import Offer, OfferKind, OfferStatus, Purpose

FINISHED_SHOWN = timedelta(days=1)
"""How long after its time window a delivered or failed job stays on the board."""
AREA_PARAMS = ("place", "lat", "lon", "radius_km", "limit", "offset")
"""The search's parameters the board takes (the same names, limits and refusals)."""
IN_HAND = (OfferStatus.ASSIGNED, OfferStatus.PICKED_UP)
FINISHED = (OfferStatus.DELIVERED, OfferStatus.FAILED)
SHOWN_CLAIMS = (
    BookingState.REQUESTED,
    BookingState.ACCEPTED,
    BookingState.DONE,
    BookingState.NOT_HAPPENED,
    BookingState.DECLINED,
)
"""A withdrawn (cancelled) or expired claim is no longer a claim."""
HOLDING = (BookingState.ACCEPTED, BookingState.DONE, BookingState.NOT_HAPPENED)


class BoardStatus(StrEnum):
    """A job as the board shows it: its offer's status, with ``claimed`` for an open job
    with claims waiting, and the holder's own progress when it is ahead of our copy."""

    OPEN = "open"
    CLAIMED = "claimed"
    ASSIGNED = "assigned"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    FAILED = "failed"


STEP = {
    BoardStatus.OPEN: 0,
    BoardStatus.CLAIMED: 1,
    BoardStatus.ASSIGNED: 2,
    BoardStatus.PICKED_UP: 3,
    BoardStatus.DELIVERED: 4,
    BoardStatus.FAILED: 4,
}


@dataclass(frozen=True)
class DispatchParams:
    where: SearchParams
    """The area and the page (``place`` or ``lat``/``lon``, ``radius_km``, ``limit``,
    ``offset``), read by the search's own parser."""
    vehicle: str | None = None

    @property
    def limit(self) -> int:
        return self.where.limit

    @property
    def offset(self) -> int:
        return self.where.offset


def parse_dispatch(query: Mapping[str, str]) -> DispatchParams:
    """The board's filters from a query string (the page and the API share them); other
    parameters are ignored, as the search does. ``InvalidSearch`` names the one refused."""
    where = parse_search({k: v for k, v in query.items() if k in AREA_PARAMS})
    vehicle = (query.get("vehicle") or "").strip() or None
    if vehicle is not None and vehicle not in VEHICLES:
        raise InvalidSearch("vehicle", "not_a_choice", choices=list(VEHICLES))
    return DispatchParams(where, vehicle)


@dataclass
class BoardJob:
    offer: Offer
    status: BoardStatus
    ours: bool
    """Posted by a member of the board's coop."""
    claims: list[Booking] = field(default_factory=list)
    """The claims that concern the coop, oldest first."""
    holder: Booking | None = None
    """The claim assigned, when the coop may know whose it is."""

    def may_assign(self, claim: Booking, member: LocalActor) -> bool:
        """Whether ``member`` sees an "assign" button for ``claim``: the job's author, on a
        job still open, for a claim still waiting."""
        return (
            self.offer.local_uuid is not None
            and self.offer.author_id == member.id
            and claim.state == BookingState.REQUESTED
            and self.status in (BoardStatus.OPEN, BoardStatus.CLAIMED)
        )


def vehicle_of(offer: Offer) -> str | None:
    """The vehicle a job needs (None: any), from its stored description."""
    found = (offer.details or {}).get("vehicle")
    return found if isinstance(found, str) and found in VEHICLES else None


def _shown(now: datetime) -> Q:
    recent = now - FINISHED_SHOWN
    ended_recently = Q(ends_at__gte=recent) | Q(ends_at__isnull=True, starts_at__gte=recent)
    return (
        Q(status=OfferStatus.OPEN, expires_at__gt=now)
        | Q(status__in=IN_HAND)
        | (Q(status__in=FINISHED) & ended_recently)
    )


def _status(offer: Offer, claims: list[Booking], holder: Booking | None) -> BoardStatus:
    try:
        status = BoardStatus(OfferStatus(offer.status).value)
    except ValueError:
        status = BoardStatus.OPEN
    if holder is not None:
        held = BoardStatus(holder.progress.value) if holder.progress else BoardStatus.ASSIGNED
        if STEP[held] > STEP[status]:  # our courier's report, before the author's Update
            status = held
    if status == BoardStatus.OPEN and any(c.state == BookingState.REQUESTED for c in claims):
        status = BoardStatus.CLAIMED
    return status


async def _members(coop: LocalActor) -> set[int]:
    return {int(row["id"]) for row in await LocalActor.filter(coop_id=coop.id).values("id")}


async def _claims(offers: list[Offer], members: set[int]) -> dict[int, list[Booking]]:
    """The claims on these jobs that concern the coop (its members' jobs, its members')."""
    ids = [o.id for o in offers]
    if not ids or not members:
        return {}
    found = (
        await Booking.filter(offer_id__in=ids, state__in=SHOWN_CLAIMS)
        .filter(Q(author_id__in=members) | Q(booker_id__in=members))
        .order_by("created_at", "id")
    )
    claims: dict[int, list[Booking]] = {}
    for booking in found:
        claims.setdefault(booking.offer_id or 0, []).append(booking)
    return claims


@dataclass
class Board:
    coop: LocalActor
    members: set[int]
    """The ids of the coop's members (whose claims and jobs the board details)."""
    jobs: list[BoardJob]
    params: DispatchParams


async def dispatch_board(
    coop: LocalActor, params: DispatchParams, *, now: datetime | None = None
) -> Board:
    """One page of the coop's board, by time window (see the module's docstring)."""
    query = Offer.filter(kind=OfferKind.DELIVERY_JOB, purpose=Purpose.REQUEST).filter(
        _shown(now or datetime.now(UTC))
    )
    hidden = await of_suspended_members()
    if hidden is not None:
        query = query.exclude(hidden)
    keep: list[Callable[[Offer], bool]] = []
    area = await area_of(params.where)
    if area is not None:
        query = query.filter(area.box())
        keep.append(area.contains)
    if params.vehicle is not None:
        vehicle = params.vehicle
        keep.append(lambda offer: vehicle_of(offer) == vehicle)
    ordered = query.order_by("starts_at", "id")
    if keep:
        offers = await first_matching(
            ordered, lambda o: all(test(o) for test in keep), params.offset, params.limit
        )
    else:
        offers = await ordered.offset(params.offset).limit(params.limit)
    members = await _members(coop)
    claims = await _claims(offers, members)
    jobs = []
    for offer in offers:
        mine = claims.get(offer.id, [])
        holder = next((c for c in reversed(mine) if c.state in HOLDING), None)
        jobs.append(
            BoardJob(
                offer=offer,
                status=_status(offer, mine, holder),
                ours=offer.author_id is not None and offer.author_id in members,
                claims=mine,
                holder=holder,
            )
        )
    return Board(coop, members, jobs, params)


async def board_coop(member: LocalActor, name: str | None = None) -> LocalActor:
    """The coop whose board ``member`` reads: their own (``name``, when given, must be it).
    Claims and names on a board are for its coop's members: any other coop is a 404."""
    coop = None
    if member.coop_id is not None:
        coop = await LocalActor.get_or_none(id=member.coop_id, kind=ActorKind.COOP)
    if coop is None or coop.deleted_at is not None or (name is not None and coop.username != name):
        raise NotFound(
            f"{member.username} may not read the board of {name or 'no coop'}",
            "No such dispatch board",
        )
    return coop


async def assign(
    fed: Federation, author: LocalActor, booking_uuid: str, details: Details | None = None
) -> Booking:
    """The author assigns their job to the courier of one claim: the claim is accepted
    (``accept_booking``: the other claims declined, the courier told, the job's copies
    updated). A booking that is not a claim on a posted job is not on any board (404)."""
    claim = await booking_for(author, booking_uuid)
    if claim.kind != OfferKind.DELIVERY_JOB or claim.purpose != Purpose.REQUEST:
        raise NotFound(f"booking {claim.ap_id} is not a claim on a job", "No such claim")
    return await accept_booking(fed, author, claim, details)
