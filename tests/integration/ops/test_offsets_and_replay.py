"""``ferry offsets`` and ``ferry replay`` on the real broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from ferry.ops.dlq import REPLAY_COUNT
from ferry.ops.offsets import GroupBusy, group_state, offsets, reset
from ferry.ops.replay import plan, replay_range
from ferry.topics import TopicSpec, ensure_topics
from tests.support.kafka_read import read_all

pytestmark = pytest.mark.kafka


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    made = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await made.start()
    yield made
    await made.stop()


async def consume_all(bootstrap: str, topic: str, group: str, count: int) -> AIOKafkaConsumer:
    """A member of ``group`` that has read and committed ``count`` records (still a member)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen = 0
    deadline = time.monotonic() + 30
    while seen < count:
        assert time.monotonic() < deadline
        batch = await consumer.getmany(timeout_ms=500)
        seen += sum(len(records) for records in batch.values())
    await consumer.commit()
    return consumer


async def test_a_group_is_shown_refused_while_busy_and_moved_when_stopped(
    kafka_bootstrap: str, producer: AIOKafkaProducer
) -> None:
    topic, group = f"src.ops.{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 2)])
    for n in range(10):
        await producer.send_and_wait(topic, value=b"v", key=f"k{n}".encode(), partition=n % 2)
    member = await consume_all(kafka_bootstrap, topic, group, 10)
    try:
        found = await offsets(kafka_bootstrap, group)
        assert [(p.partition, p.committed, p.end, p.lag) for p in found] == [
            (0, 5, 5, 0),
            (1, 5, 5, 0),
        ]
        assert (await group_state(kafka_bootstrap, group))[1] == 1
        with pytest.raises(GroupBusy, match="1 member"):
            await reset(kafka_bootstrap, group, to_earliest=True)
    finally:
        await member.stop()
    moves = await reset(kafka_bootstrap, group, shift_by=-2)
    assert [(m.partition, m.before, m.after, m.reread) for m in moves] == [
        (0, 5, 3, 2),
        (1, 5, 3, 2),
    ]
    assert [p.lag for p in await offsets(kafka_bootstrap, group)] == [2, 2]
    await reset(kafka_bootstrap, group, to_earliest=True)
    assert [p.committed for p in await offsets(kafka_bootstrap, group)] == [0, 0]
    with pytest.raises(ValueError, match="choose one"):
        await reset(kafka_bootstrap, group, to_earliest=True, to_latest=True)


async def test_a_time_range_is_replayed_with_a_replay_count(
    kafka_bootstrap: str, producer: AIOKafkaProducer
) -> None:
    topic, copy = f"src.ops.{uuid.uuid4().hex[:8]}", f"src.copy.{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 2), TopicSpec(copy, 2)])
    now_ms = int(time.time() * 1000)
    for n in range(8):  # four an hour ago, four now
        stamp = now_ms - 3_600_000 if n < 4 else now_ms
        await producer.send_and_wait(
            topic, value=f"v{n}".encode(), key=f"k{n}".encode(), partition=n % 2, timestamp_ms=stamp
        )
    since = datetime.fromtimestamp((now_ms - 60_000) / 1000, UTC)
    chosen = await plan(kafka_bootstrap, topic, since, None)
    assert chosen.records == 4
    assert await replay_range(kafka_bootstrap, chosen, producer, to_topic=copy) == 4
    only_k5 = await replay_range(kafka_bootstrap, chosen, producer, to_topic=copy, key=b"k5")
    assert only_k5 == 1
    copies = await read_all(kafka_bootstrap, copy)
    assert sorted(r.value for r in copies) == [b"v4", b"v5", b"v5", b"v6", b"v7"]
    assert all(dict(r.headers)[REPLAY_COUNT] == b"1" for r in copies)
