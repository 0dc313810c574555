"""A stream partition's commit never passes an offset that was not acked.

faust commits, per partition, the longest run of consecutive acked offsets (with the offsets it
knows hold no record, its "gaps", counted as acked) that follows the committed offset. Its
check of that "follows" lets one offset through: with offset 7729 committed (the next to read)
and 7730.. acked, it commits past 7729 although 7729 was never acked (faust-streaming issue
#606). An event faust dropped around a rebalance, or one the stage has not finished, sits at
exactly that place; committing past it loses it. :func:`hold_unacked_heads` makes the consumer
commit a partition only once the committed offset itself was acked (or is known to hold no
record): until then the partition's commit waits, and nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faust.types import TP

__all__ = [
    "acked",
    "committed_offset",
    "head_acked",
    "hold_unacked_heads",
    "mark_absent",
    "read_offset",
]


def head_acked(consumer: Any, tp: TP) -> bool:
    """Whether the offset ``tp`` is committed at (the next to read) was acked, or lies in one of
    the consumer's gaps (offsets known to hold no record). True when nothing is committed yet."""
    committed = committed_offset(consumer, tp)
    if committed is None:
        return True
    if acked(consumer, tp, committed):
        return True
    gaps = consumer._gap.get(tp)
    return bool(gaps) and bool(gaps.at(committed))


def hold_unacked_heads(consumer: Any) -> None:
    """Make the faust ``consumer`` compute no new offset for a partition whose committed offset
    was not acked: its commit waits instead of passing that event."""
    new_offset: Callable[[TP], int | None] = consumer._new_offset

    def _new_offset(tp: TP) -> int | None:
        if not head_acked(consumer, tp):
            return None
        return new_offset(tp)

    consumer._new_offset = _new_offset


def committed_offset(consumer: Any, tp: TP) -> int | None:
    """The offset ``tp`` is committed at as the consumer knows it (``None``: none yet)."""
    committed: int | None = consumer._committed_offset.get(tp)
    return committed


def mark_absent(consumer: Any, tp: TP, start: int, end: int) -> None:
    """Offsets ``start``..``end`` of ``tp`` hold no record: count them as acked."""
    consumer._gap[tp].addi(start, end + 1)


def acked(consumer: Any, tp: TP, offset: int) -> bool:
    """Whether ``offset`` of ``tp`` was acked since the partition was assigned."""
    index = consumer._acked_index.get(tp)
    return index is not None and offset in index


def read_offset(consumer: Any, tp: TP) -> int | None:
    """The last offset of ``tp`` faust's fetch loop passed on to the stream (or dropped), or
    where its seek after a rebalance put it; a fetched record before it is dropped."""
    offset: int | None = consumer._read_offset.get(tp)
    return offset
