"""The sink contract: how a flow's events are applied to the system that owns them.

A sink is one file per kind of write (quix-streams' one-file sinks): it applies decoded events
of one type to its target and says what happened. The runner (``consumers.runner``) owns
everything else: polling, ordering, retries, dead letters, commits.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ferry.dlq import SourceRecord
from ferry.envelope import CloudEvent
from ferry.errors import FerryError

__all__ = ["BatchResult", "BatchSink", "CachedProbe", "Outcome", "Sink", "SinkEvent", "Target"]


class Outcome(enum.Enum):
    """What applying one event did."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"  # already applied, or older than what the target holds: skipped


@dataclass(frozen=True, slots=True)
class SinkEvent:
    """A decoded record: its CloudEvents envelope and its Avro data (reader's shape)."""

    envelope: CloudEvent
    event_type: str
    data: dict[str, Any]


class Sink(Protocol):
    """Applies events of one type, read from one topic, to the system that owns them.

    ``apply`` must be idempotent: the runner commits only after it returned, so a crash between
    the effect and the commit delivers the same event again. It raises
    :class:`~ferry.errors.PermanentError` for what will never apply (the record is dead-lettered),
    :class:`~ferry.errors.TransientError` for what may apply later (the same record is retried),
    :class:`~ferry.errors.AuthenticationError` when the target refuses the credentials (the
    runner stops).
    """

    @property
    def name(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def event_type(self) -> str: ...

    async def apply(self, event: SinkEvent, record: SourceRecord) -> Outcome: ...

    async def ready(self) -> bool:
        """True when the target answers (for ``/readyz``)."""
        ...


BatchResult = Outcome | FerryError
"""What :meth:`BatchSink.apply_batch` says of one event: its outcome, or the error it met."""


@runtime_checkable
class BatchSink(Sink, Protocol):
    """A sink that can apply many events in few calls to its target (under backlog).

    ``apply_batch`` gets events of one partition in offset order and returns one
    :data:`BatchResult` per event, in the same order:

    - an :class:`Outcome`: the event's effect is confirmed (or it was a duplicate);
    - a :class:`~ferry.errors.PermanentError`: this event alone is dead-lettered;
    - a :class:`~ferry.errors.TransientError`: this event and every later one of the batch are
      tried again (the sink may already have applied some later ones: it is idempotent).

    Raising instead speaks for the whole batch: ``TransientError`` retries it,
    ``PermanentError`` makes the runner bisect the batch until the bad event is alone (only it
    is dead-lettered), ``AuthenticationError`` stops the runner. Several events of one key may
    share a batch; they must take effect in their order (e.g. applied in rounds, or the older
    ones reported ``DUPLICATE`` once the newest is applied). ``apply`` stays the path of a
    single event.
    """

    async def apply_batch(
        self, events: Sequence[SinkEvent], records: Sequence[SourceRecord]
    ) -> Sequence[BatchResult]: ...


class Target(Protocol):
    """A connection to one owning system, shared by every sink of that system in a service."""

    async def check_credentials(self) -> None:
        """Authenticate once; raise ``AuthenticationError`` naming where the key comes from,
        ``TransientError`` when the system is not reachable yet."""
        ...

    async def ready(self) -> bool:
        """True when the system answered recently (for ``/readyz``)."""
        ...

    async def aclose(self) -> None: ...


class CachedProbe:
    """A target's readiness: ``check`` answered within ``timeout_s`` at the last look, which
    is at most ``every_s`` old (so ``/readyz`` never hammers the target)."""

    def __init__(
        self,
        check: Callable[[], Awaitable[object]],
        *,
        every_s: float = 5.0,
        timeout_s: float = 3.0,
    ) -> None:
        self._check = check
        self.every_s = every_s
        self.timeout_s = timeout_s
        self._looked_at = -1e9
        self._ok = False

    async def __call__(self) -> bool:
        now = time.monotonic()
        if now - self._looked_at >= self.every_s:
            self._looked_at = now
            try:
                async with asyncio.timeout(self.timeout_s):
                    await self._check()
                self._ok = True
            except (FerryError, TimeoutError):
                self._ok = False
        return self._ok
