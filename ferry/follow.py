"""A topic read from its start to its end, then followed: the in-memory view of a compacted
topic (the apps and their keys, the publish API's answers).

:meth:`TopicFollower.start` returns once every record that was in the topic when it started has
been handed to ``on_record`` (or after ``timeout_s``, with a warning); records written later
reach ``on_record`` within about a second, from a background task that keeps reading through
broker trouble. No consumer group: each process reads every partition itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from ferry.kafka import connection, translate_kafka_error
from ferry.settings import KafkaSettings

__all__ = ["TopicFollower"]

log = logging.getLogger(__name__)

OnRecord = Callable[[bytes | None, bytes | None], None]


class TopicFollower:
    def __init__(self, kafka: KafkaSettings, topic: str, on_record: OnRecord) -> None:
        self._kafka = kafka
        self.topic = topic
        self._on_record = on_record
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.loaded = asyncio.Event()

    async def start(self, *, timeout_s: float = 30.0) -> None:
        consumer = AIOKafkaConsumer(
            **connection(self._kafka),
            client_id=f"{self._kafka.client_id}-{self.topic}",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        self._consumer = consumer
        # No group: every partition, from its start (aiokafka signals no assignment event).
        consumer.subscribe([self.topic])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not consumer.assignment() and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        tps = sorted(consumer.assignment())
        ends = await consumer.end_offsets(tps) if tps else {}
        self._task = asyncio.create_task(self._read(ends), name=f"follow-{self.topic}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.loaded.wait(), max(deadline - loop.time(), 0.1))
        if not self.loaded.is_set():
            log.warning("%s was not read to its end in %.0f s; going on", self.topic, timeout_s)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def _read(self, ends: dict[TopicPartition, int]) -> None:
        consumer = self._consumer
        assert consumer is not None
        if not any(ends.values()):
            self.loaded.set()
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=1000)
                for records in batches.values():
                    for record in records:
                        self._on_record(record.key, record.value)
                if not self.loaded.is_set():
                    positions = {tp: await consumer.position(tp) for tp in ends}
                    if all(positions[tp] >= end for tp, end in ends.items()):
                        self.loaded.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep following through broker trouble
                log.warning(
                    "reading %s failed, trying again: %s", self.topic, translate_kafka_error(exc)
                )
                await asyncio.sleep(1.0)
