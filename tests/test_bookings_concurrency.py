"""Capacity under concurrency, on SQLite and PostgreSQL: 50 requests at once for 3 seats
confirm exactly 3, and what is available never goes below zero (on PostgreSQL the tasks run
on several pooled connections, so the database, not the event loop, decides)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

from activitypub.bookings_errors import BookingRefused
from activitypub.bookings_input import BookingAsk
from federation.context import Federation
from federation.services.accounts import create_actor
from federation.services.bookings import request_booking
from federation.services.bookings_decide import accept_booking
from federation.services.offers import create_offer
from federation.signatures import generate_rsa_keypair
from models.actors import ActorKind, LocalActor
from models.bookings import Booking, BookingState
from models.offers import Offer, OfferStatus
from tests import offer_samples as samples

MANY = 50


async def _members(coop: LocalActor, n: int) -> list[LocalActor]:
    """Many members at once: one key pair shared (generating 50 is slow, and unused here)."""
    private, public = generate_rsa_keypair()
    return [
        await LocalActor.create(
            kind=ActorKind.MEMBER,
            username=f"p{i}",
            coop=coop,
            private_key_pem=private,
            public_key_pem=public,
        )
        for i in range(n)
    ]


async def _ride(fed: Federation, author: LocalActor, *, auto: bool) -> Offer:
    body = samples.ride()
    body["ride"]["auto_accept"] = auto
    return await create_offer(fed, author, body)


def _outcomes(results: list[BaseException | Booking]) -> tuple[int, list[str]]:
    refused = [r for r in results if isinstance(r, BaseException)]
    unexpected = [r for r in refused if not isinstance(r, BookingRefused)]
    assert unexpected == [], unexpected
    return len(results) - len(refused), [r.code for r in refused if isinstance(r, BookingRefused)]


async def test_fifty_requests_at_once_confirm_exactly_three_seats(
    fed: Federation, coop: LocalActor, member: LocalActor
) -> None:
    ride = await _ride(fed, member, auto=True)
    bookers = await _members(coop, MANY)
    results = await asyncio.gather(
        *(request_booking(fed, b, ride, BookingAsk(quantity=1)) for b in bookers),
        return_exceptions=True,
    )
    confirmed, codes = _outcomes(list(results))
    assert confirmed == 3
    assert set(codes) <= {"not_enough", "offer_not_open"} and len(codes) == MANY - 3
    assert await Booking.filter(state=BookingState.ACCEPTED).count() == 3
    assert await Booking.all().count() == 3  # a refusal leaves nothing behind
    after = await Offer.get(id=ride.id)
    assert (after.quantity_available, after.status) == (0, OfferStatus.FULL)


async def test_fifty_acceptances_at_once_take_only_what_is_there(
    fed: Federation, coop: LocalActor, member: LocalActor
) -> None:
    ride = await _ride(fed, member, auto=False)
    bookers = await _members(coop, MANY)
    asks = [BookingAsk(quantity=2 if i % 2 else 1) for i in range(MANY)]
    requests = [await request_booking(fed, b, ride, a) for b, a in zip(bookers, asks, strict=True)]
    assert await Booking.filter(state=BookingState.REQUESTED).count() == MANY
    results = await asyncio.gather(
        *(accept_booking(fed, member, r) for r in requests), return_exceptions=True
    )
    _outcomes(list(results))
    taken = sum(b.quantity for b in await Booking.filter(state=BookingState.ACCEPTED))
    after = await Offer.get(id=ride.id)
    assert after.quantity_available is not None and after.quantity_available >= 0
    assert taken + after.quantity_available == 3
    assert taken >= 2  # the first acceptance always fits
    assert await Offer.filter(quantity_available__lt=0).count() == 0


async def test_concurrent_stays_never_share_a_night(
    fed: Federation, coop: LocalActor, member: LocalActor
) -> None:
    body = samples.stay()
    body["stay"]["auto_accept"] = True
    stay = await create_offer(fed, member, body)
    bookers = await _members(coop, 20)
    first = stay.starts_at + timedelta(hours=2)
    asks = [
        BookingAsk(
            starts_at=first + timedelta(days=i % 3), ends_at=first + timedelta(days=2 + i % 3)
        )
        for i in range(20)
    ]
    results = await asyncio.gather(
        *(request_booking(fed, b, stay, a) for b, a in zip(bookers, asks, strict=True)),
        return_exceptions=True,
    )
    confirmed, codes = _outcomes(list(results))
    held = await Booking.filter(state=BookingState.ACCEPTED).order_by("starts_at")
    assert confirmed == len(held) >= 1
    assert set(codes) <= {"overlap"}
    for earlier, later in itertools.pairwise(held):
        assert earlier.ends_at is not None and later.starts_at is not None
        assert earlier.ends_at <= later.starts_at


async def test_a_single_member_cannot_book_past_the_seats(
    fed: Federation, member: LocalActor
) -> None:
    """The same rule without concurrency, for the record: 3 seats, asking 4 is refused."""
    ride = await _ride(fed, member, auto=True)
    other = await create_actor(ActorKind.MEMBER, "solo")
    try:
        await request_booking(fed, other, ride, BookingAsk(quantity=4))
    except BookingRefused as exc:
        assert exc.code == "not_enough"
    else:
        raise AssertionError("4 seats of 3 were booked")
    assert await Booking.all().count() == 0
