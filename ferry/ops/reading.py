"""Read a topic from its start to the end it has now (no consumer group, nothing committed)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ferry.kafka import KafkaTarget, connection

__all__ = ["partitions_of", "records_of"]


async def partitions_of(kafka: KafkaTarget, topic: str) -> list[int]:
    """The partition numbers of ``topic`` (empty when it does not exist).

    A metadata request that names a topic makes a broker with ``auto.create.topics.enable``
    create it, so the topic is looked for among all topics first: asking never creates one."""
    admin = AIOKafkaAdminClient(**connection(kafka))
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return []
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    for entry in described:
        if entry["topic"] == topic and entry["error_code"] == 0:
            return sorted(p["partition"] for p in entry["partitions"])
    return []


async def records_of(
    kafka: KafkaTarget, topic: str, *, timeout_s: float = 60.0
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record ``topic`` holds now, partition by partition interleaved as fetched;
    nothing when the topic does not exist."""
    consumer = AIOKafkaConsumer(
        **connection(kafka),
        group_id=None,
        enable_auto_commit=False,
        client_id=f"ferry-ops-{uuid.uuid4().hex[:8]}",
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(kafka, topic)]
        if not tps:
            return
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            positions = {tp: await consumer.position(tp) for tp in tps}
            if all(positions[tp] >= ends[tp] for tp in tps):
                return
            if loop.time() > deadline:
                raise TimeoutError(f"could not read {topic} to its end in {timeout_s:.0f} s")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                for record in records:
                    if record.offset < ends[tp]:
                        yield record
    finally:
        await consumer.stop()
