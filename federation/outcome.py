"""One outcome policy for all background work (incoming activities and deliveries): what a
failure means, when to try again, and when to stop. Pure functions, tested alone.

- **retry**: transient (a remote server unreachable or answering 5xx/429, the database briefly
  gone): tried again with exponential backoff until ``give_up_after_hours`` after the item was
  first queued, then failed;
- **ignore**: nothing to act on: an object we do not keep, gone, or from a stranger
  (``NotFound``, ``Gone``);
- **fail**: can never succeed: unreadable or out of range (``Malformed``), refused, forbidden, an
  unsafe address (any other ``CoopubError``): failed at once, the reason in the item's ``error``
  and in one log line, never retried.

An unforeseen exception (a bug, a driver error we do not know) is retried like a transient
failure: the item may pass once coopub is fixed, and gives up at the same age; its traceback is
logged the first time only.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

from federation.settings import FederationSettings
from models.db import is_outage
from models.errors import CoopubError, Gone, NotFound, RemoteUnavailable


class Outcome(StrEnum):
    RETRY = "retry"
    IGNORE = "ignore"
    FAIL = "fail"


def outcome_of(exc: BaseException) -> Outcome:
    """What a failure of background work means (see the module's docstring)."""
    if isinstance(exc, RemoteUnavailable) or is_outage(exc):
        return Outcome.RETRY
    if isinstance(exc, NotFound | Gone):
        return Outcome.IGNORE
    if isinstance(exc, CoopubError):
        return Outcome.FAIL
    return Outcome.RETRY


def next_attempt(
    attempts: int,
    first_queued: datetime,
    settings: FederationSettings,
    *,
    retry_after: float | None = None,
    now: datetime | None = None,
) -> datetime | None:
    """When to try again after ``attempts`` failures, or None once that would be later than
    ``give_up_after_hours`` after ``first_queued``: time to give up."""
    now = now or datetime.now(UTC)
    retry_at = now + timedelta(seconds=next_delay(attempts, settings, retry_after=retry_after))
    give_up_at = first_queued + timedelta(hours=settings.give_up_after_hours)
    return None if retry_at > give_up_at else retry_at


RETRYABLE_4XX = frozenset({401, 408, 429})


def is_retryable(status: int | None) -> bool:
    """Network errors and 5xx are retried; a 4xx is final except 401, 408 and 429."""
    if status is None or status >= 500:
        return True
    return status in RETRYABLE_4XX


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() also accepts "²", which float() refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a huge zone offset
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def next_delay(
    attempts: int,
    settings: FederationSettings,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Exponential backoff with full jitter in [50 %, 100 %], capped; ``Retry-After`` is a floor.

    ``attempts`` counts the failures so far (1 after the first failure).
    """
    rng = rng or random.Random()
    # The exponent is bounded: 2**1100 no longer converts to float (the cap applies long before).
    factor: int = 2 ** min(max(0, attempts - 1), 64)  # int ** int is typed Any
    base = settings.retry_base_seconds * factor
    delay = min(settings.retry_max_delay_seconds, base) * rng.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.retry_max_delay_seconds))
    return delay
