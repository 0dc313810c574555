"""Read a range of offsets of one partition straight from Kafka, outside faust's consumer.

The stream stage fills a range faust skipped (``streams.holes``) with what this returns: a
short-lived consumer of its own (no group, nothing committed) assigned to the partition, sought
to the range's first offset, read until its position passes the range's last one or the
partition's end. Records outside the range are left out. A range that holds no record comes
back empty: such offsets are transaction markers, or records compacted away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from ferry.kafka import connection
from ferry.settings import KafkaSettings

__all__ = ["RangeReader", "range_reader", "read_range"]

RangeReader = Callable[[str, int, int, int], Awaitable[list[ConsumerRecord[bytes, bytes]]]]


async def read_range(
    settings: KafkaSettings, topic: str, partition: int, start: int, end: int, *, timeout_s: float
) -> list[ConsumerRecord[bytes, bytes]]:
    """The records of ``topic`` partition ``partition`` at offsets ``start``..``end``.
    Raises ``TimeoutError`` if they cannot be read in ``timeout_s`` seconds."""
    tp = TopicPartition(topic, partition)
    consumer = AIOKafkaConsumer(
        **connection(settings),
        enable_auto_commit=False,
        client_id=f"{settings.client_id}-refill",
        request_timeout_ms=max(settings.request_timeout_ms, 10_000),
    )
    async with asyncio.timeout(timeout_s):
        await consumer.start()
        try:
            consumer.assign([tp])
            stop = min(end + 1, (await consumer.end_offsets([tp]))[tp])
            consumer.seek(tp, start)
            found: list[ConsumerRecord[bytes, bytes]] = []
            while await consumer.position(tp) < stop:
                batches = await consumer.getmany(tp, timeout_ms=500)
                for records in batches.values():
                    found.extend(r for r in records if start <= r.offset <= end)
            return found
        finally:
            await consumer.stop()


def range_reader(settings: KafkaSettings, *, timeout_s: float = 30.0) -> RangeReader:
    """:func:`read_range` with ``settings``: ``reader(topic, partition, start, end)``."""

    async def reader(
        topic: str, partition: int, start: int, end: int
    ) -> list[ConsumerRecord[bytes, bytes]]:
        return await read_range(settings, topic, partition, start, end, timeout_s=timeout_s)

    return reader
