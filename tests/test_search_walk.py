"""The time-ordered walk of ``search_walk.walk``: status streams merged, the rarer statuses' first
pages read in one statement, and a stream whose first page was full but short of matches walked
on after its last row; the page is always the plain one (every row read, filtered, sorted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from federation.services.search import VISIBLE
from federation.services.search_walk import walk
from models.offers import Offer, OfferKind, OfferStatus, Purpose

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _offer(n: int, status: OfferStatus, hours: int) -> Offer:
    return Offer(
        ap_id=f"https://x.example/offers/{n}",
        author_uri="https://x.example/users/a",
        instance_domain="x.example",
        kind=OfferKind.RIDE,
        purpose=Purpose.OFFER,
        status=status,
        title=f"ride {n}",
        starts_at=NOW + timedelta(hours=hours),
        details={"n": n},
        published_at=NOW,
        updated_at=NOW,
        expires_at=NOW + timedelta(days=30),
    )


@pytest.fixture
async def offers(db: None) -> None:
    """Open rides late, many full rides early (so the full stream, bounded by the open
    stream's last row, holds more than a page), a few of the other statuses."""
    made = [_offer(n, OfferStatus.OPEN, 100 + n) for n in range(40)]
    made += [_offer(100 + n, OfferStatus.FULL, n) for n in range(90)]
    made += [_offer(200 + n, OfferStatus.ASSIGNED, 3 * n) for n in range(10)]
    made += [_offer(300 + n, OfferStatus.CLOSED, n) for n in range(10)]
    await Offer.bulk_create(made)


@pytest.mark.parametrize("rest", [(), ("details",)])
@pytest.mark.parametrize(("offset", "limit"), [(0, 5), (3, 7), (0, 50)])
async def test_a_walk_gives_the_plain_page(
    offers: None, rest: tuple[str, ...], offset: int, limit: int
) -> None:
    """A test in Python that refuses four rows in five: the full stream's first page (its
    first 16 rows) keeps too few, so it is walked on after its last row."""

    def keep(offer: Offer) -> bool:
        assert not rest or offer.details  # the columns left out are read before the test
        return offer.details["n"] % 5 == 0

    everything = await Offer.filter(status__in=VISIBLE).order_by("starts_at", "id")
    plain = [o.id for o in everything if keep(o)][offset : offset + limit]
    columns = ["id", "starts_at", "status"] + ([] if rest else ["details"])
    ordered = Offer.filter(status__in=VISIBLE).order_by("starts_at", "id").only(*columns)
    page = await walk(ordered, keep, offset, limit, VISIBLE, rest=rest)
    assert [o.id for o in page] == plain
    assert all(o.status in VISIBLE for o in page)
