"""The in-flight window of the streams agent: settles in order, bounded, stops at a failure."""

from __future__ import annotations

import asyncio

import pytest

from streams.window import AckWindow, interrupted_by


class Settled:
    def __init__(self) -> None:
        self.items: list[int] = []

    async def __call__(self, item: int) -> None:
        self.items.append(item)


async def test_items_settle_in_order_even_when_later_deliveries_finish_first() -> None:
    loop = asyncio.get_running_loop()
    settled = Settled()
    window: AckWindow[int] = AckWindow(10, settled)
    drainer = asyncio.create_task(window.run())
    futures = [loop.create_future() for _ in range(4)]
    for i, future in enumerate(futures):
        await window.put(i, future)
    await window.put(4, None)  # nothing sent (a duplicate): settles in its turn
    for future in reversed(futures[1:]):
        future.set_result(None)
    await asyncio.sleep(0.01)
    assert settled.items == []  # the head is still in flight
    futures[0].set_result(None)
    await asyncio.wait_for(window.drained(), 1)
    assert settled.items == [0, 1, 2, 3, 4]
    assert len(window) == 0
    drainer.cancel()


async def test_a_full_window_makes_put_wait_for_the_head() -> None:
    loop = asyncio.get_running_loop()
    settled = Settled()
    window: AckWindow[int] = AckWindow(2, settled)
    drainer = asyncio.create_task(window.run())
    first, second = loop.create_future(), loop.create_future()
    await window.put(0, first)
    await window.put(1, second)
    third = asyncio.create_task(window.put(2, None))
    await asyncio.sleep(0.01)
    assert not third.done()
    assert len(window) == 2
    second.set_result(None)  # not the head: no room yet
    await asyncio.sleep(0.01)
    assert not third.done()
    first.set_result(None)
    await asyncio.wait_for(third, 1)
    await asyncio.wait_for(window.drained(), 1)
    assert settled.items == [0, 1, 2]
    drainer.cancel()


async def test_a_failed_delivery_leaves_it_and_every_later_item_unsettled() -> None:
    loop = asyncio.get_running_loop()
    settled = Settled()
    window: AckWindow[int] = AckWindow(3, settled)
    drainer = asyncio.create_task(window.run())
    futures = [loop.create_future() for _ in range(3)]
    for i, future in enumerate(futures):
        await window.put(i, future)
    futures[2].set_result(None)  # a later delivery succeeded ...
    futures[0].set_result(None)
    await asyncio.sleep(0.01)
    assert settled.items == [0]
    await window.put(3, None)
    waiting = asyncio.create_task(window.put(4, None))  # the window is full again
    await asyncio.sleep(0.01)
    assert not waiting.done()
    futures[1].set_exception(RuntimeError("MESSAGE_TOO_LARGE"))  # ... an earlier one failed
    with pytest.raises(RuntimeError, match="MESSAGE_TOO_LARGE"):
        await asyncio.wait_for(drainer, 1)
    assert isinstance(window.failure, RuntimeError)
    with pytest.raises(RuntimeError, match="MESSAGE_TOO_LARGE"):
        await asyncio.wait_for(waiting, 1)  # the agent waiting for room learns it too
    with pytest.raises(RuntimeError, match="MESSAGE_TOO_LARGE"):
        await window.drained()
    assert settled.items == [0]  # neither 1 (failed) nor 2, 3 (later) was settled


async def test_a_cancelled_drainer_records_no_failure() -> None:
    window: AckWindow[int] = AckWindow(1, Settled())
    drainer = asyncio.create_task(window.run())
    await window.put(0, asyncio.get_running_loop().create_future())
    await asyncio.sleep(0)
    drainer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await drainer
    assert window.failure is None
    window.clear()
    assert len(window) == 0


def test_the_window_holds_at_least_one_item() -> None:
    with pytest.raises(ValueError):
        AckWindow(0, Settled())


async def test_a_failing_drainer_interrupts_the_task_waiting_in_the_block() -> None:
    loop = asyncio.get_running_loop()
    window: AckWindow[int] = AckWindow(10, Settled())
    drainer = asyncio.create_task(window.run())
    delivery = loop.create_future()
    await window.put(1, delivery)
    never = asyncio.Event()

    async def agent() -> str:
        try:
            with interrupted_by([drainer]):
                await never.wait()  # waiting for the next event
        except asyncio.CancelledError:
            assert isinstance(window.failure, OSError)
            return "interrupted"
        return "not interrupted"

    task = asyncio.create_task(agent())
    await asyncio.sleep(0)
    delivery.set_exception(OSError("broker said no"))
    assert await asyncio.wait_for(task, 1) == "interrupted"
    assert isinstance(drainer.exception(), OSError)


async def test_a_failure_seen_in_the_block_is_reported_without_a_cancel() -> None:
    """The task sees the failure itself (a full window's put raises it) and leaves the block;
    the drainer's end must not cancel it while it reports the failure (as faust's agent crash
    handling does, across several awaits): a cancel there lost the crash, the worker hung."""
    loop = asyncio.get_running_loop()
    window: AckWindow[int] = AckWindow(1, Settled())
    drainer = asyncio.create_task(window.run())
    delivery = loop.create_future()
    await window.put(1, delivery)
    reported: list[str] = []

    async def agent() -> None:
        try:
            with interrupted_by([drainer]):
                await window.put(2, None)  # full: waits for the head, which fails
        except OSError as failure:
            for _ in range(5):  # the crash handler's own awaits
                await asyncio.sleep(0)
            reported.append(str(failure))

    task = asyncio.create_task(agent())
    await asyncio.sleep(0)
    delivery.set_exception(OSError("broker said no"))
    await asyncio.wait_for(task, 1)
    assert reported == ["broker said no"]
    assert isinstance(drainer.exception(), OSError)
