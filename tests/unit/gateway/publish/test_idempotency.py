"""The idempotency store forgets answers once they are older than its window (no broker)."""

from __future__ import annotations

from typing import Any

from ferry.settings import KafkaSettings
from producers.gateway.publish.idempotency import IdempotencyStore

WINDOW_S = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def _sent(_topic: str, _key: bytes, _value: bytes) -> Any:
    return None


async def test_answers_older_than_the_window_are_forgotten_not_kept_for_ever() -> None:
    """Delivery ids are unique: an expired answer is rarely looked up again, so forgetting it
    only when its own key comes back kept every answer ever given in memory."""
    clock = Clock()
    store = IdempotencyStore(KafkaSettings(), "t", WINDOW_S, _sent, clock=clock)
    for n in range(1000):
        await store.remember(f"old-{n}", "d", 202, {})
    clock.now += WINDOW_S + 1
    await store.remember("new", "d", 202, {})
    assert len(store) == 1
    assert store.get("old-0") is None
    assert store.get("new") is not None


async def test_answers_within_the_window_stay() -> None:
    clock = Clock()
    store = IdempotencyStore(KafkaSettings(), "t", WINDOW_S, _sent, clock=clock)
    await store.remember("a", "d", 202, {})
    clock.now += WINDOW_S / 2
    await store.remember("b", "d", 202, {})
    clock.now += WINDOW_S / 2 - 1  # a is 59 s old
    await store.remember("c", "d", 202, {})
    assert len(store) == 3
    assert [store.get(k) is not None for k in "abc"] == [True, True, True]


def test_answers_read_from_the_topic_are_forgotten_too() -> None:
    clock = Clock()
    store = IdempotencyStore(KafkaSettings(), "t", WINDOW_S, _sent, clock=clock)
    value = b'{"digest":"d","status":202,"body":{},"at":%f}'
    for n in range(100):
        store._load(f"k{n}".encode(), value % clock.now)
    clock.now += WINDOW_S + 1
    store._load(b"fresh", value % clock.now)
    assert len(store) == 1
