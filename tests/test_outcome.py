"""federation.outcome: which failures are retried, Retry-After, the backoff schedule (pure)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from federation.outcome import Outcome, is_retryable, next_delay, outcome_of, parse_retry_after
from federation.settings import FederationSettings
from models.errors import (
    Blocked,
    Gone,
    Malformed,
    NotFound,
    PayloadTooLarge,
    RemoteUnavailable,
    SignatureInvalid,
)

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
DEFAULTS = FederationSettings()


@pytest.mark.parametrize("status", [None, 500, 502, 503, 504, 599, 401, 408, 429])
def test_retryable(status: int | None) -> None:
    assert is_retryable(status)


@pytest.mark.parametrize("status", [400, 403, 404, 405, 410, 413, 422])
def test_final(status: int) -> None:
    assert not is_retryable(status)


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (RemoteUnavailable("peer down"), Outcome.RETRY),
        (NotFound("nothing of ours"), Outcome.IGNORE),
        (Gone("deleted"), Outcome.IGNORE),
        # what can never succeed fails at once, with its reason (the issue: "marked failed")
        (Malformed("latitude past a float"), Outcome.FAIL),
        (PayloadTooLarge("too big"), Outcome.FAIL),
        (SignatureInvalid("forged"), Outcome.FAIL),
        (Blocked("blocked"), Outcome.FAIL),
        (RuntimeError("a bug"), Outcome.RETRY),  # may pass once coopub is fixed
    ],
)
def test_outcome_of(exc: BaseException, outcome: Outcome) -> None:
    assert outcome_of(exc) is outcome


def test_retry_after_seconds() -> None:
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after("  7 ", NOW) == 7.0
    assert parse_retry_after("0", NOW) == 0.0


def test_retry_after_http_date() -> None:
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == 90
    assert parse_retry_after("Sat, 14 Mar 2026 16:09:26 GMT", NOW) == 3600
    # the same instant in another zone, and RFC 850 / asctime forms that are in the past
    assert parse_retry_after("Sat, 14 Mar 2026 17:09:26 +0100", NOW) == 3600
    assert parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", NOW) == 0.0
    assert parse_retry_after("Sun Nov  6 08:49:37 1994", NOW) == 0.0


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "soon",
        "-5",
        "1.5",
        "12 Jan",
        "Mon, 99 Jan 2026 00:00:00 GMT",
        "²",  # str.isdigit() is true for superscripts, float() is not
        "1²",
        "Mon, 01 Jan 2026 00:00:00 +99999999999999999999",  # OverflowError in the date parser
    ],
)
def test_retry_after_garbage_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_delay_grows_exponentially() -> None:
    # The same seed draws the same jitter factor, so consecutive delays double exactly.
    delays = [next_delay(n, DEFAULTS, rng=random.Random(7)) for n in range(1, 11)]
    for previous, current in itertools.pairwise(delays):
        assert current == pytest.approx(2 * previous)
    assert next_delay(1, DEFAULTS, rng=random.Random(7)) == delays[0]  # deterministic


def test_delay_stays_in_the_jitter_band() -> None:
    rng = random.Random(2026)
    for attempts in range(1, 20):
        nominal = min(DEFAULTS.retry_max_delay_seconds, 60.0 * 2 ** (attempts - 1))
        samples = [next_delay(attempts, DEFAULTS, rng=rng) for _ in range(200)]
        assert all(0.5 * nominal <= d <= nominal for d in samples), attempts
        # and it is really jittered across the band, not a constant
        assert max(samples) - min(samples) > 0.3 * nominal


def test_first_retry_is_between_half_and_one_base() -> None:
    settings = FederationSettings(retry_base_seconds=10)
    rng = random.Random(1)
    assert all(5 <= next_delay(1, settings, rng=rng) <= 10 for _ in range(100))


def test_delay_is_capped_at_one_day() -> None:
    assert DEFAULTS.retry_max_delay_seconds == 86_400
    rng = random.Random(3)
    for attempts in (12, 20, 64, 65, 1_000, 5_000):  # large counts must not overflow either
        assert 43_200 <= next_delay(attempts, DEFAULTS, rng=rng) <= 86_400
    small = FederationSettings(retry_base_seconds=60, retry_max_delay_seconds=100)
    assert all(50 <= next_delay(10, small, rng=rng) <= 100 for _ in range(50))


def test_retry_after_is_a_floor() -> None:
    rng = random.Random(5)
    assert next_delay(1, DEFAULTS, retry_after=120, rng=rng) == 120
    assert next_delay(1, DEFAULTS, retry_after=5_000, rng=rng) == 5_000
    # a shorter Retry-After never shortens the backoff
    assert 30 <= next_delay(1, DEFAULTS, retry_after=1, rng=rng) <= 60
    assert 16 * 30 <= next_delay(5, DEFAULTS, retry_after=120, rng=rng) <= 16 * 60


def test_retry_after_is_capped() -> None:
    rng = random.Random(6)
    ten_days = 10 * 86_400.0
    assert next_delay(1, DEFAULTS, retry_after=ten_days, rng=rng) == 86_400
    assert next_delay(1, DEFAULTS, retry_after=1e23, rng=rng) == 86_400


def test_unseeded_calls_still_fall_in_band() -> None:
    assert all(30 <= next_delay(1, DEFAULTS) <= 60 for _ in range(100))
