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
the record is queued, and the agent awaits that future too, which resolves with the record's
metadata once every in-sync replica has it (``producer_acks=-1``) and raises when the send
failed. A dead letter is awaited the same way. An event whose output was not acknowledged is
never acked, so its offset is never committed: after a crash or restart it is processed again
(at-least-once; the Odoo sink upserts by external id, so a repeat is harmless). The agent runs
one actor (``concurrency=1``) and handles events in order, so it never acks a later offset
while an earlier one is in flight (faust issue #606: with concurrency it could commit past an
unacked event).

Anything unexpected (a send that failed, the DLQ brake) is not handled per event: it crashes
the agent, whose supervisor (``mode.CrashingSupervisor``) crashes the worker, which exits
non-zero with the reason logged, without acking the event at hand.

Only real changes travel
------------------------
A faust table keyed by the record key holds a hash of the content last sent for that key
(:func:`streams.processor.content_digest`); an event that maps to the same content is acked
and dropped (``ferry_duplicates_total``). The table's changelog topic is named by Ferry:
``ferry.streams.<flow>.last-sent`` (compacted). The table is updated only after the output
was acknowledged.

Operations
----------
faust's web server (aiohttp) serves ``/metrics`` (this service's own Prometheus registry:
events in/out per topic, dead letters by error class, processing seconds by stage),
``/healthz`` and ``/readyz`` (200 once the consumer has partitions assigned and is not
rebalancing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import faust
from mode import CrashingSupervisor

from ferry.dlq import ERROR_PREFIX, DlqBrake, DlqBrakeTripped, error_headers
from ferry.envelope import Headers
from ferry.metrics import CONTENT_TYPE_LATEST, ServiceMetrics
from ferry.serde import Serde, SingleObjectSerde
from ferry.settings import FlowSettings, Settings
from ferry.topics import dlq, internal
from streams.orders.mapping import MAPPINGS
from streams.orders.validate import validate_order
from streams.ownership import OwnershipGuard
from streams.processor import Failure, FlowProcessor, Output

__all__ = ["APP_ID", "SERVICE", "StreamsApp", "order_flow"]

log = logging.getLogger("ferry.streams")

APP_ID = "ferry-streams"
SERVICE = "streams"
ORDER_MAPPING = "shop_order_to_sale_order"


def order_flow(settings: Settings) -> FlowSettings:
    """The configured flow that maps shop orders to Odoo sale orders."""
    for flow in settings.flows:
        if flow.mapping == ORDER_MAPPING:
            return flow
    raise LookupError(f"no flow with mapping {ORDER_MAPPING!r} in the configuration")


def _broker_urls(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",") if server]


class StreamsApp:
    """The faust app of the order flow, its agent, change-only table and ops pages."""

    def __init__(
        self,
        settings: Settings,
        *,
        metrics: ServiceMetrics | None = None,
        serde: Serde | None = None,
        app_id: str = APP_ID,
    ) -> None:
        self.settings = settings
        self.metrics = metrics if metrics is not None else ServiceMetrics(SERVICE)
        self.flow = order_flow(settings)
        mapping = MAPPINGS[self.flow.mapping]
        guard = OwnershipGuard.from_settings(
            settings, {name: m.entity for name, m in MAPPINGS.items()}
        )
        self.processor = FlowProcessor(
            self.flow, mapping, validate_order, guard, serde or SingleObjectSerde()
        )
        self.brake = DlqBrake(settings.dlq)
        partitions = settings.kafka.partitions
        self.app = faust.App(
            app_id,
            broker=_broker_urls(settings.kafka.bootstrap_servers),
            value_serializer="raw",
            key_serializer="raw",
            producer_acks=-1,
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
        self.target = self.app.topic(self.flow.target, partitions=partitions, **topic_args)
        self.dead_letters = self.app.topic(
            dlq(self.flow.source), partitions=partitions, **topic_args
        )
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
        async for event in manual.events():
            await self.handle(event.message)
            await manual.ack(event)

    async def handle(self, message: Any) -> None:
        """Process one source record; return once its output or dead letter is acknowledged."""
        began = time.perf_counter()
        topic: str = message.topic
        self.metrics.events_in.labels(SERVICE, topic).inc()
        outcome = self.processor.process(message.key, message.value, message.headers)
        if isinstance(outcome, Output):
            self.brake.record(True, topic=topic)
            await self._emit(outcome)
        else:
            await self._dead_letter(message, outcome)
        self.metrics.processing.labels(SERVICE, self.flow.name).observe(time.perf_counter() - began)

    async def _emit(self, output: Output) -> None:
        key = output.key
        digest = output.digest.encode()
        if key is not None and self.last_sent.get(key) == digest:
            self.metrics.duplicates.labels(SERVICE, self.flow.target).inc()
            return
        delivery = await self.target.send(key=key, value=output.value, headers=output.headers)
        await delivery  # Kafka acknowledged it (acks=all); raises if the send failed
        if key is not None:
            self.last_sent[key] = digest
        self.metrics.events_out.labels(SERVICE, self.flow.target).inc()

    async def _dead_letter(self, message: Any, failure: Failure) -> None:
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
        delivery = await self.dead_letters.send(
            key=message.key, value=message.value, headers=headers
        )
        await delivery
        self.metrics.dlq.labels(SERVICE, message.topic, type(failure.error).__name__).inc()
        log.warning(
            "dead-lettered %s[%s]@%s at stage %s: %s",
            message.topic,
            message.partition,
            message.offset,
            failure.stage,
            failure.error,
        )

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
