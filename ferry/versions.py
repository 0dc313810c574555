"""A sink's version guard state: the newest version applied per entity, in a compacted topic.

For targets that cannot hold Ferry's version themselves, a sink records what it applied in
``ferry.sink.<flow>.versions`` (key: the entity, value: the version) and refuses an older
event (a late retry, a replay). The topic is read to its end before the sink starts.
"""

from __future__ import annotations

from datetime import datetime

from aiokafka import AIOKafkaProducer

from ferry.kafka import make_producer, read_table
from ferry.settings import KafkaSettings
from ferry.timefmt import format_timestamp, parse_timestamp
from ferry.topics import TopicSpec, ensure_topics, internal

__all__ = ["VersionStore", "versions_topic"]


def versions_topic(flow: str) -> str:
    return internal(f"sink.{flow}.versions")


class VersionStore:
    """``get``/``put`` of the newest version per key; ``put`` returns once Kafka has it."""

    def __init__(self, kafka: KafkaSettings, flow: str) -> None:
        self.kafka = kafka
        self.topic = versions_topic(flow)
        self._versions: dict[str, datetime] = {}
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        spec = TopicSpec.for_name(self.topic, 1, self.kafka.replication_factor)
        await ensure_topics(self.kafka, [spec])
        await self._load()
        self._producer = make_producer(self.kafka, client_id=f"versions-{self.topic}")
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    def get(self, key: str) -> datetime | None:
        return self._versions.get(key)

    def is_stale(self, key: str, version: datetime) -> bool:
        """True when ``version`` is older than what was applied for ``key``.

        An equal version is not stale: sources such as Odoo stamp versions to the second, so a
        second change within one second carries the same version and must still apply (the
        sinks set absolute values, so applying the same state again changes nothing).
        """
        held = self._versions.get(key)
        return held is not None and version < held

    async def put(self, key: str, version: datetime) -> None:
        if self._producer is None:
            raise RuntimeError("the version store is not started")
        await self._producer.send_and_wait(
            self.topic, format_timestamp(version).encode(), key=key.encode()
        )
        held = self._versions.get(key)
        if held is None or version > held:
            self._versions[key] = version

    async def _load(self) -> None:
        for key, value in (await read_table(self.kafka, self.topic)).items():
            moment = parse_timestamp(value.decode()) if value else None
            if moment is not None:
                self._versions[key.decode()] = moment
