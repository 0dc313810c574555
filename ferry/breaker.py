"""A circuit breaker per target system: when the target is down, every sink of it waits.

Without it, a target outage looks to each partition like its own record failing again and
again, and a per-record retry budget would park (or dead-letter) every record the outage
touches. The breaker tells "the target is down" from "this record fails": it opens when, within
``window_s``, most calls failed *and* two failed calls share no entity key (every call that
carries one poison record fails, however often it is retried or split: such calls always share
that key, so it never opens the breaker). While open, callers wait
instead of calling; after ``open_s`` one caller probes; its success closes the breaker, its
failure opens it again for twice as long (up to ``max_open_s``). A probe's failure counts
against its own record's retry budget (callers that only waited do not), so poison records
cannot hold the breaker open for ever: they use up their budget as probes and are parked.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["BreakerSettings", "BreakerState", "CircuitBreaker"]

log = logging.getLogger(__name__)


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"  # one probe is in flight


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    window_s: float = 10.0
    failure_ratio: float = 0.5
    open_s: float = 1.0
    max_open_s: float = 30.0


class CircuitBreaker:
    """Shared by every sink of one target in a service. ``admit`` before a call, ``record``
    after it (with the entity key the call was for)."""

    def __init__(
        self,
        name: str,
        settings: BreakerSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings or BreakerSettings()
        self._clock = clock
        self._on_change = on_change
        self._calls: deque[tuple[float, bool, frozenset[object]]] = deque()
        self._state = BreakerState.CLOSED
        self._open_for = self.settings.open_s
        self._open_until = 0.0
        self._probe_since = 0.0
        self._changed = asyncio.Event()

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def closed(self) -> bool:
        return self._state is BreakerState.CLOSED

    def try_admit(self) -> bool | None:
        """``False``: call; ``True``: call as the probe (and ``record`` with ``probe=True``);
        ``None``: wait (about :meth:`wait_s`) and ask again."""
        if self._state is BreakerState.CLOSED:
            return False
        now = self._clock()
        if self._state is BreakerState.OPEN:
            if now < self._open_until:
                return None
            self._probe_since = now
            self._set(BreakerState.HALF_OPEN)
            return True
        # Half open: one probe at a time; a probe that never reported (its caller was
        # stopped) is replaced after ``max_open_s``.
        if now - self._probe_since < self.settings.max_open_s:
            return None
        self._probe_since = now
        return True

    def wait_s(self) -> float:
        """How long a caller told to wait should wait before asking again."""
        now = self._clock()
        if self._state is BreakerState.OPEN:
            return max(self._open_until - now, 0.0)
        if self._state is BreakerState.HALF_OPEN:
            return max(self._probe_since + self.settings.max_open_s - now, 0.0)
        return 0.0

    async def admit(self) -> bool:
        """Wait until a call may be made; True when this caller is the probe."""
        while True:
            verdict = self.try_admit()
            if verdict is not None:
                return verdict
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=self.wait_s())

    def release(self) -> None:
        """The probe learned nothing (its call never reached the target): the next caller
        probes at once."""
        if self._state is BreakerState.HALF_OPEN:
            self._open_until = self._clock()
            self._set(BreakerState.OPEN)

    def record(self, ok: bool, keys: Iterable[object] = (None,), *, probe: bool = False) -> None:
        """The outcome of one call made for the records of ``keys``. A failure that is not
        the target's fault (one record's own transient error) counts the same: only failures
        of calls that share no key tell an outage from a record that fails."""
        now = self._clock()
        if probe or self._state is BreakerState.HALF_OPEN:
            if ok:
                self._calls.clear()
                self._open_for = self.settings.open_s
                self._set(BreakerState.CLOSED)
            elif probe:
                self._open_for = min(self._open_for * 2, self.settings.max_open_s)
                self._open(now)
            return
        if self._state is BreakerState.OPEN:
            return  # a call admitted before the breaker opened
        called = frozenset(keys)
        horizon = now - self.settings.window_s
        while self._calls and self._calls[0][0] < horizon:
            self._calls.popleft()
        if ok:
            self._calls.append((now, True, called))
            return
        failed = [k for _, good, k in self._calls if not good]
        independent = any(called.isdisjoint(other) for other in failed)
        self._calls.append((now, False, called))
        failures = len(failed) + 1
        if independent and failures / len(self._calls) >= self.settings.failure_ratio:
            self._open(now)

    def _open(self, now: float) -> None:
        self._open_until = now + self._open_for
        self._calls.clear()
        self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        if state is self._state:
            return
        previous, self._state = self._state, state
        if state is BreakerState.OPEN and previous is BreakerState.CLOSED:
            log.warning(
                "%s: most recent calls failed across many records; every sink of it waits "
                "(probing in %.0f s)",
                self.name,
                self._open_for,
            )
        elif state is BreakerState.CLOSED:
            log.info("%s answers again; sinks resume", self.name)
        if self._on_change is not None:
            self._on_change(state)
        self._changed.set()
