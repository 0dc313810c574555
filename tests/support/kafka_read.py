"""Read everything a topic holds right now, for counting in tests."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ferry.ops.reading import partitions_of

__all__ = [
    "group_lag",
    "partitions_of",
    "read_all",
    "skip_to_the_end",
    "until_no_lag",
    "wait_for_keys",
]


async def read_all(
    bootstrap: str, topic: str, *, timeout_s: float = 10.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record from the beginning to the current end of every partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=f"test-reader-{uuid.uuid4().hex[:8]}",
    )
    await consumer.start()
    try:
        partitions = await partitions_of(bootstrap, topic)
        if not partitions:
            return []
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if loop.time() > deadline:
                raise TimeoutError(f"could not read {topic} to its end in {timeout_s} s")
            batch = await consumer.getmany(timeout_ms=500)
            for items in batch.values():
                records.extend(items)
        return records
    finally:
        await consumer.stop()


async def wait_for_keys(
    bootstrap: str, topic: str, keys: set[bytes], *, count: int, timeout_s: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """The records of ``topic`` whose key is in ``keys``, once there are ``count`` (or timeout)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        found = [r for r in await read_all(bootstrap, topic) if r.key in keys]
        if len(found) >= count or loop.time() > deadline:
            return found
        await asyncio.sleep(0.5)


async def group_lag(bootstrap: str, group: str, topic: str) -> int:
    """Records of ``topic`` that ``group`` has not committed yet (all of them if none)."""
    partitions = await partitions_of(bootstrap, topic)
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await consumer.start()
    await admin.start()
    try:
        ends = await consumer.end_offsets(tps) if tps else {}
        committed = await admin.list_consumer_group_offsets(group, partitions=tps)
    finally:
        await admin.close()
        await consumer.stop()
    done = {tp: meta.offset for tp, meta in committed.items() if meta.offset >= 0}
    return sum(end - done.get(tp, 0) for tp, end in ends.items())


async def until_no_lag(bootstrap: str, group: str, topic: str, *, timeout_s: float = 60.0) -> None:
    """Wait until ``group`` has committed everything ``topic`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while lag := await group_lag(bootstrap, group, topic):
        if loop.time() > deadline:
            raise TimeoutError(f"{group} still lags {lag} on {topic} after {timeout_s} s")
        await asyncio.sleep(0.5)


async def skip_to_the_end(
    bootstrap: str, group: str, topics: list[str], *, timeout_s: float = 60.0
) -> int:
    """Commit the current end of every partition of ``topics`` for ``group`` (which must have
    no live members: a member that was killed leaves at its session timeout, so refusals are
    tried again until ``timeout_s``). Returns how many records the group skipped."""
    tps = [
        TopicPartition(topic, p) for topic in topics for p in await partitions_of(bootstrap, topic)
    ]
    if not tps:
        return 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            before = {tp: await consumer.committed(tp) for tp in tps}
            await consumer.commit(dict(ends))
            return sum(end - (before[tp] or 0) for tp, end in ends.items())
        except Exception:
            if loop.time() > deadline:
                raise
        finally:
            await consumer.stop()
        await asyncio.sleep(1.0)
