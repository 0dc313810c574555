"""The publish API's idempotency store on a real broker: what one gateway remembered, another
finds, whether it starts after the answer or was already running."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from ferry.settings import KafkaSettings
from ferry.topics import ensure_topics
from producers.gateway.publish import IdempotencyStore, store_topic

pytestmark = pytest.mark.kafka


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    made = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await made.start()
    yield made
    await made.stop()


async def until(condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_an_answer_remembered_by_one_instance_is_found_by_the_others(
    kafka_bootstrap: str, producer: AIOKafkaProducer
) -> None:
    topic = f"ferry.idempotency.{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [store_topic(topic, 86_400, 3, 1)])
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)

    async def send(name: str, key: bytes, value: bytes) -> Any:
        return await producer.send_and_wait(name, value=value, key=key)

    first = IdempotencyStore(kafka, topic, 86_400, send)
    running = IdempotencyStore(kafka, topic, 86_400, send)
    await first.start()
    await running.start()
    try:
        for n in range(20):
            await first.remember(f"pos\x1fevt-{n}", f"digest-{n}", 202, {"ids": [f"evt-{n}"]})
        # Already running: follows the topic and sees every answer within seconds.
        await until(lambda: all(running.get(f"pos\x1fevt-{n}") for n in range(20)))
        # Started afterwards: reads them before it serves.
        late = IdempotencyStore(kafka, topic, 86_400, send)
        await late.start()
        try:
            found = [late.get(f"pos\x1fevt-{n}") for n in range(20)]
            assert [f.digest if f else None for f in found] == [f"digest-{n}" for n in range(20)]
            assert all(
                f is not None and f.body == {"ids": [f"evt-{n}"]} for n, f in enumerate(found)
            )
            assert late.get("pos\x1fnever-sent") is None
        finally:
            await late.stop()
    finally:
        await first.stop()
        await running.stop()


async def test_answers_older_than_the_window_are_forgotten(
    kafka_bootstrap: str, producer: AIOKafkaProducer
) -> None:
    topic = f"ferry.idempotency.{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [store_topic(topic, 86_400, 1, 1)])
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    now = [1_000_000.0]

    async def send(name: str, key: bytes, value: bytes) -> Any:
        return await producer.send_and_wait(name, value=value, key=key)

    writer = IdempotencyStore(kafka, topic, 3600, send, clock=lambda: now[0])
    await writer.start()
    await writer.remember("pos\x1fold", "d", 202, {"ids": ["old"]})
    now[0] += 1800
    await writer.remember("pos\x1ffresh", "d", 202, {"ids": ["fresh"]})
    await writer.stop()
    now[0] += 1801
    reader = IdempotencyStore(kafka, topic, 3600, send, clock=lambda: now[0])
    await reader.start()
    try:
        assert reader.get("pos\x1fold") is None
        fresh = reader.get("pos\x1ffresh")
        assert fresh is not None
        assert fresh.body == {"ids": ["fresh"]}
    finally:
        await reader.stop()
