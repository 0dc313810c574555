"""``ferry replay``: re-emit a time range of a topic, through the normal path.

The records whose timestamps fall in ``[from, to)`` (found with offsets-for-times, partition by
partition) are produced again, to the same topic or ``to_topic``, with their key, value and
headers and ``ferry.replay.count`` one higher. Everything downstream is idempotent (the
change-only filter, the sinks' version guard), so a replay changes only what was lost.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from ferry.kafka import KafkaTarget, connection
from ferry.ops.dlq import REPLAY_COUNT
from ferry.ops.reading import partitions_of

__all__ = ["ReplayPlan", "plan", "replay_range"]


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """Per partition: the offsets ``[first, last)`` that the range covers."""

    topic: str
    ranges: dict[int, tuple[int, int]]

    @property
    def records(self) -> int:
        return sum(last - first for first, last in self.ranges.values())


async def plan(
    kafka: KafkaTarget, topic: str, since: datetime, until: datetime | None
) -> ReplayPlan:
    numbers = await partitions_of(kafka, topic)
    tps = [TopicPartition(topic, p) for p in numbers]
    consumer = AIOKafkaConsumer(**connection(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps) if tps else {}
        starts = await consumer.offsets_for_times(dict.fromkeys(tps, int(since.timestamp() * 1000)))
        stops = (
            await consumer.offsets_for_times(dict.fromkeys(tps, int(until.timestamp() * 1000)))
            if until is not None
            else {}
        )
    finally:
        await consumer.stop()
    ranges = {}
    for tp in tps:
        first = starts.get(tp)
        stop = stops.get(tp)
        begin = ends[tp] if first is None else int(first.offset)
        end = ends[tp] if stop is None else int(stop.offset)
        if end > begin:
            ranges[tp.partition] = (begin, end)
    return ReplayPlan(topic, ranges)


def _headers(record: ConsumerRecord[bytes, bytes]) -> list[tuple[str, bytes]]:
    kept = [(k, v) for k, v in (record.headers or ()) if k != REPLAY_COUNT]
    count = 0
    for k, v in record.headers or ():
        if k == REPLAY_COUNT:
            try:
                count = int(v)
            except ValueError:
                count = 0
    return [*kept, (REPLAY_COUNT, str(count + 1).encode())]


async def replay_range(
    kafka: KafkaTarget,
    chosen: ReplayPlan,
    producer: AIOKafkaProducer,
    *,
    to_topic: str | None = None,
    key: bytes | None = None,
    progress: Callable[[int], None] = lambda _: None,
    sent: Callable[[int], None] = lambda _: None,
) -> int:
    """Produce the records of ``chosen`` again (those of ``key`` only, if given).
    ``progress`` hears of the records read, ``sent`` of those Kafka acknowledged."""
    consumer = AIOKafkaConsumer(
        **connection(kafka),
        group_id=None,
        enable_auto_commit=False,
        client_id=f"ferry-replay-{uuid.uuid4().hex[:8]}",
    )
    await consumer.start()
    done = 0
    try:
        tps = {TopicPartition(chosen.topic, p): r for p, r in chosen.ranges.items()}
        consumer.assign(list(tps))
        for tp, (first, _) in tps.items():
            consumer.seek(tp, first)
        left = set(tps)
        while left:
            batch = await consumer.getmany(*left, timeout_ms=1000)
            deliveries = []
            for tp, records in batch.items():
                last = tps[tp][1]
                for record in records:
                    if record.offset >= last:
                        left.discard(tp)
                        break
                    progress(1)
                    if key is not None and record.key != key:
                        continue
                    deliveries.append(
                        await producer.send(
                            to_topic or chosen.topic,
                            value=record.value,
                            key=record.key,
                            headers=_headers(record),
                        )
                    )
                if await consumer.position(tp) >= last:
                    left.discard(tp)
            if deliveries:
                await asyncio.gather(*deliveries)
                done += len(deliveries)
                sent(len(deliveries))
        return done
    finally:
        await consumer.stop()
