"""Offsets of a stream partition that faust skipped, found in the offsets the stage is given.

faust may drop an event it fetched while its flow was suspended (around a rebalance or a table
recovery) and go on with the next ones; the partition's commit then waits at that event
(``streams.commits``), so nothing is lost, but nothing after it is committed either. A
:class:`HoleWatch` follows the offsets given to a stage, per source partition, and names the
range that was skipped:

- within one consumer generation, an offset more than one past the previous one: the offsets
  between;
- the first offset of a generation past the partition's committed offset: the offsets from the
  committed one.

An offset at or before the previous one is a partition read again (a seek): no hole. The stage
reads the range straight from Kafka and handles what it holds (``streams.refill``).

A skipped offset with no later one given shows no hole that way: the last event of a fetch
dropped, or one dropped before faust's seek of a new generation told the stage the committed
offset. An :class:`IdleWatch` finds those on an idle stage: a partition whose commit waits at
an offset faust has already passed (its read offset is at or past it, and the stage was given
nothing of it for a whole check) and that Kafka holds. Pure bookkeeping: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Hole", "HoleWatch", "IdleWatch", "PartitionState"]


@dataclass(frozen=True, slots=True)
class Hole:
    """Offsets ``start``..``end`` of the partition were skipped."""

    start: int
    end: int

    @property
    def missing(self) -> int:
        return self.end - self.start + 1


class HoleWatch:
    """The last offset given to one stage per source partition, and its generation."""

    def __init__(self) -> None:
        self._last: dict[int, tuple[int, int]] = {}  # partition -> (generation, offset)

    def delivered(
        self, partition: int, generation: int, offset: int, committed: int | None
    ) -> Hole | None:
        """``offset`` of ``partition`` was given to the stage in consumer ``generation``;
        ``committed`` is the partition's committed offset (``None``: none yet)."""
        last = self._last.get(partition)
        self._last[partition] = (generation, offset)
        if last is None or last[0] != generation:  # the first here in this generation
            if committed is not None and offset > committed:
                return Hole(committed, offset - 1)
            return None
        if offset > last[1] + 1:
            return Hole(last[1] + 1, offset - 1)
        return None

    def last(self, partition: int, generation: int) -> int | None:
        """The last offset of ``partition`` given in ``generation`` (``None``: none yet)."""
        last = self._last.get(partition)
        return last[1] if last is not None and last[0] == generation else None

    def filled(self, partition: int, generation: int, end: int) -> None:
        """The stage handled ``partition`` up to ``end`` itself: an offset after it, given
        next, is no hole."""
        last = self.last(partition, generation)
        if last is None or last < end:
            self._last[partition] = (generation, end)


@dataclass(frozen=True, slots=True)
class PartitionState:
    """One source partition as the consumer and the stage see it at a check."""

    committed: int | None  # the offset its commit is at (the next to read); None: unknown
    head_acked: bool  # the event at ``committed`` was acked (or holds no record)
    read_offset: int | None  # the last offset faust's fetch loop passed on (or its seek set)
    highwater: int | None  # the partition's log end, as last fetched
    last_given: int | None  # the last offset given to the stage in this generation


class IdleWatch:
    """Partitions of an idle stage whose commit waits at offsets faust will not give again.

    Suspect: the commit waits at an event that Kafka holds (``highwater`` past it) and that
    was never acked, while faust's fetch loop already passed it: its read offset is past the
    committed offset, or at it with events of this generation given (a seek at the start of a
    generation sets it there too, before anything is given; the fetch that follows gives the
    event). Found at two checks in a row with nothing changed, the range from the committed
    offset to the last offset faust passed on is named: the stage reads it and handles the
    offsets that were not acked."""

    def __init__(self) -> None:
        self._suspects: dict[int, PartitionState] = {}

    def check(self, partition: int, state: PartitionState) -> Hole | None:
        committed, read = state.committed, state.read_offset
        if (
            committed is None
            or read is None
            or state.head_acked
            or state.highwater is None
            or state.highwater <= committed
            or read < committed
            or (read == committed and state.last_given is None)
        ):
            self._suspects.pop(partition, None)
            return None
        if self._suspects.get(partition) != state:  # first seen so: look again next check
            self._suspects[partition] = state
            return None
        del self._suspects[partition]
        end = max(read, state.last_given if state.last_given is not None else read)
        return Hole(committed, min(end, state.highwater - 1))

    def forget(self) -> None:
        """The stage was busy: what was suspect must be seen idle twice again."""
        self._suspects.clear()
