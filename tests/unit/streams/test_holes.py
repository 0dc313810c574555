"""Skipped offsets of a stream partition are found (no I/O)."""

from __future__ import annotations

from streams.holes import Hole, HoleWatch, IdleWatch, PartitionState

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


def state(
    committed: int | None = 19,
    *,
    head_acked: bool = False,
    read: int | None = 19,
    highwater: int | None = 20,
    last_given: int | None = 18,
) -> PartitionState:
    return PartitionState(committed, head_acked, read, highwater, last_given)


def twice(watch: IdleWatch, seen: PartitionState) -> list[Hole | None]:
    return [watch.check(2, seen), watch.check(2, seen)]


def test_the_last_event_faust_passed_is_named_when_seen_twice() -> None:
    """19 was dropped, the last of its fetch: faust's read offset is at it, 18 was given."""
    assert twice(IdleWatch(), state()) == [None, Hole(19, 19)]


def test_offsets_given_before_the_seek_of_a_generation_name_the_range_up_to_the_last() -> None:
    """11..19 came before the seek set the read offset back to the committed 10 (unacked):
    the range reaches the last offset given (the stage handles only what was not acked)."""
    seen = state(10, read=10, last_given=19)
    assert twice(IdleWatch(), seen) == [None, Hole(10, 19)]


def test_a_read_offset_past_the_committed_one_names_the_range_to_it() -> None:
    seen = state(10, read=14, highwater=30, last_given=None)
    assert twice(IdleWatch(), seen) == [None, Hole(10, 14)]


def test_nothing_is_named_where_faust_will_still_give_the_committed_offset() -> None:
    cases = [
        state(head_acked=True),  # acked: the commit moves on
        state(highwater=19),  # Kafka holds nothing at 19: caught up
        state(read=18),  # faust has not passed 19
        state(read=19, last_given=None),  # the generation's seek put it there; fetch follows
        state(None),  # the committed offset is not known yet
        state(read=None),
        state(highwater=None),
    ]
    for seen in cases:
        assert twice(IdleWatch(), seen) == [None, None], seen


def test_a_change_between_checks_or_a_busy_stage_starts_the_watch_again() -> None:
    watch = IdleWatch()
    assert watch.check(2, state(last_given=17)) is None
    assert watch.check(2, state(last_given=18)) is None  # something was given since
    watch.forget()  # the agent was busy at this check
    assert watch.check(2, state()) is None
    assert watch.check(2, state()) == Hole(19, 19)
    assert watch.check(2, state()) is None  # named once; seen twice again before the next


def test_the_last_given_offset_is_per_generation_and_a_fill_moves_it_on() -> None:
    watch = HoleWatch()
    watch.delivered(2, G, 18, 10)
    assert (watch.last(2, G), watch.last(2, G + 1), watch.last(1, G)) == (18, None, None)
    watch.filled(2, G, 19)
    assert watch.delivered(2, G, 20, 10) is None  # 19 was filled by the stage: no hole
    watch.filled(2, G, 15)  # behind what was given: no change
    assert watch.last(2, G) == 20
