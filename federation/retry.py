"""When to try a failed delivery again, and when to stop. Pure functions, tested alone."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from federation.settings import FederationSettings

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
    base = settings.retry_base_seconds * (2 ** min(max(0, attempts - 1), 64))
    delay = min(settings.retry_max_delay_seconds, base) * rng.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.retry_max_delay_seconds))
    return delay
