"""Field indexes: a field's stored values mapped to the ids of the rows holding them.

The store keeps them up to date on every insert, update, delete, rollback and column change, so
looking rows up by value costs the size of the answer, not of the table. An index only narrows
the rows to look at: callers check the rows it gives as they would check any (a *superset* is
enough), so the results never depend on whether a field is indexed.

- exact: value -> ids, for ``=`` / ``in`` (unset values, ``None`` and ``False``, are left out);
- folded (text fields): lowercased value -> ids for the values made of ASCII characters only,
  plus every id whose value has other characters, for ``=ilike`` without wildcards;
- ordered (datetimes): ``(value, id)`` sorted, for ``<``, ``<=``, ``>``, ``>=``.

A value held by one row maps to its id, by more to a set of ids: most values of the fields
looked up (external ids, references, e-mails) are held by one row, and a set per row would
double the memory the indexes take.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

_HIGHEST = float("inf")
Buckets = dict[Any, "int | set[int]"]


@dataclass(frozen=True)
class Probe:
    """The candidates of one domain leaf: how many at most (cheap), and which (``fetch``)."""

    size: int
    fetch: Callable[[], set[int]]


def indexable(value: Any) -> bool:
    """Whether ``value`` is kept in an exact index (set, hashable)."""
    return value is not None and value is not False and not isinstance(value, list | dict)


class FieldIndex:
    def __init__(self, folded: bool = False, ordered: bool = False) -> None:
        self.folded = folded
        self.ordered = ordered
        self._exact: Buckets = {}
        self._folded: Buckets = {}
        self._unfoldable: set[int] = set()
        self._sorted: list[tuple[str, int]] = []
        self._unsortable: set[int] = set()

    def clear(self) -> None:
        self._exact.clear()
        self._folded.clear()
        self._unfoldable.clear()
        self._sorted.clear()
        self._unsortable.clear()

    # -- maintenance ------------------------------------------------------------------------

    def add(self, rec_id: int, value: Any) -> None:
        if not indexable(value):
            return
        if self.ordered:
            if isinstance(value, str):
                insort(self._sorted, (value, rec_id))
            else:
                self._unsortable.add(rec_id)
            return
        _put(self._exact, value, rec_id)
        if self.folded and isinstance(value, str):
            if value.isascii():
                _put(self._folded, value.lower(), rec_id)
            else:
                self._unfoldable.add(rec_id)

    def remove(self, rec_id: int, value: Any) -> None:
        if not indexable(value):
            return
        if self.ordered:
            if isinstance(value, str):
                pos = bisect_left(self._sorted, (value, rec_id))
                if pos < len(self._sorted) and self._sorted[pos] == (value, rec_id):
                    del self._sorted[pos]
            else:
                self._unsortable.discard(rec_id)
            return
        _discard(self._exact, value, rec_id)
        if self.folded and isinstance(value, str):
            if value.isascii():
                _discard(self._folded, value.lower(), rec_id)
            else:
                self._unfoldable.discard(rec_id)

    # -- lookups ----------------------------------------------------------------------------

    def equal(self, values: Iterable[Any]) -> set[int]:
        """The ids whose value equals one of ``values`` (a new set)."""
        out: set[int] = set()
        for value in values:
            bucket = self._exact.get(value)
            if isinstance(bucket, int):
                out.add(bucket)
            elif bucket:
                out |= bucket
        return out

    def probe_equal(self, values: list[Any]) -> Probe:
        size = sum(_size(self._exact.get(v)) for v in values)
        return Probe(size, lambda: self.equal(values))

    def probe_folded(self, text: str) -> Probe:
        """Every id whose value may equal ``text`` (ASCII) but for case."""
        bucket = self._folded.get(text.lower())

        def fetch() -> set[int]:
            found = {bucket} if isinstance(bucket, int) else set(bucket or ())
            return found | self._unfoldable

        return Probe(_size(bucket) + len(self._unfoldable), fetch)

    def probe_range(self, low: str | None, low_in: bool, high: str | None, high_in: bool) -> Probe:
        """Every id whose value is within the bounds (``None``: unbounded; ``*_in``: the bound
        itself included), plus those whose value is not text (compared by the caller)."""
        rows = self._sorted
        start = 0 if low is None else bisect_left(rows, (low, _HIGHEST if not low_in else -1))
        end = len(rows) if high is None else bisect_right(rows, (high, _HIGHEST if high_in else -1))
        size = max(end - start, 0) + len(self._unsortable)
        return Probe(size, lambda: {i for _v, i in rows[start:end]} | self._unsortable)


def _put(buckets: Buckets, key: Any, rec_id: int) -> None:
    bucket = buckets.get(key)
    if bucket is None:
        buckets[key] = rec_id
    elif isinstance(bucket, int):
        if bucket != rec_id:
            buckets[key] = {bucket, rec_id}
    else:
        bucket.add(rec_id)


def _discard(buckets: Buckets, key: Any, rec_id: int) -> None:
    bucket = buckets.get(key)
    if bucket is None:
        return
    if isinstance(bucket, int):
        if bucket == rec_id:
            del buckets[key]
        return
    bucket.discard(rec_id)
    if len(bucket) == 1:
        buckets[key] = next(iter(bucket))


def _size(bucket: int | set[int] | None) -> int:
    if bucket is None:
        return 0
    return 1 if isinstance(bucket, int) else len(bucket)
