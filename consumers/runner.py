"""The generic sink runner: consume one topic, apply each event to its target, commit after.

One worker per assigned partition applies records in offset order; a permanent failure is
dead-lettered, a transient one retried on the same record (the partition stalls, others go
on); credentials refused, the DLQ brake or a bug stop the runner. Offsets are committed only
past records whose effect was confirmed. Why and how: ``docs/sinks.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.structs import TopicPartition

from ferry.dlq import DeadLetterWriter, DlqBrake, DlqBrakeTripped
from ferry.envelope import CloudEvent
from ferry.errors import (
    AuthenticationError,
    DecodeError,
    FerryError,
    PermanentError,
    TransientError,
)
from ferry.kafka import translate_kafka_error
from ferry.metrics import ServiceMetrics
from ferry.retry import Backoff
from ferry.serde import Serde
from ferry.settings import DlqSettings
from ferry.sink import BatchResult, BatchSink, Outcome, Sink, SinkEvent

__all__ = [
    "ConsumerLike",
    "Outcome",
    "Sink",
    "SinkEvent",
    "SinkRunner",
    "SinkStopped",
    "group_id",
]

log = logging.getLogger(__name__)

STAGE = "sink"


def group_id(flow: str) -> str:
    """The consumer group of a flow's sink: ``ferry-sink-<flow>``."""
    return f"ferry-sink-{flow}"


class ConsumerLike(Protocol):
    """The part of ``AIOKafkaConsumer`` the runner uses (a fake implements it in unit tests)."""

    def subscribe(
        self, topics: Sequence[str] = ..., pattern: Any = ..., listener: Any = ...
    ) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = ..., max_records: int | None = ...
    ) -> Mapping[TopicPartition, Sequence[Any]]: ...
    async def commit(self, offsets: Mapping[TopicPartition, int] | None = ...) -> None: ...
    def pause(self, *partitions: TopicPartition) -> None: ...
    def resume(self, *partitions: TopicPartition) -> None: ...
    def assignment(self) -> set[TopicPartition]: ...
    def highwater(self, partition: TopicPartition) -> int | None: ...
    async def committed(self, partition: TopicPartition) -> int | None: ...
    async def beginning_offsets(
        self, partitions: Sequence[TopicPartition]
    ) -> Mapping[TopicPartition, int]: ...


class ProducerLike(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = ...,
        key: bytes | None = ...,
        partition: int | None = ...,
        timestamp_ms: int | None = ...,
        headers: Any = ...,
    ) -> Any: ...


class SinkStopped(FerryError):
    """The runner stopped on purpose (auth refused, DLQ brake, bug); the message says why."""


class _Interrupted(Exception):
    """The worker was asked to stop while waiting to retry."""


@dataclass
class _Partition:
    tp: TopicPartition
    brake: DlqBrake
    queue: deque[Any] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    done: int | None = None  # the offset to commit: one past the last finished record
    committed: int | None = None
    paused: bool = False
    stopping: bool = False


class SinkRunner:
    """Runs one :class:`Sink` over one consumer until :meth:`stop` or a fatal error.

    The runner starts and stops ``consumer`` and ``producer`` (the producer writes dead
    letters). ``max_buffered`` records per partition are held before the partition is paused.
    A :class:`~ferry.sink.BatchSink` is given up to ``batch_size`` queued records of a
    partition at once (what is waiting, never a wait for more); 1 keeps one ``apply`` per
    record.
    """

    def __init__(
        self,
        sink: Sink,
        consumer: ConsumerLike,
        producer: ProducerLike,
        *,
        serde: Serde,
        metrics: ServiceMetrics,
        backoff: Backoff | None = None,
        brake: DlqSettings | None = None,
        commit_interval_s: float = 0.5,
        max_buffered: int = 100,
        poll_timeout_ms: int = 200,
        batch_size: int = 1,
    ) -> None:
        self.sink = sink
        self.consumer = consumer
        self.producer = producer
        self.serde = serde
        self.metrics = metrics
        self.backoff = backoff or Backoff()
        self.brake_settings = brake or DlqSettings()
        self.commit_interval_s = commit_interval_s
        self.batch_size = batch_size
        # A batch sink under backlog gets up to ``batch_size`` records of a partition at once.
        self._batch_size = batch_size if isinstance(sink, BatchSink) else 1
        self.max_buffered = max(max_buffered, 2 * self._batch_size)
        self.poll_timeout_ms = poll_timeout_ms
        self.dead_letters = DeadLetterWriter(producer, metrics.service, metrics)
        self._partitions: dict[TopicPartition, _Partition] = {}
        self._stopping = False
        self._fatal: SinkStopped | None = None
        self._started = False
        self._last_commit = 0.0
        self._commit_lock = asyncio.Lock()

    # -- public ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the runner to stop: in-flight records finish, done offsets are committed."""
        self._stopping = True
        for part in self._partitions.values():
            part.stopping = True
            part.wake.set()
            part.ready.set()

    @property
    def assigned(self) -> set[TopicPartition]:
        if not self._started:
            return set()
        try:
            return set(self.consumer.assignment())
        except Exception:  # the consumer is not running
            return set()

    async def ready(self) -> bool:
        """Partitions assigned and the target reachable."""
        if self._stopping or not self.assigned:
            return False
        try:
            return await self.sink.ready()
        except Exception:
            return False

    async def run(self) -> None:
        """Consume until :meth:`stop`; raise :class:`SinkStopped` on a fatal error."""
        self.consumer.subscribe([self.sink.topic], listener=_Listener(self))
        await self.producer.start()
        try:
            await self.consumer.start()
            self._started = True
            try:
                await self._loop()
            finally:
                self._started = False
                await self._shutdown()
                await self.consumer.stop()
        finally:
            await self.producer.stop()
        if self._fatal is not None:
            raise self._fatal

    # -- the poll loop -----------------------------------------------------------------------

    async def _loop(self) -> None:
        self._last_commit = time.monotonic()
        while not self._stopping:
            try:
                batches = await self.consumer.getmany(timeout_ms=self.poll_timeout_ms)
            except Exception as exc:
                error = translate_kafka_error(exc)
                if isinstance(error, TransientError):
                    log.warning("polling Kafka failed, trying again: %s", error)
                    await asyncio.sleep(1.0)
                    continue
                self._fail(f"Kafka refused to serve {self.sink.topic}: {error}")
                break
            for tp, records in batches.items():
                if records:
                    self._enqueue(tp, records)
            if time.monotonic() - self._last_commit >= self.commit_interval_s:
                await self._commit()

    def _enqueue(self, tp: TopicPartition, records: Sequence[Any]) -> None:
        part = self._partitions.get(tp)
        if part is None:
            part = _Partition(tp, DlqBrake(self.brake_settings))
            part.task = asyncio.create_task(
                self._work(part), name=f"sink-{tp.topic}-{tp.partition}"
            )
            self._partitions[tp] = part
        part.queue.extend(records)
        part.ready.set()
        if not part.paused and len(part.queue) >= self.max_buffered:
            self.consumer.pause(tp)
            part.paused = True

    # -- one partition -----------------------------------------------------------------------

    async def _work(self, part: _Partition) -> None:
        while not part.stopping:
            if not part.queue:
                part.ready.clear()
                await part.ready.wait()
                continue
            records = list(itertools.islice(part.queue, self._batch_size))
            try:
                finished = await self._process(part, records)
            except SinkStopped as exc:
                self._fail(str(exc), exc)
                return
            except Exception as exc:  # a bug: stop rather than skip or dead-letter the record
                where = _where(part.queue[0]) if part.queue else part.tp.topic
                log.exception("unexpected error on %s", where)
                self._fail(f"unexpected error on {where}: {type(exc).__name__}: {exc}")
                return
            if not finished:
                return  # asked to stop while a record was waiting for a retry
            if part.paused and len(part.queue) <= self.max_buffered // 2 and not part.stopping:
                with contextlib.suppress(Exception):  # the partition may have been revoked
                    self.consumer.resume(part.tp)
                part.paused = False

    def _finish(self, part: _Partition, record: Any) -> None:
        """``record`` (the head of the partition's queue) reached its final outcome."""
        head = part.queue.popleft()
        assert head is record, "records finish in offset order"
        part.done = record.offset + 1
        self._update_lag(part)

    async def _process(self, part: _Partition, records: list[Any]) -> bool:
        """Bring ``records`` (the head of the queue) to final outcomes, in order; False when
        interrupted by a stop."""
        started = time.perf_counter()
        self.metrics.events_in.labels(self.metrics.service, part.tp.topic).inc(len(records))
        try:
            pairs: list[tuple[Any, SinkEvent]] = []
            for record in records:
                try:
                    pairs.append((record, self._decode(record)))
                except DecodeError as exc:
                    # Records before it are applied first: nothing of it reaches the target.
                    if not await self._apply(part, pairs):
                        return False
                    pairs = []
                    await self._dead_letter(part, record, exc, attempts=1, first=None)
                    self._finish(part, record)
            return await self._apply(part, pairs)
        except _Interrupted:
            return False
        finally:
            elapsed = time.perf_counter() - started
            observe = self.metrics.processing.labels(self.metrics.service, STAGE).observe
            for _ in records:
                observe(elapsed / len(records))

    def _decode(self, record: Any) -> SinkEvent:
        envelope = CloudEvent.from_headers(record.headers)
        if envelope.type != self.sink.event_type:
            raise DecodeError(
                f"ce_type: expected {self.sink.event_type!r} on {record.topic}, "
                f"got {envelope.type!r}"
            )
        if record.value is None:
            raise DecodeError("the record has no value (a tombstone)")
        decoded = self.serde.decode(record.value)
        if decoded.event_type != self.sink.event_type:
            raise DecodeError(
                f"the value is a {decoded.event_type} ({decoded.writer.ref}), "
                f"expected {self.sink.event_type}"
            )
        return SinkEvent(envelope, decoded.event_type, decoded.record)

    async def _call(self, pairs: Sequence[tuple[Any, SinkEvent]]) -> Sequence[BatchResult]:
        """The sink's results for ``pairs``: one ``apply`` for one event, else ``apply_batch``.
        An error raised for one event is that event's result."""
        if len(pairs) == 1:
            record, event = pairs[0]
            try:
                return [await self.sink.apply(event, record)]
            except (TransientError, PermanentError) as exc:
                return [exc]
        assert isinstance(self.sink, BatchSink)
        results = await self.sink.apply_batch([e for _, e in pairs], [r for r, _ in pairs])
        if len(results) != len(pairs):
            raise SinkStopped(
                f"{self.sink.name}: apply_batch returned {len(results)} results "
                f"for {len(pairs)} events"
            )
        return results

    async def _apply(self, part: _Partition, pairs: list[tuple[Any, SinkEvent]]) -> bool:
        """Apply ``pairs`` in order until each has a final outcome (applied, duplicate or
        dead-lettered and acknowledged). A transient failure retries from the event that met
        it; a rejection of a whole batch is bisected until the bad event is alone."""
        attempts = 0
        first: datetime | None = None
        while pairs:
            attempts += 1
            try:
                results = await self._call(pairs)
            except TransientError as exc:
                results = [exc]
            except PermanentError as exc:
                half = len(pairs) // 2
                log.info(
                    "%s: a batch of %d was rejected (%s); bisecting",
                    _where(pairs[0][0]),
                    len(pairs),
                    exc,
                )
                return await self._apply(part, pairs[:half]) and await self._apply(
                    part, pairs[half:]
                )
            except (AuthenticationError, DlqBrakeTripped) as exc:
                raise SinkStopped(str(exc)) from exc
            except FerryError as exc:  # ConfigError and friends: nothing a retry can fix
                raise SinkStopped(f"{_where(pairs[0][0])}: {type(exc).__name__}: {exc}") from exc
            done = 0
            for (record, _), result in zip(pairs, results, strict=False):
                if isinstance(result, Outcome):
                    self._count(part, record, result)
                elif isinstance(result, PermanentError):
                    await self._dead_letter(part, record, result, attempts=attempts, first=first)
                elif isinstance(result, TransientError):
                    break
                elif isinstance(result, AuthenticationError | DlqBrakeTripped):
                    raise SinkStopped(str(result)) from result
                else:
                    raise SinkStopped(
                        f"{_where(record)}: {type(result).__name__}: {result}"
                    ) from result
                self._finish(part, record)
                done += 1
            pairs = pairs[done:]
            if not pairs:
                return True
            if done:
                attempts, first = 1, None  # a new record leads: its own budget
            error = results[done]
            assert isinstance(error, TransientError)
            first = first or datetime.now(UTC)
            await self._retry_wait(part, pairs[0][0], error, attempts)
        return True

    def _count(self, part: _Partition, record: Any, outcome: Outcome) -> None:
        _brake(part, ok=True)
        if outcome is Outcome.DUPLICATE:
            self.metrics.duplicates.labels(self.metrics.service, record.topic).inc()
        else:
            self.metrics.events_out.labels(self.metrics.service, record.topic).inc()

    async def _retry_wait(
        self, part: _Partition, record: Any, error: TransientError, attempts: int
    ) -> None:
        self.metrics.retries.labels(self.metrics.service, record.topic).inc()
        delay = self.backoff.delay(min(attempts, 32), error.retry_after)
        if attempts == 1 or attempts % self.backoff.max_attempts == 0:
            log.warning(
                "%s: %s; partition %d waits and retries the same record "
                "(attempt %d, next in %.1fs)",
                _where(record),
                error,
                record.partition,
                attempts,
                delay,
            )
        await self._sleep(part, delay)

    async def _sleep(self, part: _Partition, delay: float) -> None:
        if part.stopping:
            raise _Interrupted
        part.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(part.wake.wait(), timeout=delay)
        if part.stopping:
            raise _Interrupted

    async def _dead_letter(
        self,
        part: _Partition,
        record: Any,
        error: PermanentError,
        *,
        attempts: int,
        first: datetime | None,
    ) -> None:
        _brake(part, ok=False)
        log.info("%s: dead-lettered: %s", _where(record), error)
        tries = 0
        while True:
            tries += 1
            try:
                await self.dead_letters.send(
                    record, error, stage=STAGE, attempts=attempts, first_failed_at=first
                )
                return
            except Exception as exc:
                kafka_error = translate_kafka_error(exc)
                if not isinstance(kafka_error, TransientError):
                    raise SinkStopped(
                        f"cannot write the dead letter of {_where(record)}: {kafka_error}"
                    ) from exc
                log.warning("dead letter of %s not acknowledged: %s", _where(record), kafka_error)
                await self._sleep(part, self.backoff.delay(min(tries, 32)))

    def _update_lag(self, part: _Partition) -> None:
        try:
            high = self.consumer.highwater(part.tp)
        except Exception:
            return
        if high is not None and part.done is not None:
            self.metrics.consumer_lag.labels(
                self.metrics.service, part.tp.topic, str(part.tp.partition)
            ).set(max(high - part.done, 0))

    # -- commits, revocation, shutdown -------------------------------------------------------

    async def _commit(self, only: Iterable[TopicPartition] | None = None) -> None:
        async with self._commit_lock:
            self._last_commit = time.monotonic()
            chosen = self._partitions if only is None else set(only)
            offsets = {
                tp: p.done
                for tp, p in self._partitions.items()
                if tp in chosen and p.done is not None and p.done != p.committed
            }
            if not offsets:
                return
            try:
                await self.consumer.commit(offsets)
            except Exception as exc:
                # A rebalance or a broker hiccup: the offsets stay pending and are tried again;
                # if the partition moved, its new owner re-reads them (the sink is idempotent).
                log.warning("commit of %s failed: %s", _offsets_text(offsets), exc)
                return
            for tp, offset in offsets.items():
                self._partitions[tp].committed = offset

    async def _drain(self, tps: Iterable[TopicPartition]) -> None:
        parts = [self._partitions[tp] for tp in tps if tp in self._partitions]
        for part in parts:
            part.stopping = True
            part.wake.set()
            part.ready.set()
        tasks = [p.task for p in parts if p.task is not None]
        if tasks:
            await asyncio.wait(tasks)

    async def check_retention(self, assigned: Iterable[TopicPartition]) -> None:
        """Kafka deleted records this group never read (retention outran a stall): say how
        many, once, in ERROR and in ``ferry_records_lost_to_retention_total``; never skip
        silently. The consumer goes on from the log start (there is nothing earlier)."""
        for tp in sorted(assigned):
            try:
                committed = await self.consumer.committed(tp)
                if committed is None:
                    continue
                start = (await self.consumer.beginning_offsets([tp]))[tp]
            except Exception as exc:  # the check must never break an assignment
                log.warning("cannot check the retention of %s[%d]: %s", tp.topic, tp.partition, exc)
                continue
            if committed < start:
                lost = start - committed
                log.error(
                    "%s[%d]: %d record(s) were deleted by retention before this group read "
                    "them (committed offset %d, log start %d); they are lost to this sink",
                    tp.topic,
                    tp.partition,
                    lost,
                    committed,
                    start,
                )
                self.metrics.records_lost.labels(
                    self.metrics.service, tp.topic, str(tp.partition)
                ).inc(lost)

    async def revoke(self, revoked: Iterable[TopicPartition]) -> None:
        """Finish in-flight records of ``revoked`` partitions, commit them, forget them."""
        tps = [tp for tp in revoked if tp in self._partitions]
        await self._drain(tps)
        await self._commit(tps)
        for tp in tps:
            self._partitions.pop(tp, None)

    async def _shutdown(self) -> None:
        await self._drain(list(self._partitions))
        await self._commit()
        self._partitions.clear()

    def _fail(self, message: str, error: SinkStopped | None = None) -> None:
        if self._fatal is None:
            self._fatal = error if error is not None else SinkStopped(message)
            log.error("stopping: %s", message)
        self.stop()


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: SinkRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._runner.revoke(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("assigned %s", ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(assigned)))
        await self._runner.check_retention(assigned)


def _brake(part: _Partition, *, ok: bool) -> None:
    try:
        part.brake.record(ok, topic=f"{part.tp.topic}[{part.tp.partition}]")
    except DlqBrakeTripped as exc:
        raise SinkStopped(str(exc)) from exc


def _where(record: Any) -> str:
    return f"{record.topic}[{record.partition}]@{record.offset}"


def _offsets_text(offsets: Mapping[TopicPartition, int]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]={o}" for tp, o in offsets.items())
