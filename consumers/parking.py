"""Parked records: the retry lane of one partition, kept per entity key.

A record that still fails transiently after the retry budget (while its target answers other
records) is *parked*: written to ``retry.<topic>``, in the same partition number, with
``ferry.retry.*`` headers, and the partition goes on. Later records of a parked key follow it
to the retry topic unapplied, so one key's changes still take effect in order. The runner that
owns partition ``p`` of the topic also owns partition ``p`` of its retry topic (range
assignment over two topics of equal partition counts), so it knows every parked key.

:class:`ParkingLot` is that lane's state: the retry records of each key in offset order, when
each is due, and the retry offset that is safe to commit. It does no I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ferry import privacy
from ferry.envelope import Headers
from ferry.timefmt import format_timestamp, parse_timestamp

__all__ = ["RETRY_PREFIX", "OriginRecord", "Parked", "ParkingLot", "retry_headers"]

RETRY_PREFIX = "ferry.retry."


@dataclass(frozen=True, slots=True)
class OriginRecord:
    """A parked record as it was on its own topic (what sinks and dead letters see)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers


@dataclass(slots=True)
class Parked:
    origin: OriginRecord
    retry_offset: int
    attempts: int
    first_failed_at: datetime
    due: float  # wall-clock seconds
    last_error: str = ""
    tries: int = 0  # tries in the retry lane by this owner (paces its backoff)


def retry_headers(
    record: Any, *, attempts: int, first_failed_at: datetime, due: float, error: str
) -> Headers:
    """The record's own headers (earlier retry headers left out) plus ``ferry.retry.*``."""
    original = [(k, v) for k, v in (record.headers or ()) if not k.startswith(RETRY_PREFIX)]
    values = {
        "topic": record.topic,
        "partition": str(record.partition),
        "offset": str(record.offset),
        "attempts": str(attempts),
        "first_failed_at": format_timestamp(first_failed_at),
        "due_ms": str(int(due * 1000)),
        "error": privacy.scrub(error)[:500],  # a transient error's words: e-mails masked
    }
    return original + [(RETRY_PREFIX + k, v.encode("utf-8")) for k, v in values.items()]


def _parse(record: Any) -> Parked:
    mine = {
        k[len(RETRY_PREFIX) :]: v.decode("utf-8", "replace")
        for k, v in (record.headers or ())
        if k.startswith(RETRY_PREFIX)
    }
    headers = [(k, v) for k, v in (record.headers or ()) if not k.startswith(RETRY_PREFIX)]
    try:
        origin = OriginRecord(
            mine["topic"],
            int(mine["partition"]),
            int(mine["offset"]),
            record.key,
            record.value,
            headers,
        )
        first = parse_timestamp(mine["first_failed_at"]) or datetime.now(UTC)
        attempts = int(mine["attempts"])
        due = int(mine["due_ms"]) / 1000
    except (KeyError, ValueError):  # not written by Ferry: try it now, as its own origin
        origin = OriginRecord(
            record.topic, record.partition, record.offset, record.key, record.value, headers
        )
        first, attempts, due = datetime.now(UTC), 0, 0.0
    return Parked(origin, record.offset, attempts, first, due, mine.get("error", ""))


class ParkingLot:
    """The retry lane of one partition."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self._keys: dict[bytes | None, dict[int, Parked | None]] = {}
        self._consumed: int | None = None  # one past the last retry record read
        self._load_until: int | None = None
        self.loaded = asyncio.Event()  # every record parked before this owner started is known
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.committed: int | None = None
        self.stopping = False

    # -- what the main lane asks -------------------------------------------------------------

    def parked(self, key: bytes | None) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return sum(len(offsets) for offsets in self._keys.values())

    def expect(self, key: bytes | None, retry_offset: int) -> None:
        """A record was just written to the retry topic at ``retry_offset``: its key is parked
        from now on, even before the record is read back."""
        self._keys.setdefault(key, {}).setdefault(retry_offset, None)

    # -- loading -----------------------------------------------------------------------------

    def load_until(self, start: int, end: int) -> None:
        """Records below ``start`` are resolved; those in ``[start, end)`` must be read before
        the main lane may decide whether a key is parked."""
        self._consumed = start
        self._load_until = end
        if start >= end:
            self.loaded.set()

    def progress(self) -> str:
        """Where the reading stands, for the operator."""
        return f"read up to offset {self._consumed}, parked until {self._load_until}"

    def add(self, record: Any) -> None:
        """A record read from the retry topic."""
        if self._consumed is not None and record.offset < self._consumed and self.loaded.is_set():
            return  # read again after a seek: already known
        parked = _parse(record)
        self._keys.setdefault(record.key, {})[record.offset] = parked
        self._consumed = max(self._consumed or 0, record.offset + 1)
        if self._load_until is not None and self._consumed >= self._load_until:
            self.loaded.set()
        self.wake.set()

    # -- the retry lane ----------------------------------------------------------------------

    def due(self, now: float) -> Iterator[Parked]:
        """The head record of each key, when it was read back and its time has come."""
        for offsets in list(self._keys.values()):
            head = offsets[min(offsets)]
            if head is not None and head.due <= now:
                yield head

    def next_due(self) -> float | None:
        heads = [offsets[min(offsets)] for offsets in self._keys.values()]
        times = [h.due for h in heads if h is not None]
        return min(times) if times else None

    def resolve(self, parked: Parked) -> None:
        """``parked`` reached a final outcome; its key is free once nothing else of it waits."""
        offsets = self._keys.get(parked.origin.key)
        if offsets is None:
            return
        offsets.pop(parked.retry_offset, None)
        if not offsets:
            del self._keys[parked.origin.key]

    def commit_offset(self) -> int | None:
        """The retry offset to commit: the first unresolved record, else one past the last."""
        pending = [min(offsets) for offsets in self._keys.values() if offsets]
        if pending:
            return min(pending)
        return self._consumed
