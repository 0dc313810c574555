"""Skipped offsets of a stream partition are found and read again (no I/O)."""

from __future__ import annotations

import pytest

from streams.holes import Absent, HoleNotRefilled, HoleWatch, Seek

G = 7  # a consumer generation


def run(
    watch: HoleWatch, offsets: list[int], *, committed: int | None = None, at: float = 0.0
) -> list[Seek | Absent | None]:
    return [watch.delivered(2, G, offset, committed, at) for offset in offsets]


def test_consecutive_offsets_need_nothing() -> None:
    watch = HoleWatch()
    assert run(watch, [10, 11, 12, 13], committed=10) == [None] * 4


def test_a_skipped_offset_within_a_generation_is_read_again() -> None:
    watch = HoleWatch()
    assert run(watch, [7727, 7728, 7730]) == [None, None, Seek(7729, 7729, attempt=1)]
    # records fetched before the seek still come, then the partition comes back to 7729
    assert run(watch, [7731, 7732, 7729, 7730, 7731]) == [None] * 5
    assert run(watch, [7732, 7733, 7735])[-1] == Seek(7734, 7734, attempt=1)  # a later hole


def test_the_first_offset_of_a_generation_past_the_committed_one_is_a_hole() -> None:
    """The chaos run's case: 7729 committed, the restarted worker was given 7730 first."""
    watch = HoleWatch()
    assert run(watch, [7730], committed=7729) == [Seek(7729, 7729, attempt=1)]
    assert run(watch, [7729, 7730]) == [None, None]


def test_a_new_generation_starts_from_its_committed_offset() -> None:
    watch = HoleWatch()
    run(watch, [1, 2, 3])
    assert watch.delivered(2, G + 1, 2, 2, 0.0) is None  # read again from committed 2
    assert watch.delivered(2, G + 2, 9, 5, 0.0) == Seek(5, 8, attempt=1)


def test_a_range_the_partition_goes_past_when_read_again_holds_no_record() -> None:
    watch = HoleWatch()
    assert run(watch, [40, 43]) == [None, Seek(41, 42, attempt=1)]
    assert run(watch, [44, 43, 44]) == [None, Absent(41, 42), None]


def test_reading_again_from_before_the_range_then_past_it_is_absent_too() -> None:
    watch = HoleWatch()
    run(watch, [40, 43])
    assert run(watch, [39, 40, 43]) == [None, None, Absent(41, 42)]


def test_a_seek_that_did_not_take_hold_is_repeated_then_gives_up() -> None:
    watch = HoleWatch(retry_after=5.0, max_seeks=3)
    run(watch, [1, 3], at=0.0)
    assert run(watch, [4], at=4.9) == [None]  # still records fetched before the seek
    assert run(watch, [5], at=5.0) == [Seek(2, 2, attempt=2)]
    assert run(watch, [6], at=10.0) == [Seek(2, 2, attempt=3)]
    with pytest.raises(HoleNotRefilled, match=r"offsets 2\.\.2 did not come back after 3 seeks"):
        run(watch, [7], at=15.0)


def test_partitions_are_followed_apart() -> None:
    watch = HoleWatch()
    assert watch.delivered(0, G, 5, None, 0.0) is None
    assert watch.delivered(1, G, 9, None, 0.0) is None
    assert watch.delivered(0, G, 6, None, 0.0) is None
    assert watch.delivered(1, G, 11, None, 0.0) == Seek(10, 10, attempt=1)
    assert Seek(10, 12, attempt=1).missing == 3
