"""The gateway as a service: connect to Kafka, create the flows' topics, serve, stop cleanly.

Kafka may be away at start-up: the gateway listens anyway, answers webhooks 503 with
Retry-After and ``/readyz`` 503 until the producer is connected, and connects (and creates the
topics) as soon as a broker answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from starlette.routing import BaseRoute

from ferry.apps import AppDirectory, apps_topic, resolve_pepper
from ferry.errors import ConfigError
from ferry.kafka import make_producer
from ferry.metrics import ServiceMetrics
from ferry.registry import GATEWAY, Registry
from ferry.service import serve_until, until_signalled
from ferry.topics import TopicSpec, ensure_topics
from producers.gateway.app import SERVICE, create_app
from producers.gateway.producer import GatewayProducer
from producers.gateway.publish.idempotency import IdempotencyStore, store_topic
from producers.gateway.publish.service import PublishService, idempotency_store
from producers.gateway.routes import webhook_routes

__all__ = ["run_gateway", "run_until_signalled"]

log = logging.getLogger(__name__)


async def _ensure_topics(registry: Registry, extra: list[TopicSpec]) -> None:
    created = await ensure_topics(registry.settings.kafka, registry.topics() + extra)
    if created:
        log.info("created topics: %s", ", ".join(created))


def _publish_service(
    registry: Registry,
    environ: Mapping[str, str] | None,
    producer: GatewayProducer,
    metrics: ServiceMetrics,
    store: IdempotencyStore,
    produce_timeout_s: float,
) -> PublishService | None:
    """The publish API, when the pepper of app keys can be read (else a warning: webhooks
    work without it)."""
    settings = registry.settings
    try:
        pepper = resolve_pepper(settings.apps, environ)
    except ConfigError as exc:
        log.warning("the publish API (POST /v1/events) is off: %s", exc)
        return None
    apps = AppDirectory(settings.kafka, settings.apps.topic, pepper)
    return PublishService(
        registry, apps, producer, metrics, store=store, produce_timeout_s=produce_timeout_s
    )


async def _start_store(store: IdempotencyStore, producer: GatewayProducer) -> None:
    """The delivery-id store alone (no publish API): read once Kafka is reachable."""
    while True:
        while not producer.connected:  # noqa: ASYNC110 (the producer offers no event)
            await asyncio.sleep(0.5)
        try:
            await store.start()
            return
        except Exception as exc:  # Kafka went away again: try later
            log.warning("delivery ids not read yet, trying again: %s", exc)
            await store.stop()
            await asyncio.sleep(2.0)


async def run_gateway(
    registry: Registry,
    *,
    environ: Mapping[str, str] | None = None,
    host: str | None = None,
    port: int | None = None,
    stop: asyncio.Event | None = None,
    started: asyncio.Event | None = None,
    metrics: ServiceMetrics | None = None,
    produce_timeout_s: float = 5.0,
) -> None:
    """Serve until ``stop`` is set (or the task is cancelled); flush the producer on the way out.

    Raises :class:`~ferry.errors.ConfigError` when a route's secret cannot be resolved.
    """
    routes = webhook_routes(registry, environ)
    settings = registry.service(GATEWAY)
    extra_topics: list[TopicSpec] = []
    producer = GatewayProducer(
        lambda: make_producer(registry.settings.kafka, client_id=SERVICE),
        prepare=lambda: _ensure_topics(registry, extra_topics),
    )
    extra_routes: list[BaseRoute] = []
    for system in registry.active_systems.values():
        if system.gateway_routes is not None:
            section = registry.system_settings(system)
            more, topics = system.gateway_routes(section, environ, producer, registry.enabled)
            extra_routes += more
            extra_topics += topics
    metrics = metrics or ServiceMetrics(SERVICE)
    store = idempotency_store(registry, producer)
    kafka = registry.settings.kafka
    extra_topics.append(
        store_topic(
            store.topic,
            registry.settings.publish.idempotency_window_s,
            kafka.partitions,
            kafka.replication_factor,
        )
    )
    publish = _publish_service(registry, environ, producer, metrics, store, produce_timeout_s)
    store_task = None
    if publish is None:
        store_task = asyncio.create_task(_start_store(store, producer), name="deliveries")
    else:
        extra_routes += publish.routes()
        extra_topics.append(apps_topic(registry.settings.apps, registry.settings.kafka))
        publish.start_when(lambda: producer.connected)
    app = create_app(
        settings,
        producer,
        registry.serde(),
        metrics,
        routes,
        extra_routes=extra_routes,
        ready=producer.ready,
        produce_timeout_s=produce_timeout_s,
        deliveries=store,
    )
    stop = stop or asyncio.Event()
    bind_host = host or settings.host
    bind_port = settings.port if port is None else port
    if not await producer.start():
        log.warning("starting without Kafka; webhooks get 503 until it is reachable")
    try:
        log.info(
            "gateway listening on %s:%d (%s)",
            bind_host,
            bind_port,
            ", ".join(f"POST {r.path} -> {r.topic}" for r in routes) or "no webhook routes",
        )
        if publish is not None:
            log.info("publish API: POST /v1/events for %s", ", ".join(publish.types) or "nothing")
        await serve_until(stop, app, bind_host, bind_port, started=started, limits=settings)
    finally:
        if publish is not None:
            await publish.stop()
        if store_task is not None:
            store_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await store_task
            await store.stop()
        await producer.stop()
        log.info("gateway stopped")


async def run_until_signalled(registry: Registry, *, host: str | None, port: int | None) -> None:
    """:func:`run_gateway` until SIGINT or SIGTERM."""

    async def run(stop: asyncio.Event) -> None:
        await run_gateway(registry, host=host, port=port, stop=stop)

    await until_signalled(run)
