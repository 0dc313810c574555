"""``ferry capture odoo``: Odoo's changes onto Kafka, by polling ``write_date``.

One :class:`~producers.odoo.poller.Poller` per captured model (those the enabled flows read
from ``src.odoo.*``, plus ``systems.odoo.capture.models``), every ``interval_s``. Odoo down:
the poll is retried with backoff, the watermark does not move and ``/readyz`` turns 503. A
captured field missing in Odoo (a renamed field, another major version): the service stops at
start with one line naming the model and the field.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from ferry.envelope import CloudEvent, deterministic_id
from ferry.errors import AuthenticationError, ConfigError, FerryError, TransientError
from ferry.flow import Flow
from ferry.kafka import connection, make_producer
from ferry.metrics import ServiceMetrics
from ferry.odoo import OdooClient
from ferry.registry import Registry
from ferry.retry import Backoff
from ferry.serde import Serde
from ferry.service import ops_app, serve
from ferry.settings import KafkaSettings
from ferry.timefmt import format_timestamp
from ferry.topics import TopicSpec, ensure_topics
from producers.odoo.feeds import FEEDS, Captured, Feed
from producers.odoo.poller import Poller, Reconciler
from producers.odoo.settings import CaptureSettings
from producers.odoo.watermark import KafkaWatermarks
from producers.odoo.webhook import TOUCHES

__all__ = ["SERVICE", "captured_feeds", "run_capture", "run_until_signalled"]

log = logging.getLogger(__name__)

SERVICE = "odoo-capture"
CE_SOURCE = "ferry/capture/odoo"


def captured_feeds(flows: Sequence[Flow], capture: CaptureSettings) -> list[Feed]:
    """The feeds the enabled ``flows`` read, plus the configured extra models."""
    wanted: dict[str, Feed] = {}
    by_type = {f.event_type: f for f in FEEDS.values()}
    for flow in flows:
        feed = by_type.get(flow.source.event_type)
        if flow.source.system.name == "odoo" and feed is not None:
            wanted[feed.model] = feed
    for model in capture.models:
        if model not in FEEDS:
            known = ", ".join(sorted(FEEDS))
            raise ConfigError("systems.odoo.capture.models", f"{model}: not capturable ({known})")
        wanted.setdefault(model, FEEDS[model])
    return list(wanted.values())


class Emitter:
    """Encodes captured rows and produces them; returns once Kafka acknowledged all."""

    def __init__(self, producer: AIOKafkaProducer, serde: Serde, metrics: ServiceMetrics) -> None:
        self.producer = producer
        self.serde = serde
        self.metrics = metrics

    async def __call__(self, feed: Feed, events: list[Captured]) -> None:
        futures = []
        for event in events:
            envelope = CloudEvent(
                id=deterministic_id(CE_SOURCE, event.key, format_timestamp(event.version)),
                source=CE_SOURCE,
                type=feed.event_type,
                subject=event.key,
                time=event.version,  # when it changed in Odoo: the sinks' end-to-end latency
            )
            value = self.serde.encode(feed.event_type, event.record)
            futures.append(
                await self.producer.send(
                    feed.topic, value, key=event.key.encode(), headers=envelope.to_headers()
                )
            )
        await asyncio.gather(*futures)
        self.metrics.events_out.labels(self.metrics.service, feed.topic).inc(len(events))


async def check_fields(odoo: OdooClient, feeds: list[Feed]) -> None:
    """Every captured field exists in this Odoo; :class:`ConfigError` naming model and field."""
    for feed in feeds:
        fields: Mapping[str, Any] = await odoo.execute_kw(
            feed.model, "fields_get", [], {"attributes": ["type"]}
        )
        missing = [f for f in feed.fields if f != "id" and f not in fields]
        if missing:
            raise ConfigError(
                f"capture {feed.model}",
                f"field {missing[0]} does not exist in this Odoo (renamed or removed?)",
            )


async def warehouse_id(odoo: OdooClient, warehouse: str) -> int:
    """The id of the warehouse whose code (else name) is ``warehouse``; a missing one is a
    :class:`ConfigError` naming the key and what exists."""
    for field in ("code", "name"):
        found = await odoo.search("stock.warehouse", [(field, "=", warehouse)], limit=1)
        if found:
            return found[0]
    rows = await odoo.search_read("stock.warehouse", [], ["code", "name"])
    known = ", ".join(f"{r['code']} ({r['name']})" for r in rows) or "none"
    raise ConfigError(
        "systems.odoo.capture.warehouse", f"no warehouse {warehouse!r} in Odoo (it has {known})"
    )


class _Health:
    def __init__(self, feeds: list[Feed], interval_s: float) -> None:
        self.last_ok = {f.model: 0.0 for f in feeds}
        self.interval_s = interval_s

    def ok(self, feed: Feed) -> None:
        self.last_ok[feed.model] = time.monotonic()

    def ready(self) -> bool:
        horizon = time.monotonic() - max(3 * self.interval_s, 10.0)
        return all(t >= horizon for t in self.last_ok.values())


async def _poll_forever(
    poller: Poller,
    capture: CaptureSettings,
    trigger: asyncio.Event,
    backoff: Backoff,
    health: _Health,
    metrics: ServiceMetrics,
) -> None:
    """Poll every ``interval_s``, or ``debounce_s`` after a touch (however many arrive)."""
    failures = 0
    while True:
        started = time.perf_counter()
        try:
            count = await poller.poll()
        except TransientError as exc:
            failures += 1
            delay = backoff.delay(min(failures, 32), exc.retry_after)
            log.warning("polling %s failed (%s); again in %.1f s", poller.feed.model, exc, delay)
            await asyncio.sleep(delay)
            continue
        failures = 0
        health.ok(poller.feed)
        model = poller.feed.model
        metrics.capture_last_poll.labels(metrics.service, model).set(time.time())
        if poller.watermark is not None and poller.watermark.since is not None:
            metrics.capture_watermark.labels(metrics.service, model).set(
                poller.watermark.since.timestamp()
            )
        metrics.processing.labels(metrics.service, f"poll {poller.feed.model}").observe(
            time.perf_counter() - started
        )
        if count:
            log.info("%s: %d event(s) to %s", poller.feed.model, count, poller.feed.topic)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(trigger.wait(), timeout=capture.interval_s)
            await asyncio.sleep(capture.debounce_s)  # the rest of a burst rides along
        trigger.clear()


async def _reconcile_forever(reconciler: Reconciler, every_s: float) -> None:
    """Look for deleted records every ``every_s`` (Odoo away: try again next time)."""
    while True:
        try:
            gone = await reconciler.reconcile()
        except TransientError as exc:
            log.warning("reconciling %s failed (%s)", reconciler.feed.model, exc)
        else:
            if gone:
                log.info("%s: %d deleted record(s)", reconciler.feed.model, gone)
        await asyncio.sleep(every_s)


async def _listen_for_touches(kafka: KafkaSettings, triggers: Mapping[str, asyncio.Event]) -> None:
    """Odoo's webhooks, relayed by the gateway: each wakes its model's poller.

    No consumer group: every capture instance hears every touch from now on (a touch only
    hurries a poll; the watermark has the rest), and nothing waits for a group coordinator.
    """
    consumer = AIOKafkaConsumer(
        **connection(kafka),
        client_id=f"{kafka.client_id}-{SERVICE}-touches",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        touches = TopicPartition(TOUCHES, 0)
        consumer.assign([touches])
        await consumer.seek_to_end(touches)
        async for record in consumer:
            try:
                model = json.loads(record.value or b"{}").get("model")
            except ValueError:
                continue
            trigger = triggers.get(model) if isinstance(model, str) else None
            if trigger is not None:
                trigger.set()
    finally:
        await consumer.stop()


async def _connect(
    odoo: OdooClient,
    feeds: list[Feed],
    capture: CaptureSettings,
    backoff: Backoff,
    stop: asyncio.Event,
) -> tuple[int, int | None] | None:
    """Log in and check the feeds' fields (and the warehouse): Ferry's uid and the
    warehouse's id. While Odoo is unreachable, try again with backoff; None if stopped first."""
    failures = 0
    while not stop.is_set():
        try:
            uid = await odoo.authenticate()
            await check_fields(odoo, feeds)
            stock_at = (
                await warehouse_id(odoo, capture.warehouse)
                if any(f.model == "stock.quant" for f in feeds)
                else None
            )
            if failures:
                log.info("Odoo is reachable again after %d failed attempt(s)", failures)
            return uid, stock_at
        except TransientError as exc:
            failures += 1
            delay = backoff.delay(min(failures, 32), exc.retry_after)
            log.warning("Odoo is not reachable (%s); trying again in %.1f s", exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
    return None


async def run_capture(
    registry: Registry,
    *,
    environ: Mapping[str, str] | None = None,
    stop: asyncio.Event | None = None,
    metrics: ServiceMetrics | None = None,
    odoo: OdooClient | None = None,
) -> int:
    """Capture until ``stop`` is set; return the exit status (1: a fatal problem).

    ``odoo`` is the client to use (default: one built from ``systems.odoo``; closed at the end).
    """
    settings = registry.system_settings("odoo")
    capture: CaptureSettings = settings.capture
    feeds = captured_feeds(registry.enabled, capture)
    if not feeds:
        print(
            f"{SERVICE}: no enabled flow reads from Odoo and no model is configured",
            file=sys.stderr,
        )
        return 1
    metrics = metrics or ServiceMetrics(SERVICE)
    kafka = registry.settings.kafka
    odoo = odoo or OdooClient.from_settings(settings, environ=environ)
    producer = make_producer(kafka, client_id=SERVICE)
    health = _Health(feeds, capture.interval_s)
    where = registry.service(SERVICE)
    # Health first: a capture waiting for Odoo is alive (/healthz) but not ready (/readyz).
    tasks: list[asyncio.Task[None]] = [
        asyncio.create_task(serve(ops_app(metrics, health.ready), where.host, where.port))
    ]
    stopping = stop or asyncio.Event()
    backoff = Backoff.from_settings(registry.settings.retry)
    try:
        try:
            started = await _connect(odoo, feeds, capture, backoff, stopping)
        except AuthenticationError:
            print(f"{SERVICE}: Odoo refused the API key for login {odoo.login}", file=sys.stderr)
            return 1
        except ConfigError as exc:
            print(f"{SERVICE}: {exc}", file=sys.stderr)
            return 1
        except FerryError as exc:
            print(f"{SERVICE}: Odoo answered in error: {exc}", file=sys.stderr)
            return 1
        if started is None:
            return 0  # stopped while waiting for Odoo
        uid, stock_at = started
        await producer.start()
        watermarks = KafkaWatermarks(kafka, producer)
        specs = registry.topics() + watermarks.topics([f.model for f in feeds])
        specs.append(TopicSpec(TOUCHES, 1, kafka.replication_factor))
        specs += [
            TopicSpec.for_name(f.topic, kafka.partitions, kafka.replication_factor) for f in feeds
        ]
        await ensure_topics(kafka, specs)
        emit = Emitter(producer, registry.serde(), metrics)

        def echo(feed: Feed) -> None:
            metrics.echoes.labels(metrics.service, feed.topic).inc()

        triggers = {feed.model: asyncio.Event() for feed in feeds}
        if capture.webhook_token is not None:
            tasks.append(asyncio.create_task(_listen_for_touches(kafka, triggers), name="touches"))
        for feed in feeds:
            if feed.archivable:  # records that can be archived or deleted: stock cannot
                reconciler = Reconciler(feed, odoo, emit)
                tasks.append(
                    asyncio.create_task(
                        _reconcile_forever(reconciler, capture.reconcile_every_s),
                        name=f"reconcile {feed.model}",
                    )
                )
            poller = Poller(
                feed,
                odoo,
                emit,
                watermarks,
                ferry_uid=uid,
                overlap_s=capture.overlap_s,
                batch_size=capture.batch_size,
                warehouse=capture.warehouse,
                warehouse_id=stock_at,
                on_echo=echo,
            )
            tasks.append(
                asyncio.create_task(
                    _poll_forever(poller, capture, triggers[feed.model], backoff, health, metrics),
                    name=f"capture {feed.model}",
                )
            )
        log.info("capturing %s every %.1f s", ", ".join(f.model for f in feeds), capture.interval_s)
        waiter = asyncio.create_task(stopping.wait())
        done, _ = await asyncio.wait({*tasks, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        for task in done:
            if task is not waiter and not task.cancelled() and task.exception() is not None:
                print(f"{SERVICE}: {task.get_name()}: {task.exception()}", file=sys.stderr)
                return 1
        return 0
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await producer.stop()
        await odoo.aclose()


async def run_until_signalled(registry: Registry) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        return await run_capture(registry, stop=stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
