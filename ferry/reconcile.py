"""Reconciliation, whatever the target: the report, the repair, and the scheduled run.

A connected system that can be reconciled gives its :class:`~ferry.flow.System` a
``reconcile`` function: given a :class:`Job` (a flow, its target connection, where Kafka is
and how to sign in to it, the serde and an optional start time) it returns a :class:`Report` of
``missing`` / ``different`` / ``unexpected`` records, or ``None`` when the flow's target is of
a kind it does not reconcile. ``ferry reconcile`` runs it once; a sink service runs it every
``flows.<name>.reconcile_every_s`` and keeps the gauges ``ferry_reconcile_mismatches{flow,kind}``
and ``ferry_reconcile_last_run_timestamp_seconds{flow}`` current.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError

from ferry.errors import FerryError
from ferry.kafka import KafkaTarget
from ferry.ops.dlq import REPLAY_COUNT
from ferry.ops.reading import records_of

if TYPE_CHECKING:
    from ferry.flow import Flow
    from ferry.metrics import ServiceMetrics
    from ferry.serde import Serde

__all__ = [
    "KINDS",
    "Job",
    "Mismatch",
    "Reconcile",
    "Report",
    "latest_records",
    "repair",
    "run_every",
]

log = logging.getLogger(__name__)

KINDS = ("missing", "different", "unexpected")
FIRST_RUN_AFTER_S = 30.0


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One record the target does not hold as the source says; ``record`` is the latest
    source record (what a repair replays), None for an ``unexpected`` one."""

    kind: str
    external_id: str
    detail: str
    record: ConsumerRecord[bytes, bytes] | None = None


@dataclass
class Report:
    flow: str
    checked: int = 0
    invalid: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for m in self.mismatches if m.kind == kind)

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(kind)} {kind}" for kind in KINDS)
        invalid = f"{self.invalid} invalid (dead letters)"
        return f"{self.flow}: {self.checked} checked, {counts}; {invalid}"


@dataclass(frozen=True, slots=True)
class Job:
    """What one reconciliation is given. ``since``: only source records from then on (and
    then nothing is ``unexpected``: older records are not looked at). ``kafka``: the Kafka
    settings (or bare bootstrap servers) the source topic is read with."""

    kafka: KafkaTarget
    flow: Flow
    serde: Serde
    target: Any
    since: datetime | None = None


Reconcile = Callable[[Job], Awaitable[Report | None]]


async def latest_records(
    kafka: KafkaTarget, topic: str, *, since: datetime | None = None
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """The latest record of each key ``topic`` holds now (keyless records skipped), and only
    those written from ``since`` on.

    The topic is read twice: first for the latest offset of each key, then for the records at
    those offsets. Memory holds an offset per key (tens of bytes), never every key's record: a
    sink that reconciles 100,000 entities on schedule would otherwise hold them all at once."""
    latest: dict[bytes, tuple[int, int]] = {}  # key -> (partition, offset) of its latest
    floor = None if since is None else since.timestamp() * 1000
    async for record in records_of(kafka, topic):
        if record.key is None or (floor is not None and record.timestamp < floor):
            continue
        at = (record.partition, record.offset)
        previous = latest.get(record.key)
        if previous is None or at > previous:
            latest[record.key] = at
    if not latest:
        return
    async for record in records_of(kafka, topic):
        if record.key is not None and latest.get(record.key) == (record.partition, record.offset):
            yield record


async def repair(producer: AIOKafkaProducer, topic: str, report: Report) -> int:
    """Replay the latest source record of each missing or different record to ``topic``,
    marked as a replay (the change-only filter lets it through; the sink decides)."""
    sent = 0
    for mismatch in report.mismatches:
        record = mismatch.record
        if record is None or mismatch.kind == "unexpected":
            continue
        headers = [(k, v) for k, v in (record.headers or ()) if k != REPLAY_COUNT]
        await producer.send_and_wait(
            topic, value=record.value, key=record.key, headers=[*headers, (REPLAY_COUNT, b"1")]
        )
        sent += 1
    return sent


async def run_every(
    interval_s: float,
    reconcile: Reconcile,
    job: Job,
    metrics: ServiceMetrics,
    *,
    clock: Callable[[], float] = time.time,
) -> None:
    """Reconcile ``job`` every ``interval_s`` until cancelled, keeping the gauges current.
    The first run waits ``min(interval_s, 30)`` s: a sink that just started is still applying
    its backlog, which is not a mismatch. A run that fails (the target or Kafka unreachable) is
    logged and retried at the next interval; the gauges keep the last complete run's counts."""
    flow = job.flow.name
    await asyncio.sleep(min(interval_s, FIRST_RUN_AFTER_S))
    while True:
        started = clock()
        try:
            report = await reconcile(job)
        except (FerryError, KafkaError, OSError, TimeoutError) as exc:
            log.warning("reconcile %s: run failed, next in %.0f s (%s)", flow, interval_s, exc)
        else:
            if report is None:
                log.info("reconcile %s: its target is not one reconciliation covers", flow)
                return
            for kind in KINDS:
                metrics.reconcile_mismatches.labels(metrics.service, flow, kind).set(
                    report.count(kind)
                )
            metrics.reconcile_checked.labels(metrics.service, flow).set(report.checked)
            metrics.reconcile_last_run.labels(metrics.service, flow).set(clock())
            log.info("reconcile %s in %.1f s", report.summary(), clock() - started)
        await asyncio.sleep(interval_s)
