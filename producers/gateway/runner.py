"""The gateway as a service: connect to Kafka, create the flow's topics, serve, stop cleanly.

Kafka may be away at start-up: the gateway listens anyway, answers webhooks 503 with
Retry-After and ``/readyz`` 503 until the producer is connected, and connects (and creates the
topics) as soon as a broker answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from pydantic import SecretStr

from ferry.kafka import make_producer
from ferry.metrics import ServiceMetrics
from ferry.serde import SingleObjectSerde
from ferry.service import serve
from ferry.settings import Settings
from ferry.topics import TopicSpec, dlq, ensure_topics, topics_for_flow
from producers.gateway.app import SERVICE, create_app
from producers.gateway.producer import GatewayProducer
from producers.shop.webhook import TOPIC

__all__ = ["run_gateway", "run_until_signalled"]

log = logging.getLogger("ferry.gateway")


async def _ensure_flow_topics(settings: Settings) -> None:
    kafka = settings.kafka
    specs = [
        spec
        for flow in settings.flows
        if flow.source == TOPIC
        for spec in topics_for_flow(
            flow.source, flow.target, kafka.partitions, kafka.replication_factor
        )
    ]
    if not specs:  # no flow reads the shop's orders yet: the source topic still has to exist
        specs = [
            TopicSpec.for_name(name, kafka.partitions, kafka.replication_factor)
            for name in (TOPIC, dlq(TOPIC))
        ]
    created = await ensure_topics(kafka.bootstrap_servers, specs)
    if created:
        log.info("created topics: %s", ", ".join(created))


async def run_gateway(
    settings: Settings,
    webhook_secret: SecretStr,
    *,
    host: str | None = None,
    port: int | None = None,
    stop: asyncio.Event | None = None,
    started: asyncio.Event | None = None,
    metrics: ServiceMetrics | None = None,
    produce_timeout_s: float = 5.0,
) -> None:
    """Serve until ``stop`` is set (or the task is cancelled); flush the producer on the way out."""
    producer = GatewayProducer(
        lambda: make_producer(settings.kafka, client_id=SERVICE),
        prepare=lambda: _ensure_flow_topics(settings),
    )
    metrics = metrics or ServiceMetrics(SERVICE)
    app = create_app(
        settings.gateway,
        producer,
        SingleObjectSerde(),
        metrics,
        webhook_secret=webhook_secret,
        ready=producer.ready,
        produce_timeout_s=produce_timeout_s,
    )
    stop = stop or asyncio.Event()
    bind_host = host or settings.gateway.host
    bind_port = settings.gateway.port if port is None else port
    if not await producer.start():
        log.warning("starting without Kafka; webhooks get 503 until it is reachable")
    server = asyncio.create_task(serve(app, bind_host, bind_port, started=started))
    stopping = asyncio.create_task(stop.wait())
    try:
        log.info("gateway listening on %s:%d", bind_host, bind_port)
        await asyncio.wait({server, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if server.done():
            server.result()  # a start-up error such as a port in use
    finally:
        for task in (server, stopping):
            task.cancel()
        for task in (server, stopping):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await producer.stop()
        log.info("gateway stopped")


async def run_until_signalled(
    settings: Settings, webhook_secret: SecretStr, *, host: str | None, port: int | None
) -> None:
    """:func:`run_gateway` until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_gateway(settings, webhook_secret, host=host, port=port, stop=stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
