"""Bounded exponential backoff with full jitter, honouring a target's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ferry.settings import RetrySettings

__all__ = ["Backoff"]


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
