"""One flow in the faust app: its agent, its change-only table, its brakes and its metrics.

The agent acks an event only after Kafka acknowledged what was sent for it (its output or its
dead letter), through an :class:`~streams.window.AckWindow`; the table remembers the digest of
the content last sent per key. The DLQ brake counts per source partition: when one partition's
recent events mostly fail, that partition stops (the event that tripped it and every later one
of it are neither dead-lettered nor acked, so its committed offset stays before them, and its
fetching is paused) with an ERROR naming it, and the flow's other partitions go on; a restart
(after fixing the cause) takes it up again from its committed offset. ``docs/streams.md`` says
why each step is where it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import faust
from aiokafka import ConsumerRecord
from faust.types import TP, EventT, Message

from ferry import logs
from ferry.dlq import DlqBrakeTripped, PartitionBrakes, dead_letter_headers
from ferry.envelope import Headers
from ferry.flow import Flow
from ferry.metrics import ServiceMetrics, dead_letter_classes
from ferry.ops.dlq import REPLAY_COUNT
from ferry.settings import DlqSettings
from streams.commits import acked, committed_offset, head_acked, mark_absent, read_offset
from streams.holes import Hole, HoleWatch, IdleWatch, PartitionState
from streams.processor import Failure, FlowProcessor, Output
from streams.refill import RangeReader
from streams.window import AckWindow, interrupted_by

__all__ = ["FlowStage", "Pending", "Refilled"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refilled:
    """A source event the stage read from Kafka itself (faust had skipped it): acked on the
    consumer directly, as faust acks the events it gives."""

    message: Message

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes], tp: TP, generation: int | None) -> Refilled:
        """``record`` of ``tp``, as a faust message of consumer generation ``generation``."""
        return cls(
            Message(
                record.topic,
                record.partition,
                record.offset,
                record.timestamp / 1000.0,
                record.timestamp_type,
                list(record.headers),
                record.key,
                record.value,
                record.checksum,
                record.serialized_key_size,
                record.serialized_value_size,
                tp,
                generation_id=generation,
            )
        )


@dataclass(slots=True)
class Pending:
    """One source event on its way: what was sent for it, to settle once Kafka has it."""

    event: EventT[bytes] | Refilled
    began: float
    output: Output | None = None  # sent to the target (None: a dead letter or a duplicate)
    failure: Failure | None = None  # dead-lettered
    digest: bytes = b""


class FlowStage:
    """The agent of one flow. ``table`` is its change-only table (key → digest last sent)."""

    def __init__(
        self,
        app: faust.App,
        flow: Flow,
        processor: FlowProcessor,
        table: Any,
        *,
        brake: DlqSettings,
        metrics: ServiceMetrics,
        service: str,
        max_in_flight: int,
        read_range: RangeReader,
        idle_check_s: float = 5.0,
    ) -> None:
        self.app = app
        self.flow = flow
        self.processor = processor
        self.table = table
        self.brake = PartitionBrakes(brake)  # one per source partition
        self.metrics = metrics
        self.service = service
        self.max_in_flight = max_in_flight
        self.target = flow.target.topic
        self.dead_letters = flow.source_dlq
        # The labelled series of the hot path, looked up once.
        self._events_in = metrics.events_in.labels(service, flow.source.topic)
        self._events_out = metrics.events_out.labels(service, self.target)
        self._duplicates = metrics.duplicates.labels(service, self.target)
        self._filtered = metrics.filtered.labels(service, flow.source.topic)
        self._processing = metrics.processing.labels(service, flow.name)
        for error_class in dead_letter_classes():  # at 0: the first dead letter shows in a rate
            metrics.dlq.labels(service, flow.source.topic, error_class)
        # The newest in-flight send of each key (its digest is what the key will hold).
        self._sending: dict[bytes, Pending] = {}
        self._lag: dict[int, Any] = {}  # source partition → its ferry_consumer_lag series
        self._holes = HoleWatch()  # offsets of a source partition skipped before they came
        self._read_range = read_range
        # Offsets faust passed without giving them, found while the agent waits for events:
        # checked every idle_check_s, filled by the watch while the agent waits its turn.
        self.idle_check_s = idle_check_s
        self._idle = IdleWatch()
        self._turn = asyncio.Lock()
        self._handling = False
        self.changelog: str = table.changelog_topic.get_topic_name()

    # -- the agent -------------------------------------------------------------------------

    async def agent(self, stream: faust.StreamT[bytes]) -> None:
        """Two ordered windows: ``sent`` settles an event once Kafka acknowledged its output or
        dead letter (and sends the change-only table's changelog record); ``recorded`` acks it
        once Kafka acknowledged that changelog record too. Both are pipelined."""
        manual = cast("faust.Stream[bytes]", stream).noack()
        logs.bind(flow=self.flow.name)  # this task's lines, and its drainers'

        async def ack(pending: Pending) -> None:
            if isinstance(pending.event, Refilled):  # read by the stage, not given by faust
                self.app.consumer.ack(pending.event.message)
            else:
                await manual.ack(pending.event)
            self._report_lag(pending.event.message)

        recorded: AckWindow[Pending] = AckWindow(self.max_in_flight, ack)

        async def settle(pending: Pending) -> None:
            await recorded.put(pending, await self._settle(pending))

        sent: AckWindow[Pending] = AckWindow(self.max_in_flight, settle)
        agent = asyncio.current_task()
        drainers = [
            asyncio.create_task(sent.run(), name=f"streams.{self.flow.name}.sent"),
            asyncio.create_task(recorded.run(), name=f"streams.{self.flow.name}.recorded"),
        ]
        watch = asyncio.create_task(
            self._watch_idle(sent, recorded), name=f"streams.{self.flow.name}.idle"
        )
        self._sending.clear()
        try:
            # A failed delivery stops the agent wherever it waits; it raises the failure below.
            with interrupted_by(drainers):
                async for event in manual.events():
                    if self._turn.locked():  # the idle watch is filling offsets: after it
                        async with self._turn:
                            pass
                    self._handling = True
                    await self.handle(event, sent)
                    self._handling = False
                await sent.drained()
                await recorded.drained()
        except asyncio.CancelledError:
            failure = sent.failure or recorded.failure
            if failure is not None:
                if agent is not None:
                    agent.uncancel()  # the cancel was ours: the failure is what ends the agent
                raise failure from None
            raise
        finally:
            watch.cancel()
            self._handling = False
            for drainer in drainers:
                drainer.cancel()
            sent.clear()
            recorded.clear()
            self._sending.clear()

    async def handle(self, event: EventT[bytes], window: AckWindow[Pending]) -> None:
        """Process one source event: send its output or dead letter and put it in ``window``.

        Returns once the send is queued in the producer (and the window had room); the
        window's drainer acks the event once Kafka acknowledged what was sent for it. An event
        of a partition whose brake tripped is left alone: not processed, not acked.
        """
        await self._check_delivered(event.message, window)
        await self._process(event, window)

    async def _process(self, event: EventT[bytes] | Refilled, window: AckWindow[Pending]) -> None:
        message: Any = event.message  # a ConsumerMessage (faust types headers loosely)
        topic, partition = message.topic, message.partition
        if self.brake.tripped(topic, partition):
            self._pause(topic, partition)  # again: a rebalance may have resumed it
            return
        pending = Pending(event, time.perf_counter())
        self._events_in.inc()
        logs.bind_event(message.key, message.headers)
        outcome = self.processor.process(message.key, message.value, message.headers)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "event %s[%s]@%s: %s",
                topic,
                partition,
                message.offset,
                "mapped"
                if isinstance(outcome, Output)
                else "filtered"
                if outcome is None
                else f"failed at stage {outcome.stage}",
            )
        if isinstance(outcome, Output):
            self.brake.record(True, topic=topic, partition=partition)
            await window.put(pending, await self._emit(pending, outcome))
        elif outcome is None:  # nothing for the target: acked in its turn
            self.brake.record(True, topic=topic, partition=partition)
            self._filtered.inc()
            await window.put(pending, None)
        else:
            try:
                self.brake.record(False, topic=topic, partition=partition)
            except DlqBrakeTripped as tripped:
                self._stop_partition(message, outcome, tripped)
                return
            await window.put(pending, await self._dead_letter(pending, outcome))

    async def _check_delivered(self, message: Any, window: AckWindow[Pending]) -> None:
        """Handle the offsets of the message's partition that faust skipped (``streams.holes``)
        before the message itself: faust may drop an event it fetched while its flow was
        suspended (a rebalance, a recovery). The partition's commit waits at the first skipped
        offset meanwhile (``streams.commits``), so nothing is lost even if the worker stops."""
        consumer = self.app.consumer
        tp = message.tp
        hole = self._holes.delivered(
            message.partition,
            getattr(message, "generation_id", 0),
            message.offset,
            committed_offset(consumer, tp),
        )
        if hole is None:
            return
        self._count_skipped(message.partition, hole.missing)
        records = await self._read_range(message.topic, message.partition, hole.start, hole.end)
        log.warning(
            "%s partition %s: offsets %s..%s were skipped before flow %s saw them; read from "
            "Kafka, %s of them hold events, handled now (what was already sent is not sent "
            "again)",
            message.topic,
            message.partition,
            hole.start,
            hole.end,
            self.flow.name,
            len(records),
        )
        await self._fill(tp, hole, records, window, getattr(message, "generation_id", None))

    async def _fill(
        self,
        tp: TP,
        hole: Hole,
        records: list[ConsumerRecord[bytes, bytes]],
        window: AckWindow[Pending],
        generation: int | None,
        handled: Callable[[int], bool] = lambda offset: False,
    ) -> None:
        """Handle ``records`` (read from Kafka for ``hole``) but those ``handled`` already;
        the hole's offsets that hold no record count as acked."""
        consumer = self.app.consumer
        expected = hole.start
        for record in records:
            if record.offset > expected:  # no record there: a marker, or compacted away
                mark_absent(consumer, tp, expected, record.offset - 1)
            if not handled(record.offset):
                await self._process(Refilled.of(record, tp, generation), window)
            expected = record.offset + 1
        if expected <= hole.end:
            mark_absent(consumer, tp, expected, hole.end)

    def _count_skipped(self, partition: int, offsets: int) -> None:
        self.metrics.offsets_skipped.labels(
            self.service, self.flow.source.topic, str(partition)
        ).inc(offsets)

    # -- offsets faust passed without giving them (seen while idle) ----------------------

    async def _watch_idle(self, *windows: AckWindow[Pending]) -> None:
        """Every ``idle_check_s``: look for source partitions whose commit waits at an offset
        faust passed without giving it to the stage (``streams.holes.IdleWatch``) and fill
        them. Only while the agent waits for its next event (faust has nothing queued for it):
        an event queued behind a busy agent is not one faust passed."""
        while True:
            await asyncio.sleep(self.idle_check_s)
            if self._handling:
                self._idle.forget()
                continue
            try:
                holes = self._passed_holes(windows)
                if not holes:
                    continue
                async with self._turn:
                    for tp, hole in holes:
                        await self._fill_passed(tp, hole, windows)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the partition's commit keeps waiting: nothing is lost
                log.warning(
                    "flow %s: filling offsets faust passed failed (%s: %s); trying again in %s s",
                    self.flow.name,
                    type(exc).__name__,
                    exc,
                    self.idle_check_s,
                )

    def _passed_holes(self, windows: tuple[AckWindow[Pending], ...]) -> list[tuple[TP, Hole]]:
        consumer: Any = self.app.consumer  # faust types it loosely
        if self.app.rebalancing or not consumer.flow_active:
            self._idle.forget()
            return []
        generation = self.app.consumer_generation_id
        in_flight = _in_flight(windows)
        holes: list[tuple[TP, Hole]] = []
        for tp in consumer.assignment():
            if tp.topic != self.flow.source.topic or self.brake.tripped(tp.topic, tp.partition):
                continue
            committed = committed_offset(consumer, tp)
            state = PartitionState(
                committed=committed,
                head_acked=head_acked(consumer, tp) or (tp.partition, committed) in in_flight,
                read_offset=read_offset(consumer, tp),
                highwater=_highwater(consumer, tp),
                last_given=self._holes.last(tp.partition, generation),
            )
            hole = self._idle.check(tp.partition, state)
            if hole is not None:
                holes.append((tp, hole))
        return holes

    async def _fill_passed(
        self, tp: TP, hole: Hole, windows: tuple[AckWindow[Pending], ...]
    ) -> None:
        """Read ``hole`` of ``tp`` from Kafka and handle the offsets of it that were neither
        acked nor are in flight in ``windows``: faust passed them without giving them to the
        stage. The events go into the first window, as the agent's do."""
        consumer = self.app.consumer
        in_flight = _in_flight(windows)

        def handled(offset: int) -> bool:
            return acked(consumer, tp, offset) or (tp.partition, offset) in in_flight

        missing = [o for o in range(hole.start, hole.end + 1) if not handled(o)]
        if not missing:
            return
        generation = self.app.consumer_generation_id
        hole = Hole(missing[0], missing[-1])
        records = await self._read_range(tp.topic, tp.partition, hole.start, hole.end)
        self._count_skipped(tp.partition, len(missing))
        log.warning(
            "%s partition %s: offsets %s..%s were never given to flow %s (faust passed them; "
            "the partition's commit waited at the first), %s of them not handled; read from "
            "Kafka, %s of those hold events, handled now",
            tp.topic,
            tp.partition,
            hole.start,
            hole.end,
            self.flow.name,
            len(missing),
            sum(1 for r in records if not handled(r.offset)),
        )
        await self._fill(tp, hole, records, windows[0], generation, handled)
        self._holes.filled(tp.partition, generation, hole.end)

    def _report_lag(self, message: Any) -> None:
        """The source partition's lag once ``message`` is acked: the log end as last fetched
        (faust's highwater) past it. A stopped partition keeps its last value."""
        # None until the first fetch of the partition, or with no consumer (yet, or stopping)
        high = _highwater(self.app.consumer, TP(message.topic, message.partition))
        if high is None:
            return
        gauge = self._lag.get(message.partition)
        if gauge is None:
            gauge = self.metrics.consumer_lag.labels(
                self.service, message.topic, str(message.partition)
            )
            self._lag[message.partition] = gauge
        gauge.set(max(int(high) - int(message.offset) - 1, 0))

    def _stop_partition(self, message: Any, failure: Failure, tripped: DlqBrakeTripped) -> None:
        """The brake of the message's partition tripped: that partition stops here."""
        log.error(
            "DLQ brake tripped on %s partition %s (flow %s): %s; that partition stops at "
            "offset %s (not dead-lettered, not acked: its committed offset stays before it) "
            "until the worker restarts, the other partitions go on (last error: %s: %s)",
            message.topic,
            message.partition,
            self.flow.name,
            tripped,
            message.offset,
            type(failure.error).__name__,
            failure.error,
        )
        self._pause(message.topic, message.partition)

    def _pause(self, topic: str, partition: int) -> None:
        """Stop fetching the partition (its events would be left alone anyway)."""
        try:
            self.app.consumer.pause_partitions({TP(topic, partition)})
        except Exception as exc:  # no consumer yet, or it is stopping
            log.warning("could not pause %s partition %s: %s", topic, partition, exc)

    async def _send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Headers | None,
        partition: int | None = None,
    ) -> Awaitable[Any]:
        """Queue one record in faust's producer; return its delivery future.

        Straight to ``app.producer.send``: the bytes are final, and faust's topic layer costs
        more per event than the rest of the send. The partition is the producer's (by key)
        unless given.
        """
        return await self.app.producer.send(topic, key, value, partition, None, headers)

    def _latest(self, key: bytes) -> bytes | None:
        """The digest ``key`` has, or will have once its sends in flight are acknowledged."""
        sending = self._sending.get(key)
        if sending is not None:
            return sending.digest
        return cast("bytes | None", self.table.get(key))

    async def _emit(self, pending: Pending, output: Output) -> Awaitable[Any] | None:
        key = output.key
        digest = output.digest.encode()
        replayed = _replayed(pending.event.message.headers)
        if key is not None and not replayed and self._latest(key) == digest:
            self._duplicates.inc()
            return None  # nothing to send; acked in its turn
        delivery = await self._send(self.target, key, output.value, output.headers)
        pending.output, pending.digest = output, digest
        if key is not None:
            self._sending[key] = pending
        return delivery  # Kafka acknowledges it (acks=all), or it raises

    async def _dead_letter(self, pending: Pending, failure: Failure) -> Awaitable[Any]:
        message: Any = pending.event.message
        headers = dead_letter_headers(
            message, failure.error, stage=failure.stage, service=self.service
        )
        delivery = await self._send(self.dead_letters, message.key, message.value, headers)
        pending.failure = failure
        return delivery

    async def _settle(self, pending: Pending) -> Awaitable[Any] | None:
        """Kafka acknowledged what was sent for ``pending`` (if anything): record it; return
        the delivery of the changelog record (``None`` when nothing was remembered)."""
        output, failure = pending.output, pending.failure
        recording: Awaitable[Any] | None = None
        if output is not None:
            if output.key is not None:
                recording = await self._remember(pending, output.key)
            self._events_out.inc()
        elif failure is not None:
            message = pending.event.message
            self.metrics.dlq.labels(self.service, message.topic, type(failure.error).__name__).inc()
            log.warning(
                "dead-lettered %s[%s]@%s at stage %s: %s",
                message.topic,
                message.partition,
                message.offset,
                failure.stage,
                failure.error,
                extra=logs.event_fields(message.key, message.headers),
            )
        self._processing.observe(time.perf_counter() - pending.began)
        return recording

    async def _remember(self, pending: Pending, key: bytes) -> Awaitable[Any]:
        """``table[key] = digest`` outside faust's event context (see ``docs/streams.md``);
        the changelog record's delivery, which the event's ack waits for.

        The record goes to the table's changelog partition (the event's) straight through the
        producer, as the outputs do: faust's ``send_changelog`` would queue it in its buffer
        and hand it to a task of its own first, for nothing an in-memory table needs."""
        if self._sending.get(key) is pending:
            del self._sending[key]  # no newer send of the key in flight
        self.table.data[key] = pending.digest  # before the send waits: _latest sees it
        return await self._send(
            self.changelog, key, pending.digest, None, pending.event.message.partition
        )


def _replayed(headers: Any) -> bool:
    """A replay (``ferry replay``, ``ferry dlq replay``, ``ferry reconcile --repair``) goes
    through even when the key's last output had the same digest: it was asked for."""
    items = headers.items() if isinstance(headers, dict) else headers or ()
    return any(name == REPLAY_COUNT for name, _ in items)


def _in_flight(windows: tuple[AckWindow[Pending], ...]) -> set[tuple[int, int]]:
    """(partition, offset) of every source event in ``windows`` not acked yet."""
    return {
        (pending.event.message.partition, pending.event.message.offset)
        for window in windows
        for pending in window
    }


def _highwater(consumer: Any, tp: TP) -> int | None:
    """The partition's log end as last fetched; ``None`` when unknown: not fetched yet, no
    consumer (yet, or stopping), or the partition left the assignment meanwhile (the
    consumer's thread rebalances on its own)."""
    try:
        high: int | None = consumer.highwater(tp)
    except Exception:
        return None
    return high
