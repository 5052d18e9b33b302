"""Moments read back from the database: parsed by ciso8601's C parser (a dependency for that
reason: SQLite hands Tortoise text, and its pure-Python fallback costs 5.7 µs a value), and
equal to what was written, whatever the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import ciso8601
from tortoise.fields import data

from models.offers import Offer, OfferKind, OfferStatus, Purpose


def test_tortoise_parses_moments_with_ciso8601() -> None:
    assert data.parse_datetime is ciso8601.parse_datetime


async def test_moments_come_back_as_written(db: None) -> None:
    paris = timezone(timedelta(hours=1))
    starts = datetime(2027, 3, 1, 8, 30, 15, 123456, tzinfo=paris)
    moment = datetime(2026, 12, 5, 23, 59, 59, tzinfo=UTC)
    offer = await Offer.create(
        ap_id="https://x.example/o/moment",
        author_uri="https://x.example/u/a",
        instance_domain="x.example",
        kind=OfferKind.RIDE,
        purpose=Purpose.OFFER,
        status=OfferStatus.OPEN,
        title="Lyon → Grenoble",
        starts_at=starts,
        ends_at=None,
        published_at=moment,
        updated_at=moment,
        expires_at=starts + timedelta(days=1),
    )
    read = await Offer.get(id=offer.id)
    assert read.starts_at == starts and read.starts_at.utcoffset() is not None
    assert read.published_at == moment and read.ends_at is None
    assert read.expires_at - read.starts_at == timedelta(days=1)
