"""Shopify's cost-based leaky bucket: a query needs its requested cost available up front, and
the difference to its actual cost is refunded afterwards. Points restore continuously."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

MAXIMUM_AVAILABLE = 2000.0
RESTORE_RATE = 100.0


class LeakyBucket:
    def __init__(
        self,
        maximum: float = MAXIMUM_AVAILABLE,
        restore_rate: float = RESTORE_RATE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self._available = self.maximum
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._available = min(self.maximum, self._available + elapsed * self.restore_rate)
        self._stamp = now

    @property
    def available(self) -> float:
        with self._lock:
            self._refill()
            return self._available

    def try_take(self, cost: float) -> bool:
        """Take ``cost`` points if that many are available now; False (nothing taken) if not."""
        with self._lock:
            self._refill()
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def refund(self, points: float) -> None:
        if points <= 0:
            return
        with self._lock:
            self._refill()
            self._available = min(self.maximum, self._available + points)

    def configure(self, *, maximum: float | None = None, restore_rate: float | None = None) -> None:
        with self._lock:
            self._refill()
            if maximum is not None:
                if maximum <= 0:
                    raise ValueError("maximum_available must be positive")
                self.maximum = float(maximum)
                self._available = min(self._available, self.maximum)
            if restore_rate is not None:
                if restore_rate < 0:
                    raise ValueError("restore_rate must not be negative")
                self.restore_rate = float(restore_rate)

    def fill(self) -> None:
        with self._lock:
            self._available = self.maximum
            self._stamp = self._clock()

    def status(self) -> dict[str, Any]:
        """``throttleStatus`` as Shopify writes it: floats, and whole points available."""
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": self.maximum,
                "currentlyAvailable": int(self._available),
                "restoreRate": self.restore_rate,
            }
