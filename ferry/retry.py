"""Bounded exponential backoff with full jitter, honouring a target's Retry-After."""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

from ferry.settings import RetrySettings

__all__ = ["Backoff", "parse_retry_after"]


@dataclass(frozen=True, slots=True)
class Backoff:
    max_attempts: int = 8
    base_delay_s: float = 0.2
    max_delay_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: RetrySettings) -> Backoff:
        return cls(settings.max_attempts, settings.base_delay_s, settings.max_delay_s)

    def exhausted(self, attempts: int) -> bool:
        """True once ``attempts`` failed attempts used up the budget."""
        return attempts >= self.max_attempts

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** max(attempt - 1, 0)))
        wait = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay_s))
        return wait


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
