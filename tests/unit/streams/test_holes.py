"""Skipped offsets of a stream partition are found (no I/O)."""

from __future__ import annotations

from streams.holes import Hole, HoleWatch

G = 7  # a consumer generation


def run(watch: HoleWatch, offsets: list[int], *, committed: int | None = None) -> list[Hole | None]:
    return [watch.delivered(2, G, offset, committed) for offset in offsets]


def test_consecutive_offsets_have_no_hole() -> None:
    assert run(HoleWatch(), [10, 11, 12, 13], committed=10) == [None] * 4


def test_a_skipped_offset_within_a_generation_is_a_hole() -> None:
    watch = HoleWatch()
    assert run(watch, [7727, 7728, 7730]) == [None, None, Hole(7729, 7729)]
    assert run(watch, [7731, 7735]) == [None, Hole(7732, 7734)]
    assert Hole(7732, 7734).missing == 3


def test_the_first_offset_of_a_generation_past_the_committed_one_is_a_hole() -> None:
    """The chaos run's case: 7729 committed, the restarted worker was given 7730 first."""
    assert run(HoleWatch(), [7730, 7731], committed=7729) == [Hole(7729, 7729), None]


def test_a_partition_read_again_has_no_hole() -> None:
    watch = HoleWatch()
    assert run(watch, [40, 41, 42, 38, 39, 40, 41, 42, 43]) == [None] * 9


def test_a_new_generation_starts_from_its_committed_offset() -> None:
    watch = HoleWatch()
    run(watch, [1, 2, 3])
    assert watch.delivered(2, G + 1, 2, 2) is None  # read again from committed 2
    assert watch.delivered(2, G + 2, 9, 5) == Hole(5, 8)
    assert watch.delivered(2, G + 3, 9, None) is None  # nothing committed: nothing to compare


def test_partitions_are_followed_apart() -> None:
    watch = HoleWatch()
    assert watch.delivered(0, G, 5, None) is None
    assert watch.delivered(1, G, 9, None) is None
    assert watch.delivered(0, G, 6, None) is None
    assert watch.delivered(1, G, 11, None) == Hole(10, 10)
