"""Where a stream partition starts after a rebalance (``streams.seeking``), on real Kafka.

A partition whose group has committed nothing, after records were fetched from it, must go back
to its beginning when the worker seeks to committed offsets: aiokafka's own method leaves it
where the fetch left it, and the records fetched and then dropped are never read again.
"""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ferry.topics import TopicSpec, ensure_topics
from streams.seeking import committed_or_beginning

pytestmark = [pytest.mark.kafka]

RECORDS = 5


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:
    name = f"seek-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(name, partitions=2)])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(RECORDS):  # partition 0 only; partition 1 stays empty
            await producer.send_and_wait(name, f"r{i}".encode(), partition=0)
    finally:
        await producer.stop()
    return name


async def fetched_consumer(bootstrap: str, topic: str, group: str) -> AIOKafkaConsumer:
    """A consumer of ``group`` assigned both partitions, which has fetched all of partition 0."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
    seen = 0
    while seen < RECORDS:
        batches = await consumer.getmany(timeout_ms=2000)
        seen += sum(len(records) for records in batches.values())
    return consumer


async def test_aiokafka_alone_leaves_an_uncommitted_partition_past_what_it_fetched(
    kafka_bootstrap: str, topic: str
) -> None:
    consumer = await fetched_consumer(kafka_bootstrap, topic, f"g-{uuid.uuid4().hex[:8]}")
    try:
        committed = await consumer.seek_to_committed()
        tp = TopicPartition(topic, 0)
        assert committed[tp] is None
        assert await consumer.position(tp) == RECORDS  # the fetched records are behind it
    finally:
        await consumer.stop()


async def test_an_uncommitted_partition_goes_back_to_its_beginning(
    kafka_bootstrap: str, topic: str
) -> None:
    consumer = await fetched_consumer(kafka_bootstrap, topic, f"g-{uuid.uuid4().hex[:8]}")
    try:
        committed = await committed_or_beginning(consumer)
        assert committed == {TopicPartition(topic, 0): None, TopicPartition(topic, 1): None}
        assert await consumer.position(TopicPartition(topic, 0)) == 0
        assert await consumer.position(TopicPartition(topic, 1)) == 0
        again = await consumer.getmany(TopicPartition(topic, 0), timeout_ms=5000)
        assert [r.value for r in again[TopicPartition(topic, 0)]][:1] == [b"r0"]
    finally:
        await consumer.stop()


async def test_a_committed_partition_goes_to_its_committed_offset(
    kafka_bootstrap: str, topic: str
) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    tp = TopicPartition(topic, 0)
    consumer = await fetched_consumer(kafka_bootstrap, topic, group)
    try:
        await consumer.commit({tp: 2})
        assert await committed_or_beginning(consumer) == {tp: 2, TopicPartition(topic, 1): None}
        assert await consumer.position(tp) == 2
    finally:
        await consumer.stop()


async def test_a_partition_committed_at_0_goes_back_to_0(kafka_bootstrap: str, topic: str) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    tp = TopicPartition(topic, 0)
    consumer = await fetched_consumer(kafka_bootstrap, topic, group)
    try:
        await consumer.commit({tp: 0})
        assert (await committed_or_beginning(consumer))[tp] == 0
        assert await consumer.position(tp) == 0
    finally:
        await consumer.stop()


async def test_a_paused_partition_is_left_where_it_is(kafka_bootstrap: str, topic: str) -> None:
    tp = TopicPartition(topic, 0)
    consumer = await fetched_consumer(kafka_bootstrap, topic, f"g-{uuid.uuid4().hex[:8]}")
    try:
        consumer.pause(tp)
        await committed_or_beginning(consumer)
        assert await consumer.position(tp) == RECORDS
    finally:
        await consumer.stop()
