"""Token buckets in memory, one per key (a remote host, an API token, a client address).

A bucket holds up to ``burst`` tokens and refills at ``per_minute / 60`` a second; a request
takes one. The state lives in this process only: with N web processes the effective limit is
N times the configured one, which is fine for limits meant to stop floods, not to meter usage.
The number of buckets is bounded: past ``max_keys`` the least recently used is forgotten (it
comes back full, which only ever errs on the side of letting a request through).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
MAX_KEYS = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """``take(key)`` spends a token or says how long until one is there."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        *,
        clock: Clock = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        """A rate of 0 turns the limit off."""
        return self.rate > 0

    def _refilled(self, key: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[key] = bucket
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            elapsed = max(0.0, now - bucket.at)
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
            bucket.at = now
            self._buckets.move_to_end(key)
        return bucket

    def wait(self, key: str) -> int:
        """Whole seconds until ``key`` has a token again (0: it has one now); spends nothing."""
        if not self.enabled:
            return 0
        bucket = self._refilled(key)
        if bucket.tokens >= 1:
            return 0
        return max(1, math.ceil((1 - bucket.tokens) / self.rate))

    def take(self, key: str) -> int:
        """Spend one token of ``key``: 0 when there was one, else the seconds to wait (and
        nothing is spent)."""
        waiting = self.wait(key)
        if waiting == 0 and self.enabled:
            self._buckets[key].tokens -= 1
        return waiting

    def spend(self, key: str) -> None:
        """Spend a token after the fact (a request found bad once read): down to none left."""
        if self.enabled:
            bucket = self._refilled(key)
            bucket.tokens = max(bucket.tokens - 1, 0.0)
