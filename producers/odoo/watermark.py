"""The capture's progress per model, kept in a compacted topic ``ferry.capture.odoo.<model>``.

A :class:`Watermark` is the newest ``write_date`` emitted plus what was emitted inside the
overlap window, as ``(id, write_date, digest of the row)``, so a restart (or a second
instance) re-reads the window and emits nothing twice, while a second write in the same second
(same ``write_date``, other content) is still news. No local state file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from ferry.kafka import read_table
from ferry.settings import KafkaSettings
from ferry.timefmt import format_timestamp, parse_timestamp
from ferry.topics import TopicSpec, internal
from producers.odoo.feeds import parse_odoo_datetime

__all__ = ["KafkaWatermarks", "Watermark", "WatermarkStore", "watermark_topic"]


def watermark_topic(model: str) -> str:
    return internal(f"capture.odoo.{model}")


@dataclass(frozen=True, slots=True)
class Watermark:
    since: datetime | None = None
    seen: frozenset[tuple[int, str, str]] = field(default_factory=frozenset)

    def advanced(
        self, emitted: set[tuple[int, str, str]], newest: datetime | None, overlap: timedelta
    ) -> Watermark:
        """This watermark after ``emitted`` rows, the newest at ``newest``; pairs older than the
        overlap window are forgotten."""
        since = max(filter(None, (self.since, newest)), default=None)
        seen = self.seen | emitted
        if since is not None:
            floor = since - overlap
            seen = frozenset(p for p in seen if _moment(p[1]) >= floor)
        return Watermark(since, frozenset(seen))

    def to_bytes(self) -> bytes:
        body = {
            "since": format_timestamp(self.since) if self.since else None,
            "seen": sorted([i, d, h] for i, d, h in self.seen),
        }
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Watermark:
        body: dict[str, Any] = json.loads(data)
        since = parse_timestamp(body["since"]) if body.get("since") else None
        seen = frozenset((int(i), str(d), str(h)) for i, d, h in body.get("seen", []))
        return cls(since, seen)


def _moment(odoo_datetime: str) -> datetime:
    return parse_odoo_datetime(odoo_datetime)


class WatermarkStore(Protocol):
    async def load(self, model: str) -> Watermark: ...
    async def save(self, model: str, watermark: Watermark) -> None: ...


class Producer(Protocol):
    async def send_and_wait(
        self, topic: str, value: bytes | None = ..., key: bytes | None = ...
    ) -> Any: ...


class KafkaWatermarks:
    """Watermarks in compacted topics: the last value of the model's key wins."""

    def __init__(self, kafka: KafkaSettings, producer: Producer) -> None:
        self._kafka = kafka
        self._producer = producer

    def topics(self, models: list[str]) -> list[TopicSpec]:
        return [
            TopicSpec.for_name(watermark_topic(m), 1, self._kafka.replication_factor)
            for m in models
        ]

    async def load(self, model: str) -> Watermark:
        value = (await read_table(self._kafka, watermark_topic(model))).get(model.encode())
        return Watermark.from_bytes(value) if value else Watermark()

    async def save(self, model: str, watermark: Watermark) -> None:
        await self._producer.send_and_wait(
            watermark_topic(model), watermark.to_bytes(), model.encode()
        )
