"""The dispatch board as the JSON API (and its page) shows it to a member of the coop. The
models here document the answer in the OpenAPI document.

No address and no contact appear here: a job shows its places by name and position (as the
search does), and only the assigned courier receives the exact addresses, in the acceptance.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from activitypub.offer_schema import Moment, Vehicle
from activitypub.offers import offer_url
from federation.services.dispatch import Board, BoardJob, BoardStatus, vehicle_of
from instance.booking_view import Person
from models.actors import LocalActor
from models.bookings import Booking, BookingState, Progress
from models.offers import Offer, OfferStatus


class Where(BaseModel):
    name: str
    latitude: float | None
    longitude: float | None


class Claim(BaseModel):
    """A courier's claim on a job (a booking of it)."""

    id: str | None = Field(
        description="For the job's author and the claimant: the id in /api/v1/bookings/{id} "
        "(the author assigns with POST /api/v1/bookings/{id}/accept)"
    )
    courier: Person = Field(description="Who claimed the job")
    ours: bool = Field(description="Made by a member of this coop")
    state: BookingState = Field(description="requested: waiting; accepted: assigned")
    created_at: Moment
    may_assign: bool = Field(description="The reader may assign the job to this courier")


class Holder(BaseModel):
    """The courier the job is assigned to."""

    courier: Person
    ours: bool = Field(description="A member of this coop")
    progress: Progress | None = Field(description="What the courier's side reported")
    progress_note: str
    assigned_at: Moment | None


class DispatchJob(BaseModel):
    """One job on the board."""

    id: str | None = Field(description="Local jobs only: the id in /api/v1/offers/{id}")
    ap_id: str = Field(description="The job's ActivityPub id")
    url: str = Field(description="The job's page")
    title: str
    local: bool = Field(description="Posted on this instance")
    instance: str = Field(description="The domain of the instance it was posted on")
    author: Person
    ours: bool = Field(description="Posted by a member of this coop")
    status: BoardStatus = Field(
        description="open; claimed (open, with claims waiting); assigned; picked_up; "
        "delivered; failed"
    )
    offer_status: OfferStatus = Field(description="The job's own status, as known here")
    starts_at: Moment = Field(description="The time window's start (the board's order)")
    ends_at: Moment | None = Field(description="The time window's end")
    timezone: str
    pickup: Where
    dropoff: Where | None
    vehicle: Vehicle | None = Field(description="The vehicle the job needs")
    price_cents: int | None
    currency: str
    claims: list[Claim] = Field(description="The claims that concern this coop, oldest first")
    holder: Holder | None = Field(
        description="Who holds the job, when it is this coop's job or this coop's courier"
    )


class DispatchBoard(BaseModel):
    """``GET /api/v1/dispatch``: a page of the reader's coop's board, by time window."""

    coop: Person
    items: list[DispatchJob]
    count: int
    offset: int
    limit: int


def _person(uri: str, name: str) -> Person:
    return Person(id=uri, name=name)


def _claim(job: BoardJob, claim: Booking, reader: LocalActor, members: set[int]) -> Claim:
    party = reader.id in (claim.booker_id, claim.author_id)
    return Claim(
        id=claim.local_uuid if party else None,
        courier=_person(claim.booker_uri, claim.booker_name),
        ours=claim.booker_id is not None and claim.booker_id in members,
        state=BookingState(claim.state),
        created_at=claim.created_at,
        may_assign=job.may_assign(claim, reader),
    )


def _holder(claim: Booking, members: set[int]) -> Holder:
    return Holder(
        courier=_person(claim.booker_uri, claim.booker_name),
        ours=claim.booker_id is not None and claim.booker_id in members,
        progress=Progress(claim.progress) if claim.progress else None,
        progress_note=claim.progress_note,
        assigned_at=claim.decided_at,
    )


def _job(job: BoardJob, reader: LocalActor, members: set[int]) -> DispatchJob:
    offer: Offer = job.offer
    has_dropoff = bool(offer.dest_name) or offer.dest_latitude is not None
    return DispatchJob(
        id=offer.local_uuid,
        ap_id=offer.ap_id,
        url=offer_url(offer),
        title=offer.title,
        local=offer.local_uuid is not None,
        instance=offer.instance_domain,
        author=_person(offer.author_uri, offer.author_name),
        ours=job.ours,
        status=job.status,
        offer_status=OfferStatus(offer.status),
        starts_at=offer.starts_at,
        ends_at=offer.ends_at,
        timezone=offer.timezone,
        pickup=Where(name=offer.place_name, latitude=offer.latitude, longitude=offer.longitude),
        dropoff=Where(
            name=offer.dest_name, latitude=offer.dest_latitude, longitude=offer.dest_longitude
        )
        if has_dropoff
        else None,
        vehicle=vehicle_of(offer),
        price_cents=offer.price_cents,
        currency=offer.currency,
        claims=[_claim(job, c, reader, members) for c in job.claims],
        holder=_holder(job.holder, members) if job.holder is not None else None,
    )


def board_to_api(board: Board, coop_uri: str, reader: LocalActor) -> dict[str, Any]:
    """The page of the board for ``reader``, a member of its coop."""
    coop = board.coop
    out = DispatchBoard(
        coop=_person(coop_uri, coop.name or coop.username),
        items=[_job(j, reader, board.members) for j in board.jobs],
        count=len(board.jobs),
        offset=board.params.offset,
        limit=board.params.limit,
    )
    return out.model_dump(mode="json")
