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
reads the range straight from Kafka and handles what it holds (``streams.refill``). Pure
bookkeeping: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Hole", "HoleWatch"]


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
