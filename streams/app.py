"""The faust app: ``src.shop.orders`` -> validate, guard, map -> ``sink.odoo.sale_orders``.

Offsets and sends
-----------------
faust commits a partition's offset up to the last *acked* event, from a timer
(``broker_commit_interval``) and on stop/rebalance; before committing it flushes its producer
(``Consumer._commit_offsets`` awaits ``producer.flush()``). A flush only waits; it does not
fail when a send failed. And by default faust acks an event as soon as the agent's
``async for`` moves past it, also when the agent body raised (the ack sits in a ``finally`` of
the stream iterator), so a failed send could still be committed.

So the agent reads ``stream.noack().events()`` and acks each event itself, only after Kafka
acknowledged its output: ``await topic.send(...)`` returns the producer's delivery future once
the record is queued; that future resolves with the record's metadata once every in-sync
replica has it (``producer_acks=-1``) and raises when the send failed. A dead letter is
tracked the same way. An event whose output was not acknowledged is never acked, so its offset
is never committed: after a crash or restart it is processed again (at-least-once; the Odoo
sink upserts by external id, so a repeat is harmless).

The acknowledgements are pipelined: the agent does not wait for an event's delivery before it
takes the next one. It puts (event, delivery future) in an :class:`AckWindow`, a bounded FIFO
in arrival order (so in offset order within each partition), and goes on. The window's drainer
task awaits the head's future, then records what was sent (the change-only table, metrics) and
acks the event, then the next head: an event is acked only after its own output and the outputs
of every event before it. The window holds at most ``max_in_flight`` events (default
:data:`MAX_IN_FLIGHT`); when it is full the agent waits for the head (backpressure). The agent
runs one actor (``concurrency=1``), so nothing else acks past an unacked event (faust issue
#606: with concurrency it could commit past an unacked event).

Per-key order of the outputs: one producer sends every output, keyed, so all outputs of a key
go to one target partition, in send order. faust's producer is not idempotent and faust has no
``max_in_flight_requests_per_connection`` setting; it does not need one, because aiokafka
(unlike the Java client) keeps at most one produce request in flight per broker, mutes a
partition while its batch is in flight, and puts a batch that is retried back at the head of
its partition's queue: records of one partition are written in send order, also across retries.
The one way a later record of a partition lands while an earlier one does not is an earlier
batch that fails for good (expired, too large): the window stops at that failure and the worker
crashes, so neither event is acked, and after the restart both are sent again in order: the
last write of a key is again its newest content.

Anything unexpected (a send that failed, the DLQ brake) is not handled per event: it crashes
the agent, whose supervisor (``mode.CrashingSupervisor``) crashes the worker, which exits
non-zero with the reason logged, without acking the event at hand or any event after it. A
failed delivery ends the drainer, which cancels the agent; the agent then raises the delivery's
error in place of the cancellation. The DLQ brake is checked before a dead letter is written;
when it trips, the agent first lets the window drain (the events before it are delivered and
acked, as when events were handled one by one), then raises.

Only real changes travel
------------------------
A faust table keyed by the record key holds a hash of the content last sent for that key
(:func:`streams.processor.content_digest`); an event that maps to the same content is acked
(in its turn) and dropped (``ferry_duplicates_total``). The table's changelog topic is named by
Ferry: ``ferry.streams.<flow>.last-sent`` (compacted). The table is updated only after the
output was acknowledged, by the drainer: a changelog entry must never claim an output that
Kafka did not take, or a restart would drop the event as a duplicate of nothing. While sends of
a key are in flight, the agent compares with the newest of them, not with the table, so a
repeat of content that is still in flight is dropped too.

The drainer runs outside faust's event context, where ``table[key] = value`` raises ("Cannot
modify table key from outside of stream iteration", faust issue #497: ``Table.on_key_set`` takes
the changelog partition from the current event). So the drainer does what ``on_key_set`` does
for a non-windowed table, with the partition of the acked event: ``Table.send_changelog`` to
that partition, then the value into the table's store.

Operations
----------
faust's web server (aiohttp) serves ``/metrics`` (this service's own Prometheus registry:
events in/out per topic, dead letters by error class, processing seconds by stage),
``/healthz`` and ``/readyz`` (200 once the consumer has partitions assigned and is not
rebalancing).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

import faust
from faust.types import EventT
from mode import CrashingSupervisor

from ferry.dlq import ERROR_PREFIX, DlqBrake, DlqBrakeTripped, error_headers
from ferry.envelope import Headers
from ferry.metrics import CONTENT_TYPE_LATEST, ServiceMetrics
from ferry.serde import Serde, SingleObjectSerde
from ferry.settings import FlowSettings, Settings
from ferry.topics import dlq, internal
from streams.flows.shop_orders.mapping import MAPPINGS
from streams.flows.shop_orders.validate import validate_order
from streams.ownership import OwnershipGuard
from streams.processor import Failure, FlowProcessor, Output

__all__ = ["APP_ID", "MAX_IN_FLIGHT", "SERVICE", "AckWindow", "StreamsApp", "order_flow"]

log = logging.getLogger("ferry.streams")

APP_ID = "ferry-streams"
SERVICE = "streams"
ORDER_MAPPING = "shop_order_to_sale_order"
MAX_IN_FLIGHT = 1000  # events whose output may be unacknowledged at once

T = TypeVar("T")


def order_flow(settings: Settings) -> FlowSettings:
    """The configured flow that maps shop orders to Odoo sale orders."""
    for flow in settings.flows:
        if flow.mapping == ORDER_MAPPING:
            return flow
    raise LookupError(f"no flow with mapping {ORDER_MAPPING!r} in the configuration")


def _broker_urls(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",") if server]


class AckWindow(Generic[T]):
    """A bounded FIFO of items whose deliveries are in flight, settled strictly in order.

    :meth:`put` appends an item with its delivery (an awaitable, or ``None`` when nothing was
    sent) and returns at once, unless ``limit`` items are pending: then it waits for the head to
    settle (backpressure). :meth:`run` (the drainer, one task) awaits the head's delivery, then
    calls ``settle(item)`` and drops the head, and so on. A delivery (or ``settle``) that raises
    ends :meth:`run` with that exception and leaves that item and every later one unsettled for
    good; the exception is kept in :attr:`failure`.
    """

    def __init__(self, limit: int, settle: Callable[[T], Awaitable[None]]) -> None:
        if limit < 1:
            raise ValueError("the window must hold at least one item")
        self.limit = limit
        self.failure: BaseException | None = None
        self._settle = settle
        self._items: deque[tuple[T, Awaitable[Any] | None]] = deque()
        self._pending = asyncio.Event()  # there is something to settle
        self._progress = asyncio.Event()  # the head was settled

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, item: T, delivery: Awaitable[Any] | None) -> None:
        while len(self._items) >= self.limit:
            await self._wait_progress()
        self._items.append((item, delivery))
        self._pending.set()

    async def drained(self) -> None:
        """Return once every item put so far was settled."""
        while self._items:
            await self._wait_progress()

    async def _wait_progress(self) -> None:
        if self.failure is not None:
            raise self.failure
        self._progress.clear()
        await self._progress.wait()
        if self.failure is not None:
            raise self.failure

    async def run(self) -> None:
        items = self._items
        try:
            while True:
                if not items:
                    self._pending.clear()
                    await self._pending.wait()
                    continue
                item, delivery = items[0]
                if delivery is not None:
                    await delivery
                await self._settle(item)
                items.popleft()
                self._progress.set()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.failure = exc
            self._progress.set()  # a waiting put()/drained() raises it
            raise

    def clear(self) -> None:
        """Forget every unsettled item (their events stay unacked)."""
        self._items.clear()


@dataclass(slots=True)
class Pending:
    """One source event on its way: what was sent for it, to settle once Kafka has it."""

    event: EventT[bytes]
    began: float
    output: Output | None = None  # sent to the target (None: a dead letter or a duplicate)
    failure: Failure | None = None  # dead-lettered
    digest: bytes = b""


class StreamsApp:
    """The faust app of the order flow, its agent, change-only table and ops pages."""

    def __init__(
        self,
        settings: Settings,
        *,
        metrics: ServiceMetrics | None = None,
        serde: Serde | None = None,
        app_id: str = APP_ID,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.settings = settings
        self.metrics = metrics if metrics is not None else ServiceMetrics(SERVICE)
        self.flow = order_flow(settings)
        self.max_in_flight = max_in_flight
        mapping = MAPPINGS[self.flow.mapping]
        guard = OwnershipGuard.from_settings(
            settings, {name: m.entity for name, m in MAPPINGS.items()}
        )
        self.processor = FlowProcessor(
            self.flow, mapping, validate_order, guard, serde or SingleObjectSerde()
        )
        self.brake = DlqBrake(settings.dlq)
        metrics = self.metrics  # the labelled series of the hot path, looked up once
        self._events_in = metrics.events_in.labels(SERVICE, self.flow.source)
        self._events_out = metrics.events_out.labels(SERVICE, self.flow.target)
        self._duplicates = metrics.duplicates.labels(SERVICE, self.flow.target)
        self._processing = metrics.processing.labels(SERVICE, self.flow.name)
        # The newest in-flight send of each key (its digest is what the key will hold).
        self._sending: dict[bytes, Pending] = {}
        partitions = settings.kafka.partitions
        self.app = faust.App(
            app_id,
            broker=_broker_urls(settings.kafka.bootstrap_servers),
            value_serializer="raw",
            key_serializer="raw",
            producer_acks=-1,
            producer_linger=0.005,
            topic_partitions=partitions,
            topic_replication_factor=settings.kafka.replication_factor,
            web_enabled=True,
            web_bind=settings.streams.host,
            web_host=settings.streams.host,
            web_port=settings.streams.port,
            consumer_auto_offset_reset="earliest",
            agent_supervisor=CrashingSupervisor,
            table_standby_replicas=0,
        )
        topic_args: dict[str, Any] = {"key_type": bytes, "value_type": bytes}
        self.source = self.app.topic(self.flow.source, partitions=partitions, **topic_args)
        self.dead_letters = dlq(self.flow.source)
        changelog = self.app.topic(
            internal(f"{SERVICE}.{self.flow.name}.last-sent"),
            partitions=partitions,
            compacting=True,
            deleting=False,
            internal=True,
            **topic_args,
        )
        self.last_sent = self.app.Table(
            "last-sent",
            default=None,
            partitions=partitions,
            changelog_topic=changelog,
            key_type=bytes,
            value_type=bytes,
        )
        self.app.agent(self.source, name=f"{SERVICE}.{self.flow.name}", concurrency=1)(self._agent)
        self._add_pages()

    # -- the agent -------------------------------------------------------------------------

    async def _agent(self, stream: faust.StreamT[bytes]) -> None:
        manual = cast("faust.Stream[bytes]", stream).noack()

        async def settle(pending: Pending) -> None:
            self._settle(pending)
            await manual.ack(pending.event)

        window: AckWindow[Pending] = AckWindow(self.max_in_flight, settle)
        agent = asyncio.current_task()
        drainer = asyncio.create_task(window.run(), name=f"{SERVICE}.{self.flow.name}.acks")

        def on_drainer_done(task: asyncio.Task[None]) -> None:
            # A failed delivery: stop the agent wherever it waits (the next event, a full
            # window, a send); it raises the failure below.
            if not task.cancelled() and task.exception() is not None and agent is not None:
                agent.cancel()

        drainer.add_done_callback(on_drainer_done)
        self._sending.clear()
        try:
            async for event in manual.events():
                try:
                    await self.handle(event, window)
                except DlqBrakeTripped:
                    await window.drained()  # the events before it: delivered and acked
                    raise
            await window.drained()
        except asyncio.CancelledError:
            if window.failure is not None:
                raise window.failure from None
            raise
        finally:
            drainer.cancel()
            window.clear()
            self._sending.clear()

    async def handle(self, event: EventT[bytes], window: AckWindow[Pending]) -> None:
        """Process one source event: send its output or dead letter and put it in ``window``.

        Returns once the send is queued in the producer (and the window had room); the
        window's drainer acks the event once Kafka acknowledged what was sent for it.
        """
        message: Any = event.message  # a ConsumerMessage (faust types headers loosely)
        pending = Pending(event, time.perf_counter())
        self._events_in.inc()
        outcome = self.processor.process(message.key, message.value, message.headers)
        if isinstance(outcome, Output):
            self.brake.record(True, topic=message.topic)
            await window.put(pending, await self._emit(pending, outcome))
        else:
            await window.put(pending, await self._dead_letter(pending, outcome))

    async def _send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers
    ) -> Awaitable[Any]:
        """Queue one record in faust's producer; return its delivery future.

        Straight to ``app.producer.send`` (faust's ``ProducerT`` API), not through
        ``Topic.send``: the bytes are final, and the topic layer (a ``FutureMessage``, codecs,
        faust's own send sensors) costs more per event than the rest of the send. The record's
        partition is the producer's (by key), as it would be through ``Topic.send``.
        """
        return await self.app.producer.send(topic, key, value, None, None, headers)

    def _latest(self, key: bytes) -> bytes | None:
        """The digest ``key`` has, or will have once its sends in flight are acknowledged."""
        sending = self._sending.get(key)
        if sending is not None:
            return sending.digest
        return cast("bytes | None", self.last_sent.get(key))

    async def _emit(self, pending: Pending, output: Output) -> Awaitable[Any] | None:
        key = output.key
        digest = output.digest.encode()
        if key is not None and self._latest(key) == digest:
            self._duplicates.inc()
            return None  # nothing to send; acked in its turn
        delivery = await self._send(self.flow.target, key, output.value, output.headers)
        pending.output, pending.digest = output, digest
        if key is not None:
            self._sending[key] = pending
        return delivery  # Kafka acknowledges it (acks=all), or it raises

    async def _dead_letter(self, pending: Pending, failure: Failure) -> Awaitable[Any]:
        message: Any = pending.event.message
        try:
            self.brake.record(False, topic=message.topic)
        except DlqBrakeTripped:
            log.critical(
                "DLQ brake tripped on %s: stopping the streams worker instead of dead-lettering "
                "(last error at offset %s of partition %s: %s: %s)",
                message.topic,
                message.offset,
                message.partition,
                type(failure.error).__name__,
                failure.error,
            )
            raise
        original: Headers = [
            (k, v) for k, v in (message.headers or ()) if not k.startswith(ERROR_PREFIX)
        ]
        headers = original + error_headers(
            message,
            failure.error,
            stage=failure.stage,
            service=SERVICE,
            attempts=1,
            first_failed_at=datetime.now(UTC),
        )
        delivery = await self._send(self.dead_letters, message.key, message.value, headers)
        pending.failure = failure
        return delivery

    def _settle(self, pending: Pending) -> None:
        """Kafka acknowledged what was sent for ``pending`` (if anything): record it."""
        output, failure = pending.output, pending.failure
        if output is not None:
            if output.key is not None:
                self._remember(pending, output.key)
            self._events_out.inc()
        elif failure is not None:
            message = pending.event.message
            self.metrics.dlq.labels(SERVICE, message.topic, type(failure.error).__name__).inc()
            log.warning(
                "dead-lettered %s[%s]@%s at stage %s: %s",
                message.topic,
                message.partition,
                message.offset,
                failure.stage,
                failure.error,
            )
        self._processing.observe(time.perf_counter() - pending.began)

    def _remember(self, pending: Pending, key: bytes) -> None:
        """``last_sent[key] = digest`` outside faust's event context (see the module doc)."""
        if self._sending.get(key) is pending:
            del self._sending[key]  # no newer send of the key in flight
        table = self.last_sent
        table.send_changelog(pending.event.message.partition, key, pending.digest)
        table.data[key] = pending.digest

    # -- ops pages -------------------------------------------------------------------------

    def ready(self) -> bool:
        try:
            assigned = bool(self.app.consumer.assignment())
        except Exception:  # the consumer does not exist before the worker starts
            return False
        return assigned and not self.app.rebalancing and not self.app.should_stop

    def _add_pages(self) -> None:
        metrics = self.metrics

        async def metrics_page(web: Any, request: Any) -> Any:
            return web.bytes(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

        async def healthz(web: Any, request: Any) -> Any:
            return web.json({"status": "alive", "service": SERVICE})

        async def readyz(web: Any, request: Any) -> Any:
            ok = self.ready()
            metrics.ready.labels(SERVICE).set(1 if ok else 0)
            body = {"status": "ready" if ok else "not ready", "service": SERVICE}
            return web.json(body, status=200 if ok else 503)

        self.app.page("/metrics", name="ferry-metrics")(metrics_page)
        self.app.page("/healthz", name="ferry-healthz")(healthz)
        self.app.page("/readyz", name="ferry-readyz")(readyz)

    # -- running ---------------------------------------------------------------------------

    def topics(self) -> Sequence[str]:
        return [self.flow.source, self.flow.target, dlq(self.flow.source)]
