"""The leaky bucket: take up front, refund the difference, restore continuously, cap."""

from __future__ import annotations

from sandbox.shop.bucket import LeakyBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_pays_and_reports_whole_points_available() -> None:
    clock = Clock()
    bucket = LeakyBucket(2000, 100, clock)
    assert bucket.try_take(252)
    assert bucket.status() == {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": 1748,
        "restoreRate": 100.0,
    }


def test_a_cost_above_what_is_available_takes_nothing() -> None:
    clock = Clock()
    bucket = LeakyBucket(50, 10, clock)
    assert bucket.try_take(40)
    assert not bucket.try_take(11)
    assert bucket.available == 10
    assert bucket.try_take(10)
    assert bucket.available == 0


def test_points_restore_with_time_up_to_the_maximum() -> None:
    clock = Clock()
    bucket = LeakyBucket(100, 10, clock)
    assert bucket.try_take(100)
    clock.now = 2.5
    assert bucket.available == 25
    clock.now = 60.0
    assert bucket.available == 100


def test_a_refund_returns_the_unused_part_but_never_above_the_maximum() -> None:
    clock = Clock()
    bucket = LeakyBucket(100, 0, clock)
    assert bucket.try_take(60)
    bucket.refund(50)
    assert bucket.available == 90
    bucket.refund(500)
    assert bucket.available == 100
    bucket.refund(-5)
    assert bucket.available == 100


def test_configure_lowers_the_maximum_and_what_is_available_with_it() -> None:
    clock = Clock()
    bucket = LeakyBucket(2000, 100, clock)
    bucket.configure(maximum=20, restore_rate=0)
    assert bucket.status() == {
        "maximumAvailable": 20.0,
        "currentlyAvailable": 20,
        "restoreRate": 0.0,
    }
    assert bucket.try_take(20)
    clock.now = 100.0
    assert bucket.available == 0
    bucket.fill()
    assert bucket.available == 20
