"""A token bucket per app: ``rate`` events per second, bursts up to one second's worth."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter"]


@dataclass(slots=True)
class _Bucket:
    rate: float
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, app: str, rate: float, count: int = 1) -> float:
        """Take ``count`` tokens for ``app``: 0 when allowed, else the seconds to wait.

        A request larger than one second's burst passes when the bucket is full, and leaves
        it in debt (so a batch of 500 at 100/s is followed by five seconds of refusals).
        """
        now = self._clock()
        capacity = max(rate, 1.0)
        bucket = self._buckets.get(app)
        if bucket is None or bucket.rate != rate:
            bucket = self._buckets[app] = _Bucket(rate, capacity, now)
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        need = min(float(count), capacity)
        if bucket.tokens >= need:
            bucket.tokens -= count
            return 0.0
        return (need - bucket.tokens) / rate

    @staticmethod
    def retry_after(wait_s: float) -> str:
        """The ``Retry-After`` header value for a wait (whole seconds, at least 1)."""
        return str(max(1, math.ceil(wait_s)))
