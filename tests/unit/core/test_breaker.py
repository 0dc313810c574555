from __future__ import annotations

import asyncio

from ferry.breaker import BreakerSettings, BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(
        "odoo", BreakerSettings(window_s=10, failure_ratio=0.5, open_s=2), clock=clock
    )


def test_one_poison_key_never_opens_it_however_often_it_fails() -> None:
    b = breaker(Clock())
    for _ in range(500):
        b.record(False, [b"order-7"])
    assert b.state is BreakerState.CLOSED


def test_every_call_carrying_one_poison_record_shares_it_and_never_opens_it() -> None:
    b = breaker(Clock())
    b.record(False, [b"a", b"p", b"c", b"d"])  # a batch, then its halves, then p alone
    b.record(False, [b"a", b"p"])
    b.record(False, [b"p"])
    b.record(True, [b"c", b"d"])
    b.record(False, [b"p"])
    assert b.closed


def test_failed_calls_that_share_no_record_open_it() -> None:
    b = breaker(Clock())
    b.record(True, [b"a"])
    b.record(False, [b"b", b"c"])
    assert b.closed
    b.record(False, [b"d"])  # shares nothing with the other failure; 2 of 3 calls failed
    assert b.state is BreakerState.OPEN


def test_mostly_successful_calls_keep_it_closed_despite_failing_keys() -> None:
    b = breaker(Clock())
    for i in range(10):
        b.record(True, [i])
    for key in (b"x", b"y", b"z"):
        b.record(False, [key])
    assert b.closed  # 3 of 13 failed


def test_old_calls_leave_the_window() -> None:
    clock = Clock()
    b = breaker(clock)
    b.record(False, [b"a"])
    clock.now += 11
    b.record(False, [b"c"])
    assert b.closed


async def test_open_waits_then_one_probe_closes_it() -> None:
    clock = Clock()
    b = breaker(clock)
    for key in (b"a", b"b", b"c"):
        b.record(False, [key])
    assert b.state.value == "open"
    waiting = asyncio.create_task(b.admit())
    await asyncio.sleep(0.01)
    assert not waiting.done()  # open: callers wait
    clock.now += 2
    b._changed.set()  # the timer a real clock would have fired
    assert await asyncio.wait_for(waiting, 1) is True  # the probe
    assert b.state is BreakerState.HALF_OPEN
    other = asyncio.create_task(b.admit())
    await asyncio.sleep(0.01)
    assert not other.done()  # one probe at a time
    b.record(True, [b"a"], probe=True)
    assert await asyncio.wait_for(other, 1) is False
    assert b.closed


async def test_a_failed_probe_opens_it_for_twice_as_long() -> None:
    clock = Clock()
    b = breaker(clock)
    for key in (b"a", b"b", b"c"):
        b.record(False, [key])
    clock.now += 2
    assert await b.admit() is True
    b.record(False, [b"a"], probe=True)
    assert b.state is BreakerState.OPEN
    clock.now += 3
    assert await asyncio.wait_for(asyncio.shield(_admit_soon(b)), 0.05) is None  # still open
    clock.now += 1
    assert await b.admit() is True  # 4 s after the failed probe


async def _admit_soon(b: CircuitBreaker) -> bool | None:
    try:
        return await asyncio.wait_for(b.admit(), 0.02)
    except TimeoutError:
        return None


def test_state_changes_are_reported() -> None:
    seen: list[BreakerState] = []
    b = CircuitBreaker("odoo", on_change=seen.append)
    b.record(False, [b"a"])
    b.record(False, [b"b"])
    assert seen == [BreakerState.OPEN]


async def test_a_probe_that_learned_nothing_lets_the_next_caller_probe() -> None:
    clock = Clock()
    b = breaker(clock)
    for key in (b"a", b"b", b"c"):
        b.record(False, [key])
    clock.now += 2
    assert b.try_admit() is True
    assert b.try_admit() is None  # one probe at a time
    b.release()
    assert b.try_admit() is True
