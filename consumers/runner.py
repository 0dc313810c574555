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
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.structs import TopicPartition

from consumers.parking import Parked, ParkingLot, retry_headers
from ferry import logs
from ferry.breaker import CircuitBreaker
from ferry.dlq import DeadLetterWriter, DlqBrake, DlqBrakeTripped
from ferry.envelope import CloudEvent, header
from ferry.errors import (
    AuthenticationError,
    DecodeError,
    Deferred,
    FerryError,
    PermanentError,
    Rejected,
    TransientError,
)
from ferry.kafka import translate_kafka_error
from ferry.metrics import ServiceMetrics, dead_letter_classes
from ferry.ops.dlq import REPLAY_COUNT
from ferry.retry import Backoff
from ferry.serde import Serde
from ferry.settings import DlqSettings
from ferry.sink import BatchResult, BatchSink, Outcome, Sink, SinkEvent
from ferry.topics import retry

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
RETRIES_EXHAUSTED = "retries_exhausted"


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
    async def end_offsets(
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


class _Waiter(Protocol):
    """A worker that can be asked to stop while it waits (a partition or a retry lane)."""

    stopping: bool
    wake: asyncio.Event


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
        breaker: CircuitBreaker | None = None,
        park: bool = True,
        give_up_after_s: float = 86_400.0,
        lane_backoff: Backoff | None = None,
        wall_clock: Callable[[], float] = time.time,
        drain_timeout_s: float = 5.0,
        load_timeout_s: float = 10.0,
        lag_interval_s: float = 5.0,
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
        self.breaker = breaker or CircuitBreaker(sink.name)
        self.park = park
        self.retry_topic = retry(sink.topic)
        self.give_up_after_s = give_up_after_s
        self.lane_backoff = lane_backoff or Backoff(base_delay_s=1.0, max_delay_s=300.0)
        self._wall = wall_clock
        self.drain_timeout_s = drain_timeout_s
        self.load_timeout_s = load_timeout_s
        self.lag_interval_s = lag_interval_s
        self._e2e = metrics.e2e_latency.labels(metrics.service, sink.name)
        self._last_lag = 0.0
        self._partitions: dict[TopicPartition, _Partition] = {}
        self._lanes: dict[int, ParkingLot] = {}
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
        for lane in self._lanes.values():
            lane.stopping = True
            lane.wake.set()

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
        topics = [self.sink.topic, self.retry_topic] if self.park else [self.sink.topic]
        logs.bind(flow=self.sink.name)  # this task's lines, and the partitions' tasks'
        self._zero_series()
        self.consumer.subscribe(topics, listener=_Listener(self))
        await self.producer.start()
        try:
            await self.consumer.start()
            self._started = True
            log.info("started: %s (group %s)", ", ".join(topics), group_id(self.sink.name))
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
            if time.monotonic() - self._last_lag >= self.lag_interval_s:
                await self._report_lag()

    def _enqueue(self, tp: TopicPartition, records: Sequence[Any]) -> None:
        if tp.topic == self.retry_topic:
            lane = self._lane(tp.partition)
            for record in records:
                lane.add(record)
            return
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
        if self.park and not await self._lane_loaded(part):
            return
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
                    if not await self._apply_items(part, pairs):
                        return False
                    pairs = []
                    await self._dead_letter(part, record, exc, attempts=1, first=None)
                    self._finish(part, record)
            return await self._apply_items(part, pairs)
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

    async def _apply_items(self, part: _Partition, pairs: list[tuple[Any, SinkEvent]]) -> bool:
        """Apply ``pairs`` in order; a record whose key is parked follows it to the retry
        topic instead (one key's changes keep their order)."""
        lane = self._lanes.get(part.tp.partition) if self.park else None
        segment: list[tuple[Any, SinkEvent]] = []
        for record, event in pairs:
            if lane is not None and lane.parked(record.key):
                if not await self._apply(part, segment):
                    return False
                segment = []
                await self._park(part, record, None, attempts=0, first=datetime.now(UTC))
                self._finish(part, record)
            else:
                segment.append((record, event))
        return await self._apply(part, segment)

    async def _apply(self, part: _Partition, pairs: list[tuple[Any, SinkEvent]]) -> bool:
        """Apply ``pairs`` in order until each has a final outcome (applied, duplicate,
        dead-lettered or parked, and acknowledged). A transient failure retries from the event
        that met it; a rejection of a whole batch is bisected until the bad event is alone."""
        attempts = 0
        first: datetime | None = None
        while pairs:
            attempts += 1
            probe = await self._admit(part)
            was_closed = self.breaker.closed
            try:
                results = await self._call(pairs)
            except TransientError as exc:
                results = [exc] * len(pairs)  # the call failed for every event in it
            except PermanentError as exc:
                self._observe(pairs[:1], ok=True, probe=probe)  # the target answered
                return await self._bisect(part, pairs, f"was rejected ({exc})")
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
            self._observe(pairs[:done], ok=True, probe=probe and done > 0)
            pairs = pairs[done:]
            if not pairs:
                return True
            if done:
                attempts, first = 1, None  # a new record leads: its own budget
            error = results[done]
            assert isinstance(error, TransientError)
            first = first or datetime.now(UTC)
            record = pairs[0][0]
            # Every event of the batch failed transiently: the call as a whole, or each one.
            whole = (
                done == 0
                and len(pairs) > 1
                and all(isinstance(r, TransientError) for r in results[: len(pairs)])
            )
            blamed = [
                pair
                for pair, result in zip(pairs[: len(pairs) if whole else 1], results, strict=False)
                if not isinstance(result, Deferred)
            ]
            self._observe(blamed, ok=False, probe=probe and done == 0)
            if probe and done == 0 and not blamed:  # the sink's own wait: nothing learned
                self.breaker.release()
            if not (was_closed or probe or isinstance(error, Deferred)):
                # Called while the target was judged down: the record is not to blame.
                attempts -= 1
                self.metrics.retries.labels(self.metrics.service, record.topic).inc()
                continue
            if whole and attempts >= 2:
                # Tried twice as one batch: find the record that fails, the others go on.
                self.metrics.retries.labels(self.metrics.service, record.topic).inc()
                half = len(pairs) // 2
                if {r.key for r, _ in pairs[:half]}.isdisjoint(r.key for r, _ in pairs[half:]):
                    await self._sound_out(pairs[half:])
                return await self._bisect(part, pairs, f"failed as a whole ({error})")
            if self.park and attempts >= self.backoff.max_attempts:
                await self._park(part, record, error, attempts=attempts, first=first)
                self._finish(part, record)
                return await self._apply_items(part, pairs[1:])
            await self._retry_wait(part, record, error, attempts)
        return True

    async def _bisect(self, part: _Partition, pairs: list[tuple[Any, SinkEvent]], why: str) -> bool:
        """Apply the halves of a failed batch one after the other (each with its own budget),
        down to the one record that fails."""
        half = len(pairs) // 2
        log.info("%s: a batch of %d %s; bisecting", _where(pairs[0][0]), len(pairs), why)
        return await self._apply_items(part, pairs[:half]) and await self._apply_items(
            part, pairs[half:]
        )

    async def _sound_out(self, pairs: Sequence[tuple[Any, SinkEvent]]) -> None:
        """One call for ``pairs`` whose only use is what it tells the breaker; nothing is
        finished (the records are applied again in their turn, idempotently). Made for the
        second half of a batch that failed as a whole before its first half is tried: if
        both halves fail, two failed calls share no record and the target is judged down."""
        try:
            results: Sequence[BatchResult] = await self._call(pairs)
        except TransientError as exc:
            results = [exc] * len(pairs)
        except PermanentError:
            return
        except (AuthenticationError, DlqBrakeTripped) as exc:
            raise SinkStopped(str(exc)) from exc
        failed = [isinstance(r, TransientError) and not isinstance(r, Deferred) for r in results]
        if all(failed):
            self._observe(pairs, ok=False, probe=False)
        elif not any(failed):
            self._observe(pairs, ok=True, probe=False)

    def _observe(self, pairs: Sequence[tuple[Any, SinkEvent]], *, ok: bool, probe: bool) -> None:
        """Tell the breaker what one call for ``pairs`` did."""
        if pairs:
            self.breaker.record(ok, [record.key for record, _ in pairs], probe=probe)

    async def _admit(self, waiter: _Waiter) -> bool:
        """Wait while the target's breaker is open; True when this call is the probe."""
        while True:
            verdict = self.breaker.try_admit()
            if verdict is not None:
                return verdict
            await self._sleep(waiter, min(max(self.breaker.wait_s(), 0.01), 1.0))

    def _count(self, part: _Waiter, record: Any, outcome: Outcome) -> None:
        if isinstance(part, _Partition):
            _brake(part, ok=True)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s: %s",
                _where(record),
                outcome.name.lower(),
                extra=logs.event_fields(record.key, record.headers),
            )
        if outcome is Outcome.DUPLICATE:
            self.metrics.duplicates.labels(self.metrics.service, record.topic).inc()
        else:
            self.metrics.events_out.labels(self.metrics.service, record.topic).inc()
            self._observe_e2e(record)

    def _observe_e2e(self, record: Any) -> None:
        """The target confirmed the write of ``record``: the time since its source event
        (``ce_time``, kept by every stage). A replay is not observed: its time is the
        original's, hours or days ago."""
        if header(record.headers, REPLAY_COUNT) is not None:
            return
        try:
            began = CloudEvent.from_headers(record.headers).time
        except DecodeError:
            return
        self._e2e.observe(max(self._wall() - began.timestamp(), 0.0))

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
                extra=logs.event_fields(record.key, record.headers),
            )
        await self._sleep(part, delay)

    async def _sleep(self, waiter: _Waiter, delay: float) -> None:
        if waiter.stopping:
            raise _Interrupted
        waiter.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wake.wait(), timeout=delay)
        if waiter.stopping:
            raise _Interrupted

    async def _dead_letter(
        self,
        part: _Waiter,
        record: Any,
        error: PermanentError,
        *,
        attempts: int,
        first: datetime | None,
    ) -> None:
        if isinstance(part, _Partition):
            _brake(part, ok=False)
        log.warning(
            "%s: dead-lettered: %s",
            _where(record),
            error,
            extra=logs.event_fields(record.key, record.headers),
        )
        await self._until_acked(
            part,
            f"the dead letter of {_where(record)}",
            lambda: self.dead_letters.send(
                record, error, stage=STAGE, attempts=attempts, first_failed_at=first
            ),
        )

    async def _until_acked(
        self, waiter: _Waiter, what: str, send: Callable[[], Awaitable[Any]]
    ) -> Any:
        """``send()`` until Kafka acknowledges it (a transient refusal waits and tries again;
        any other stops the runner); its result."""
        tries = 0
        while True:
            tries += 1
            try:
                return await send()
            except Exception as exc:
                kafka_error = translate_kafka_error(exc)
                if not isinstance(kafka_error, TransientError):
                    raise SinkStopped(f"cannot write {what}: {kafka_error}") from exc
                log.warning("%s not acknowledged: %s", what, kafka_error)
                await self._sleep(waiter, self.backoff.delay(min(tries, 32)))

    # -- parking: the retry lane --------------------------------------------------------------

    def _lane(self, partition: int) -> ParkingLot:
        lane = self._lanes.get(partition)
        if lane is None:
            lane = self._lanes[partition] = ParkingLot(partition)
        return lane

    async def _lane_loaded(self, part: _Partition) -> bool:
        """Wait until every record parked before this owner started is known (so a parked
        key is recognised); False when asked to stop first."""
        lane = self._lane(part.tp.partition)
        deadline = time.monotonic() + self.load_timeout_s
        while not lane.loaded.is_set():
            if part.stopping:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                # Never stall a partition on it: go on, parked keys read later still count.
                log.warning(
                    "%s[%d]: the parked records were not all read within %.0f s (%s); "
                    "%s[%d] starts anyway",
                    self.retry_topic,
                    lane.partition,
                    self.load_timeout_s,
                    lane.progress(),
                    part.tp.topic,
                    part.tp.partition,
                )
                lane.loaded.set()
                break
            part.wake.clear()
            waits = [
                asyncio.ensure_future(lane.loaded.wait()),
                asyncio.ensure_future(part.wake.wait()),
            ]
            _, pending = await asyncio.wait(
                waits, timeout=left, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
        return not part.stopping

    async def prepare_lanes(self, assigned: Iterable[TopicPartition]) -> None:
        """On assignment: each retry partition is read up to its end before its main
        partition starts; a main partition whose retry partition is not ours parks blind."""
        retry_tps = sorted(tp for tp in assigned if tp.topic == self.retry_topic)
        main = {tp.partition for tp in assigned if tp.topic == self.sink.topic}
        for tp in retry_tps:
            lane = self._lane(tp.partition)
            lane.stopping = False
            try:
                committed = await self.consumer.committed(tp)
                begin = (await self.consumer.beginning_offsets([tp]))[tp]
                end = (await self.consumer.end_offsets([tp]))[tp]
            except Exception as exc:  # never block an assignment on it
                log.warning("cannot read where %s[%d] stands: %s", tp.topic, tp.partition, exc)
                lane.loaded.set()
            else:
                start = max(committed if committed is not None else begin, begin)
                if end > start:
                    log.info(
                        "%s[%d]: reading %d parked record(s) (offsets %d to %d) before %s[%d] "
                        "starts",
                        tp.topic,
                        tp.partition,
                        end - start,
                        start,
                        end - 1,
                        self.sink.topic,
                        tp.partition,
                    )
                lane.load_until(start, end)
                lane.committed = start if committed is None else committed
            if lane.task is None or lane.task.done():
                lane.task = asyncio.create_task(
                    self._retry_work(lane), name=f"retry-{tp.topic}-{tp.partition}"
                )
        for partition in main - {tp.partition for tp in retry_tps}:
            log.warning(
                "%s[%d] is ours but %s[%d] is not: parked keys of it are not known here",
                self.sink.topic,
                partition,
                self.retry_topic,
                partition,
            )
            self._lane(partition).loaded.set()

    async def _park(
        self,
        part: _Partition,
        record: Any,
        error: TransientError | None,
        *,
        attempts: int,
        first: datetime,
    ) -> None:
        """Write ``record`` to the retry topic (same partition number) and note its key as
        parked. ``error`` None: it follows an earlier parked record of its key, untried."""
        now = self._wall()
        retry_after = error.retry_after if error is not None else None
        due = now + (self.lane_backoff.delay(1, retry_after) if error is not None else 0.0)
        reason = str(error) if error is not None else "follows a parked record of its key"
        headers = retry_headers(
            record, attempts=attempts, first_failed_at=first, due=due, error=reason
        )
        meta = await self._until_acked(
            part,
            f"the parked copy of {_where(record)}",
            lambda: self.producer.send_and_wait(
                self.retry_topic,
                value=record.value,
                key=record.key,
                partition=record.partition,
                headers=headers,
            ),
        )
        self._lane(record.partition).expect(record.key, int(meta.offset))
        self.metrics.parked.labels(self.metrics.service, record.topic).inc()
        if error is not None:
            log.warning(
                "%s: still failing after %d attempts (%s); parked on %s, the partition goes on",
                _where(record),
                attempts,
                error,
                self.retry_topic,
                extra=logs.event_fields(record.key, record.headers),
            )

    async def _retry_work(self, lane: ParkingLot) -> None:
        """Re-apply parked records when due, each key's in order."""
        try:
            await self._until_loaded(lane)
            while not lane.stopping:
                now = self._wall()
                ready = list(lane.due(now))
                if not ready:
                    later = lane.next_due()
                    lane.wake.clear()
                    timeout = None if later is None else max(later - now, 0.01)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lane.wake.wait(), timeout)
                    continue
                for parked in ready:
                    await self._retry_one(lane, parked)
        except _Interrupted:
            return
        except SinkStopped as exc:
            self._fail(str(exc), exc)
        except Exception as exc:  # a bug: stop rather than lose a parked record
            log.exception("unexpected error in the retry lane of %s", self.retry_topic)
            self._fail(f"unexpected error in {self.retry_topic}: {type(exc).__name__}: {exc}")

    async def _until_loaded(self, lane: ParkingLot) -> None:
        while not lane.loaded.is_set():
            await self._sleep(lane, 0.05)

    async def _retry_one(self, lane: ParkingLot, parked: Parked) -> None:
        origin = parked.origin
        try:
            event = self._decode(origin)
        except DecodeError as exc:
            await self._dead_letter(lane, origin, exc, attempts=parked.attempts, first=None)
            lane.resolve(parked)
            return
        probe = await self._admit(lane)
        was_closed = self.breaker.closed
        try:
            [result] = await self._call([(origin, event)])
        except (AuthenticationError, DlqBrakeTripped) as exc:
            raise SinkStopped(str(exc)) from exc
        key = [(origin, event)]
        if isinstance(result, Outcome):
            self._observe(key, ok=True, probe=probe)
            log.info(
                "%s: parked record %s after %d attempts",
                _where(origin),
                result.value,
                parked.attempts + 1,
            )
            self._count(lane, origin, result)
            lane.resolve(parked)
        elif isinstance(result, PermanentError):
            self._observe(key, ok=True, probe=probe)
            attempts = parked.attempts + 1
            await self._dead_letter(
                lane, origin, result, attempts=attempts, first=parked.first_failed_at
            )
            lane.resolve(parked)
        elif isinstance(result, TransientError):
            if not isinstance(result, Deferred):
                self._observe(key, ok=False, probe=probe)
            elif probe:
                self.breaker.release()
            now = self._wall()
            if not (was_closed or probe or isinstance(result, Deferred)):
                parked.due = now  # the target was judged down: wait for it, uncounted
                return
            deferred = isinstance(result, Deferred)
            if not deferred:  # the sink's own hold is neither an attempt nor a retry
                parked.attempts += 1
                parked.tries += 1
                self.metrics.retries.labels(self.metrics.service, origin.topic).inc()
            parked.last_error = str(result)
            if now - parked.first_failed_at.timestamp() >= self.give_up_after_s:
                exhausted = Rejected(
                    f"still failing after {parked.attempts} attempts over "
                    f"{self.give_up_after_s:.0f} s: {result}",
                    field=getattr(result, "field", None),
                )
                exhausted.rule = RETRIES_EXHAUSTED
                await self._dead_letter(
                    lane,
                    origin,
                    exhausted,
                    attempts=parked.attempts,
                    first=parked.first_failed_at,
                )
                lane.resolve(parked)
                return
            if deferred and result.retry_after is not None:
                parked.due = now + result.retry_after
            else:
                # Paced by this lane's own tries: the attempts made before the record was
                # parked would put its first retry minutes away.
                parked.due = now + self.lane_backoff.delay(
                    min(max(parked.tries, 1), 32), result.retry_after
                )
        else:
            raise SinkStopped(f"{_where(origin)}: {type(result).__name__}: {result}") from result

    def _zero_series(self) -> None:
        """The sink topic's counters exist from the start (at 0): a rate over them is 0, not
        "no data", and the first event, retry, parked record or dead letter shows in it."""
        service, topic = self.metrics.service, self.sink.topic
        for counter in (
            self.metrics.events_in,
            self.metrics.events_out,
            self.metrics.duplicates,
            self.metrics.retries,
            self.metrics.parked,
        ):
            counter.labels(service, topic)
        for error_class in dead_letter_classes():
            self.metrics.dlq.labels(service, topic, error_class)

    async def _report_lag(self) -> None:
        """Every ``lag_interval_s``: each partition's lag against its log end as Kafka says it
        now, so a stalled partition (a target down, a full buffer) still shows its lag grow."""
        self._last_lag = time.monotonic()
        parts = [p for p in self._partitions.values() if not p.stopping]
        if not parts:
            return
        try:
            ends = await self.consumer.end_offsets([p.tp for p in parts])
        except Exception as exc:  # a broker hiccup: the next round tries again
            log.debug("cannot read the log ends of %s: %s", self.sink.topic, exc)
            return
        for part in parts:
            position = part.done if part.done is not None else _head_offset(part)
            end = ends.get(part.tp)
            if position is not None and end is not None:
                self.metrics.consumer_lag.labels(
                    self.metrics.service, part.tp.topic, str(part.tp.partition)
                ).set(max(end - position, 0))

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
            lanes: dict[TopicPartition, ParkingLot] = {}
            for number, lane in self._lanes.items():
                tp = TopicPartition(self.retry_topic, number)
                offset = lane.commit_offset()
                wanted = only is None or tp in chosen
                if wanted and offset is not None and offset != lane.committed:
                    offsets[tp] = offset
                    lanes[tp] = lane
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
                if tp in lanes:
                    lanes[tp].committed = offset
                else:
                    self._partitions[tp].committed = offset

    async def _drain(self, tps: Iterable[TopicPartition]) -> None:
        parts = [self._partitions[tp] for tp in tps if tp in self._partitions]
        for part in parts:
            part.stopping = True
            part.wake.set()
            part.ready.set()
        await self._bounded([p.task for p in parts if p.task is not None])

    async def _bounded(self, tasks: list[asyncio.Task[None]]) -> None:
        """Let in-flight work finish for ``drain_timeout_s`` (safely below the group's
        rebalance timeout), then abandon it: its record is not committed, so the partition's
        next owner applies it again (idempotently, behind the version guard)."""
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self.drain_timeout_s)
        for task in pending:
            log.warning(
                "%s: in-flight work still running after %.1f s; abandoned, its record is "
                "left for the next owner",
                task.get_name(),
                self.drain_timeout_s,
            )
            task.cancel()
        if pending:
            await asyncio.wait(pending)

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
        revoked = list(revoked)
        tps = [tp for tp in revoked if tp in self._partitions]
        lanes = [
            tp for tp in revoked if tp.topic == self.retry_topic and tp.partition in self._lanes
        ]
        await self._drain(tps)
        await self._drain_lanes([tp.partition for tp in lanes])
        await self._commit(tps + lanes)
        for tp in tps:
            self._partitions.pop(tp, None)
            with contextlib.suppress(KeyError):  # its lag is the new owner's to report now
                self.metrics.consumer_lag.remove(self.metrics.service, tp.topic, str(tp.partition))
        for tp in lanes:
            self._lanes.pop(tp.partition, None)

    async def _drain_lanes(self, numbers: Iterable[int]) -> None:
        lanes = [self._lanes[n] for n in numbers if n in self._lanes]
        for lane in lanes:
            lane.stopping = True
            lane.wake.set()
        await self._bounded([lane.task for lane in lanes if lane.task is not None])

    async def _shutdown(self) -> None:
        await self._drain(list(self._partitions))
        await self._drain_lanes(list(self._lanes))
        await self._commit()
        self._partitions.clear()
        self._lanes.clear()

    def _fail(self, message: str, error: SinkStopped | None = None) -> None:
        if self._fatal is None:
            self._fatal = error if error is not None else SinkStopped(message)
            log.error("stopping: %s", message)
        self.stop()


def _head_offset(part: _Partition) -> int | None:
    """The offset of the first record of ``part`` still to finish (None: none received)."""
    return int(part.queue[0].offset) if part.queue else None


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: SinkRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._runner.revoke(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("assigned %s", ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(assigned)))
        await self._runner.check_retention(assigned)
        if self._runner.park:
            await self._runner.prepare_lanes(assigned)


def _brake(part: _Partition, *, ok: bool) -> None:
    try:
        part.brake.record(ok, topic=f"{part.tp.topic}[{part.tp.partition}]")
    except DlqBrakeTripped as exc:
        raise SinkStopped(str(exc)) from exc


def _where(record: Any) -> str:
    return f"{record.topic}[{record.partition}]@{record.offset}"


def _offsets_text(offsets: Mapping[TopicPartition, int]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]={o}" for tp, o in offsets.items())
