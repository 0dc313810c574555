"""A bounded FIFO of deliveries in flight, settled strictly in order (see ``docs/streams.md``)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

__all__ = ["AckWindow", "interrupted_by"]

T = TypeVar("T")


class AckWindow(Generic[T]):
    """A bounded FIFO of items whose deliveries are in flight, settled strictly in order.

    :meth:`put` appends an item with its delivery (an awaitable, or ``None`` when nothing was
    sent) and returns at once, unless ``limit`` items are pending: then it waits for the head to
    settle (backpressure). :meth:`run` (the drainer, one task) awaits the head's delivery, then
    calls ``settle(item)`` and drops the head, and so on. A delivery (or ``settle``) that raises
    ends :meth:`run` with that exception and leaves that item and every later one unsettled for
    good; the exception is kept in :attr:`failure`.
    """

    def __init__(self, limit: int, settle: Callable[[T], Awaitable[None]]) -> None:
        if limit < 1:
            raise ValueError("the window must hold at least one item")
        self.limit = limit
        self.failure: BaseException | None = None
        self._settle = settle
        self._items: deque[tuple[T, Awaitable[Any] | None]] = deque()
        self._pending = asyncio.Event()  # there is something to settle
        self._progress = asyncio.Event()  # the head was settled

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        """The items not settled yet, oldest first."""
        return (item for item, _ in self._items)

    async def put(self, item: T, delivery: Awaitable[Any] | None) -> None:
        while len(self._items) >= self.limit:
            await self._wait_progress()
        self._items.append((item, delivery))
        self._pending.set()

    async def drained(self) -> None:
        """Return once every item put so far was settled."""
        while self._items:
            await self._wait_progress()

    async def _wait_progress(self) -> None:
        if self.failure is not None:
            raise self.failure
        self._progress.clear()
        await self._progress.wait()
        if self.failure is not None:
            raise self.failure

    async def run(self) -> None:
        items = self._items
        try:
            while True:
                if not items:
                    self._pending.clear()
                    await self._pending.wait()
                    continue
                item, delivery = items[0]
                if delivery is not None:
                    await delivery
                await self._settle(item)
                items.popleft()
                self._progress.set()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.failure = exc
            self._progress.set()  # a waiting put()/drained() raises it
            raise

    def clear(self) -> None:
        """Forget every unsettled item (their events stay unacked)."""
        self._items.clear()


@contextmanager
def interrupted_by(drainers: Sequence[asyncio.Task[None]]) -> Iterator[None]:
    """Cancel the current task if one of ``drainers`` fails while the block runs.

    The task may be waiting anywhere in the block (the next event, a full window, a send); the
    cancel wakes it so it can raise the failure. Once the block is left, a drainer's failure
    cancels nothing: the task may already be handling that failure (it saw it through a
    window's :meth:`AckWindow.put` or :meth:`AckWindow.drained`), and a cancel there would
    interrupt whoever reports it (faust's agent crash handling, for one).
    """
    task = asyncio.current_task()
    inside = True

    def on_done(drainer: asyncio.Task[None]) -> None:
        if inside and task is not None and not drainer.cancelled() and drainer.exception():
            task.cancel()

    for drainer in drainers:
        drainer.add_done_callback(on_done)
    try:
        yield
    finally:
        inside = False
        for drainer in drainers:
            drainer.remove_done_callback(on_done)
