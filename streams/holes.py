"""Offsets a stream partition skipped, found and read again.

faust may drop an event it fetched while its flow was suspended (around a rebalance or a table
recovery) and go on with the next ones; the partition's commit then waits at that event
(``streams.commits``) and nothing is lost, but nothing after it is committed either until the
worker restarts. :class:`HoleWatch` follows the offsets given to a stage, per source partition,
and says when to read a range again:

- within one consumer generation, an offset more than one past the previous one: the offsets
  between were skipped;
- the first offset of a generation past the committed offset: the offsets from the committed
  one were skipped.

It answers :class:`Seek` (read the partition again from the first skipped offset). Once the
partition is read again it answers nothing if the range came (the events are processed again;
the change-only table drops what was already sent), or :class:`Absent` if the partition went
past the range without it: those offsets hold no record (transaction markers, or records
compacted away), and may be counted as acked. If the partition keeps going forward without
coming back (records fetched before the seek still being delivered, or a seek that did not take
hold), it seeks again after ``retry_after`` seconds, at most ``max_seeks`` times, then raises
:class:`HoleNotRefilled`. Pure bookkeeping: the stage seeks, logs and counts.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Absent", "HoleNotRefilled", "HoleWatch", "Seek"]


@dataclass(frozen=True, slots=True)
class Seek:
    """Read the partition again from ``start``: offsets ``start``..``end`` were skipped."""

    start: int
    end: int
    attempt: int  # 1 for the first seek of this range

    @property
    def missing(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class Absent:
    """Offsets ``start``..``end`` hold no record: the partition was read again past them."""

    start: int
    end: int


class HoleNotRefilled(RuntimeError):
    """A skipped range did not come back after every seek: the worker must restart."""


@dataclass(slots=True)
class _Refill:
    start: int
    end: int
    generation: int
    seeks: int
    since: float
    stepped_back: bool = False  # an offset before the range came after the seek


@dataclass(slots=True)
class _Partition:
    generation: int
    offset: int
    refill: _Refill | None = None


class HoleWatch:
    """The offsets given to one stage, per source partition (see the module's docstring)."""

    def __init__(self, *, retry_after: float = 5.0, max_seeks: int = 3) -> None:
        self.retry_after = retry_after
        self.max_seeks = max_seeks
        self._partitions: dict[int, _Partition] = {}

    def delivered(
        self, partition: int, generation: int, offset: int, committed: int | None, now: float
    ) -> Seek | Absent | None:
        """``offset`` of ``partition`` was given to the stage in consumer ``generation``;
        ``committed`` is the partition's committed offset (``None``: none). ``now`` is a
        monotonic time in seconds."""
        state = self._partitions.get(partition)
        if state is None:
            state = self._partitions[partition] = _Partition(generation, offset)
            return self._head(state, offset, committed, now)
        last = state.offset
        state.offset = offset
        refill = state.refill
        if refill is not None and refill.generation == generation:
            return self._refilling(state, refill, last, offset, now)
        if state.generation != generation:  # a rebalance: the partition restarts from committed
            state.generation, state.refill = generation, None
            return self._head(state, offset, committed, now)
        if offset > last + 1:
            return self._skipped(state, last + 1, offset - 1, now)
        return None

    def _head(
        self, state: _Partition, offset: int, committed: int | None, now: float
    ) -> Seek | None:
        if committed is not None and offset > committed:
            return self._skipped(state, committed, offset - 1, now)
        return None

    def _skipped(self, state: _Partition, start: int, end: int, now: float) -> Seek:
        state.refill = _Refill(start, end, state.generation, seeks=1, since=now)
        return Seek(start, end, attempt=1)

    def _refilling(
        self, state: _Partition, refill: _Refill, last: int, offset: int, now: float
    ) -> Seek | Absent | None:
        if offset < refill.start:  # read again from before the range: it comes next
            refill.stepped_back = True
            return None
        if offset <= refill.end:  # the range came
            state.refill = None
            return None
        if refill.stepped_back or offset <= last:  # read again past the range: it holds nothing
            state.refill = None
            return Absent(refill.start, refill.end)
        if now - refill.since < self.retry_after:  # still going forward: records fetched before
            return None
        if refill.seeks >= self.max_seeks:
            raise HoleNotRefilled(
                f"offsets {refill.start}..{refill.end} did not come back after {refill.seeks} seeks"
            )
        refill.seeks += 1
        refill.since = now
        return Seek(refill.start, refill.end, attempt=refill.seeks)
