"""The window of seen webhook delivery ids: exact times, expiry, and 16 bytes a key."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Sized

from ferry.settings import KafkaSettings
from producers.gateway.publish.idempotency import IdempotencyStore
from producers.gateway.seen import SeenWindow
from tests.unit.gateway.publish.test_idempotency import Clock, _sent

WINDOW_S = 3_600.0


def test_a_key_is_found_with_the_time_it_was_first_seen_across_closed_buckets() -> None:
    clock = Clock()
    seen = SeenWindow(WINDOW_S, buckets=4, clock=clock, salt=b"s" * 16)
    times: dict[str, float] = {}
    for n in range(400):  # 400 keys over 40 minutes: several buckets closed
        key = f"delivery-{n}"
        seen.add(key)
        times[key] = clock.now
        clock.now += 6.0
    seen.add("delivery-3", clock.now)  # seen again: the first time stays
    assert {k: seen.seen_at(k) for k in times} == times
    assert seen.seen_at("delivery-400") is None
    assert len(seen) == 400


def test_keys_leave_once_their_bucket_is_out_of_the_window_never_before() -> None:
    clock = Clock()
    seen = SeenWindow(WINDOW_S, buckets=4, clock=clock, salt=b"s" * 16)
    seen.add("early")
    clock.now += WINDOW_S  # exactly the window: still held
    assert seen.seen_at("early") == 1_000_000.0
    clock.now += WINDOW_S / 4 + 1  # its bucket closed and left the window
    seen.add("late")
    assert seen.seen_at("early") is None
    assert seen.seen_at("late") == clock.now
    assert len(seen) == 1


def test_a_topic_read_at_start_closes_buckets_by_size() -> None:
    clock = Clock()
    seen = SeenWindow(WINDOW_S, clock=clock, max_open=1000)
    for n in range(10_000):  # a day read at once: the clock does not move
        seen.add(f"d{n}", clock.now - WINDOW_S / 2)
    assert len(seen._closed) == 9
    assert all(seen.seen_at(f"d{n}") == clock.now - WINDOW_S / 2 for n in (0, 4_321, 9_999))


def test_salts_differ_between_windows() -> None:
    a, b = SeenWindow(WINDOW_S), SeenWindow(WINDOW_S)
    assert a._hash("delivery-1") != b._hash("delivery-1")


def _bytes_per_key(fill: Callable[[int], Sized], n: int) -> float:
    """What the object ``fill(n)`` returns holds, per key, while it is alive."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = fill(n)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(held) == n
    return (after - before) / n


def test_a_delivery_id_costs_at_most_48_bytes_held() -> None:
    """A day of deliveries at 20 a second (1.7 million ids) must fit a service's memory
    budget (150 MB) with room to spare; the store held ~830 bytes for each. (16 bytes in
    closed buckets; the open bucket, a dict, costs more while it fills.)"""
    clock = Clock()

    def fill(n: int) -> IdempotencyStore:
        store = IdempotencyStore(KafkaSettings(), "t", 86_400.0, _sent, clock=clock)
        for i in range(n):
            store._load(f"webhook\x1f/webhooks/shop\x1f{i:032x}".encode(), b'{"at":%f}' % clock.now)
            clock.now += 0.05
        return store

    assert _bytes_per_key(fill, 100_000) <= 48


async def test_the_store_says_when_a_delivery_was_seen_and_sends_it_compactly() -> None:
    clock = Clock()
    sent: list[tuple[bytes, bytes]] = []

    async def send(_topic: str, key: bytes, value: bytes) -> None:
        sent.append((key, value))

    store = IdempotencyStore(KafkaSettings(), "t", WINDOW_S, send, clock=clock)
    await store.see("webhook\x1f/w\x1fd-1")
    clock.now += 10
    assert store.seen_at("webhook\x1f/w\x1fd-1") == 1_000_000.0
    assert store.seen_at("webhook\x1f/w\x1fd-2") is None
    assert sent == [(b"webhook\x1f/w\x1fd-1", b'{"at":1000000.0}')]
    other = IdempotencyStore(KafkaSettings(), "t", WINDOW_S, send, clock=clock)
    other._load(*sent[0])  # another gateway reading the topic
    assert other.seen_at("webhook\x1f/w\x1fd-1") == 1_000_000.0
    clock.now += WINDOW_S
    assert store.seen_at("webhook\x1f/w\x1fd-1") is None  # out of the window
