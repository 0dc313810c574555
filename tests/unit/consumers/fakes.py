"""In-memory doubles of the consumer, the producer and a sink, for the runner's unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiokafka.structs import TopicPartition

from consumers.runner import Outcome, SinkEvent
from ferry.dlq import SourceRecord
from ferry.envelope import CloudEvent, Headers, deterministic_id
from ferry.serde import SingleObjectSerde

TOPIC = "sink.odoo.sale_orders"
RETRY = "retry.sink.odoo.sale_orders"
EVENT_TYPE = "odoo.sale_order.upsert"


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers


def command(order_id: int, *, skus: Sequence[str] = ("SKU-001",), **over: Any) -> dict[str, Any]:
    """An ``odoo.sale_order.upsert`` command as the streams stage would produce it."""
    value: dict[str, Any] = {
        "external_id": f"ferry.shop_order_{order_id}",
        "client_order_ref": f"#{order_id}",
        "partner": {
            "email": f"customer{order_id % 3}@example.com",
            "name": f"Customer {order_id % 3}",
            "street": "1 Main Street",
            "street2": None,
            "city": "Brussels",
            "zip": "1000",
            "country_code": "BE",
        },
        "currency_code": "EUR",
        "order_lines": [
            {
                "default_code": sku,
                "name": f"Product {sku}",
                "product_uom_qty": 2.0,
                "price_unit": Decimal("19.9900"),
            }
            for sku in skus
        ],
        "date_order": datetime(2026, 11, 1, 12, 30, 15, tzinfo=UTC),
        "source_system": "shop",
        "source_updated_at": datetime(2026, 11, 1, 12, 30, 15, 123000, tzinfo=UTC),
        "confirm": True,
    }
    value.update(over)
    return value


def headers_for(data: Mapping[str, Any], event_type: str = EVENT_TYPE) -> Headers:
    ident = deterministic_id(
        "test", str(data["external_id"]), str(data["source_updated_at"].isoformat())
    )
    return CloudEvent(
        id=ident, source="ferry/streams/test", type=event_type, subject=str(data["external_id"])
    ).to_headers()


_serde = SingleObjectSerde()


def encode(data: Mapping[str, Any]) -> bytes:
    return _serde.encode(EVENT_TYPE, data)


class FakeConsumer:
    """A topic's partitions and its retry topic's as lists; offsets are list indexes."""

    def __init__(self, partitions: int = 2, batch: int = 10) -> None:
        self.logs: dict[TopicPartition, list[Record]] = {
            TopicPartition(topic, p): [] for topic in (TOPIC, RETRY) for p in range(partitions)
        }
        self.position: dict[TopicPartition, int] = dict.fromkeys(self.logs, 0)
        self.committed_offsets: dict[TopicPartition, int] = {}
        self.log_start: dict[TopicPartition, int] = dict.fromkeys(self.logs, 0)
        self.commits: list[dict[TopicPartition, int]] = []
        self.paused: set[TopicPartition] = set()
        self.batch = batch
        self.listener: Any = None
        self.topics: list[str] = [TOPIC]
        self.started = False
        self.stopped = False
        self._assigned = False

    def add(
        self,
        partition: int,
        value: bytes | None,
        headers: Headers,
        key: bytes | None = b"k",
        topic: str = TOPIC,
    ) -> int:
        tp = TopicPartition(topic, partition)
        log = self.logs[tp]
        log.append(Record(topic, partition, len(log), key, value, headers))
        return len(log) - 1

    def add_command(
        self, partition: int, data: Mapping[str, Any], key: bytes | None = b"k"
    ) -> None:
        self.add(partition, encode(data), headers_for(data), key=key)

    def subscribe(
        self, topics: Sequence[str] = (), pattern: Any = None, listener: Any = None
    ) -> None:
        assert list(topics) in ([TOPIC], [TOPIC, RETRY])
        self.topics = list(topics)
        self.listener = listener

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> Mapping[TopicPartition, Sequence[Any]]:
        if not self._assigned:
            self._assigned = True
            await self.listener.on_partitions_assigned(self.assignment())
        out: dict[TopicPartition, list[Record]] = {}
        for tp, log in self.logs.items():
            if tp in self.paused or tp.topic not in self.topics:
                continue
            chunk = log[self.position[tp] : self.position[tp] + self.batch]
            if chunk:
                out[tp] = chunk
                self.position[tp] += len(chunk)
        if not out:
            await asyncio.sleep(timeout_ms / 1000 / 10)
        return out

    async def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        assert offsets
        self.commits.append(dict(offsets))
        self.committed_offsets.update(offsets)

    async def committed(self, partition: TopicPartition) -> int | None:
        return self.committed_offsets.get(partition)

    async def beginning_offsets(
        self, partitions: Sequence[TopicPartition]
    ) -> dict[TopicPartition, int]:
        return {tp: self.log_start[tp] for tp in partitions}

    async def end_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: len(self.logs[tp]) for tp in partitions}

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused.difference_update(partitions)

    def assignment(self) -> set[TopicPartition]:
        return {tp for tp in self.logs if tp.topic in self.topics} if self._assigned else set()

    def highwater(self, partition: TopicPartition) -> int | None:
        return len(self.logs[partition])


@dataclass
class Sent:
    topic: str
    value: bytes | None
    key: bytes | None
    headers: Headers

    def header(self, name: str) -> str:
        return dict(self.headers)[name].decode()


@dataclass(frozen=True)
class Metadata:
    offset: int


class FakeProducer:
    """Records what was sent; what goes to the retry topic lands in ``consumer``'s log."""

    def __init__(self, consumer: FakeConsumer | None = None) -> None:
        self.consumer = consumer
        self.sent: list[Sent] = []
        self.fail_next = 0
        self.started = False
        self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Any = None,
    ) -> Any:
        if self.fail_next:
            from aiokafka.errors import KafkaTimeoutError

            self.fail_next -= 1
            raise KafkaTimeoutError("no broker")
        self.sent.append(Sent(topic, value, key, list(headers or ())))
        if self.consumer is not None and topic == RETRY:
            assert partition is not None
            return Metadata(self.consumer.add(partition, value, list(headers or ()), key, RETRY))
        return Metadata(len(self.sent) - 1)

    def to(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == topic]


Behaviour = Callable[[SinkEvent, SourceRecord], Awaitable[Outcome]]


@dataclass
class FakeSink:
    """Applies by calling ``behaviour`` (default: applied); records what it saw."""

    behaviour: Behaviour | None = None
    name: str = "odoo"
    topic: str = TOPIC
    event_type: str = EVENT_TYPE
    seen: list[tuple[int, int]] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    is_ready: bool = True
    idempotent: bool = False  # an order applied before is a DUPLICATE, as a real sink says

    async def apply(self, event: SinkEvent, record: SourceRecord) -> Outcome:
        self.seen.append((record.partition, record.offset))
        outcome = Outcome.APPLIED
        if self.behaviour is not None:
            outcome = await self.behaviour(event, record)
        if self.idempotent and str(event.data["external_id"]) in self.applied:
            return Outcome.DUPLICATE
        if outcome is Outcome.APPLIED:
            self.applied.append(str(event.data["external_id"]))
        return outcome

    async def ready(self) -> bool:
        return self.is_ready


BatchBehaviour = Callable[[Sequence[SinkEvent], Sequence[SourceRecord]], Awaitable[list[Any]]]


@dataclass
class FakeBatchSink(FakeSink):
    """A batch sink: ``batch_behaviour`` answers a whole batch (default: each applied as
    ``apply`` would); ``batches`` records the offsets of every call."""

    batch_behaviour: BatchBehaviour | None = None
    batches: list[list[tuple[int, int]]] = field(default_factory=list)

    async def apply_batch(
        self, events: Sequence[SinkEvent], records: Sequence[SourceRecord]
    ) -> Sequence[Any]:
        self.batches.append([(r.partition, r.offset) for r in records])
        if self.batch_behaviour is not None:
            results = await self.batch_behaviour(events, records)
        else:
            results = []
            for event, record in zip(events, records, strict=True):
                try:
                    results.append(await self.apply(event, record))
                except Exception as exc:  # the sink's own error for this event
                    results.append(exc)
            return results
        for i, (event, result) in enumerate(zip(events, results, strict=False)):
            if result is Outcome.APPLIED:
                if self.idempotent and str(event.data["external_id"]) in self.applied:
                    results[i] = Outcome.DUPLICATE
                else:
                    self.applied.append(str(event.data["external_id"]))
        return results
