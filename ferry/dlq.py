"""Dead letters: the original bytes plus the reason, and a brake against mass dead-lettering.

A dead letter keeps the original key, value and headers byte for byte and adds ``ferry.error.*``
headers (the same idea as Kafka Connect's ``__connect.errors.*``). :class:`DlqBrake` stops the
consumer when most of a partition's recent events fail (a bad deploy, a renamed field) instead
of dead-lettering everything; :class:`PartitionBrakes` keeps one per partition of a consumer
that reads many (the streams stage), so that failures on one partition (one bad key replayed)
never count against another.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from aiokafka import AIOKafkaProducer

from ferry import privacy
from ferry.envelope import Headers
from ferry.errors import FerryError
from ferry.metrics import ServiceMetrics
from ferry.settings import DlqSettings
from ferry.timefmt import format_timestamp
from ferry.topics import dlq

__all__ = [
    "ERROR_PREFIX",
    "DeadLetterWriter",
    "DlqBrake",
    "DlqBrakeTripped",
    "PartitionBrakes",
    "SourceRecord",
    "dead_letter_headers",
    "error_headers",
]

ERROR_PREFIX = "ferry.error."
_MAX_MESSAGE = 2000


class SourceRecord(Protocol):
    """What a dead letter needs of the record that failed (aiokafka's ConsumerRecord fits)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Headers | tuple[tuple[str, bytes], ...] | None: ...


def error_headers(
    record: SourceRecord,
    error: BaseException,
    *,
    stage: str,
    service: str,
    attempts: int,
    first_failed_at: datetime,
) -> Headers:
    # A ValidationError masks a personal field's value itself; free text (a target's answer,
    # an exception's words) may still hold an e-mail address: masked here.
    message = privacy.scrub(str(error)) or type(error).__name__
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    field_name = error.field if isinstance(error, FerryError) else None
    rule = error.rule if isinstance(error, FerryError) else None
    values = {
        "stage": stage,
        "class": type(error).__name__,
        "message": message,
        "field": field_name or "",
        "rule": rule or "",
        "attempts": str(attempts),
        "first_failed_at": format_timestamp(first_failed_at),
        "service": service,
        "topic": record.topic,
        "partition": str(record.partition),
        "offset": str(record.offset),
    }
    return [(ERROR_PREFIX + k, v.encode("utf-8")) for k, v in values.items()]


def dead_letter_headers(
    record: SourceRecord,
    error: BaseException,
    *,
    stage: str,
    service: str,
    attempts: int = 1,
    first_failed_at: datetime | None = None,
) -> Headers:
    """The dead letter's headers: the original ones (earlier error headers left out) plus
    ``ferry.error.*`` for this failure."""
    original = [(k, v) for k, v in (record.headers or ()) if not k.startswith(ERROR_PREFIX)]
    return original + error_headers(
        record,
        error,
        stage=stage,
        service=service,
        attempts=attempts,
        first_failed_at=first_failed_at or datetime.now(UTC),
    )


class DeadLetterWriter:
    """Writes a failed record to ``dlq.<topic>``; returns once Kafka acknowledged it."""

    def __init__(self, producer: AIOKafkaProducer, service: str, metrics: ServiceMetrics) -> None:
        self._producer = producer
        self._service = service
        self._metrics = metrics

    async def send(
        self,
        record: SourceRecord,
        error: BaseException,
        *,
        stage: str,
        attempts: int = 1,
        first_failed_at: datetime | None = None,
    ) -> None:
        headers = dead_letter_headers(
            record,
            error,
            stage=stage,
            service=self._service,
            attempts=attempts,
            first_failed_at=first_failed_at,
        )
        await self._producer.send_and_wait(
            dlq(record.topic), value=record.value, key=record.key, headers=headers
        )
        self._metrics.dlq.labels(self._service, record.topic, type(error).__name__).inc()


class DlqBrakeTripped(FerryError):
    """Too many recent events failed: stop the consumer (or the partition, see
    :class:`PartitionBrakes`) and alert, do not dead-letter more. ``topic`` and ``partition``
    name the partition that tripped, when known."""

    def __init__(self, message: str, *, topic: str = "", partition: int | None = None) -> None:
        super().__init__(message)
        self.topic = topic
        self.partition = partition


@dataclass
class DlqBrake:
    """Counts outcomes over a sliding window; :meth:`record` raises when the brake trips."""

    settings: DlqSettings = field(default_factory=DlqSettings)
    _window: deque[bool] = field(default_factory=deque, init=False)
    _consecutive: int = field(default=0, init=False)

    def record(self, ok: bool, *, topic: str = "") -> None:
        self._window.append(ok)
        if len(self._window) > self.settings.window:
            self._window.popleft()
        self._consecutive = 0 if ok else self._consecutive + 1
        failed = self._window.count(False)
        if self._consecutive >= self.settings.max_consecutive:
            raise DlqBrakeTripped(
                f"{topic or 'consumer'}: {self._consecutive} consecutive events failed; "
                "stopping instead of dead-lettering everything (fix the cause, then restart)"
            )
        if (
            len(self._window) >= self.settings.min_events
            and failed / len(self._window) > self.settings.max_invalid_ratio
        ):
            raise DlqBrakeTripped(
                f"{topic or 'consumer'}: {failed} of the last {len(self._window)} events failed "
                f"(more than {self.settings.max_invalid_ratio:.0%}); stopping instead of "
                "dead-lettering everything (fix the cause, then restart)"
            )


@dataclass
class PartitionBrakes:
    """One :class:`DlqBrake` per ``(topic, partition)``, all with the same ``settings``.

    :meth:`record` counts an outcome against its partition only and raises
    :class:`DlqBrakeTripped` (naming the partition) when that partition's brake trips; the
    partition stays :meth:`tripped` from then on, until :meth:`release`. What tripping stops
    is the caller's to decide (the streams stage stops that partition only).
    """

    settings: DlqSettings = field(default_factory=DlqSettings)
    _brakes: dict[tuple[str, int], DlqBrake] = field(default_factory=dict, init=False)
    _tripped: set[tuple[str, int]] = field(default_factory=set, init=False)

    def record(self, ok: bool, *, topic: str, partition: int) -> None:
        where = (topic, partition)
        brake = self._brakes.get(where)
        if brake is None:
            brake = self._brakes[where] = DlqBrake(self.settings)
        try:
            brake.record(ok, topic=f"{topic}[{partition}]")
        except DlqBrakeTripped as exc:
            self._tripped.add(where)
            raise DlqBrakeTripped(str(exc), topic=topic, partition=partition) from None

    def tripped(self, topic: str, partition: int) -> bool:
        return (topic, partition) in self._tripped

    @property
    def tripped_partitions(self) -> list[tuple[str, int]]:
        return sorted(self._tripped)

    def release(self, topic: str, partition: int) -> None:
        """Forget the partition's trip and its counts (it starts afresh)."""
        self._tripped.discard((topic, partition))
        self._brakes.pop((topic, partition), None)
