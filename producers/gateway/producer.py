"""The gateway's Kafka producer: ``acks=all`` and idempotent, and patient with Kafka.

aiokafka's producer cannot send before ``start()`` has reached a broker, and a failed start
leaves it unusable. :class:`GatewayProducer` keeps the service up when Kafka is away at
start-up: it answers ``send_and_wait`` with :class:`ferry.errors.Unavailable` at once (the
webhook gets a 503 with Retry-After) while a background task reconnects with bounded backoff,
building a fresh producer for each attempt. Once started, aiokafka itself reconnects to a broker
that comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaProducer

from ferry.errors import Unavailable
from ferry.kafka import translate_kafka_error

__all__ = ["GatewayProducer"]

log = logging.getLogger(__name__)


class GatewayProducer:
    """Wraps the producer made by ``factory`` (e.g. ``ferry.kafka.make_producer``).

    ``prepare`` runs before each connection attempt until it succeeds once (the gateway uses it
    to create the flow's topics).
    """

    def __init__(
        self,
        factory: Callable[[], AIOKafkaProducer],
        *,
        prepare: Callable[[], Awaitable[object]] | None = None,
        backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
        probe_timeout_s: float = 2.0,
    ) -> None:
        self._factory = factory
        self._prepare = prepare
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._probe_timeout_s = probe_timeout_s
        self._producer: Any = None  # AIOKafkaProducer once started
        self._reconnect: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def connected(self) -> bool:
        return self._producer is not None

    async def start(self) -> bool:
        """Try to connect once; on failure keep trying in the background. True when connected."""
        if await self._attempt():
            return True
        self._ensure_reconnecting()
        return False

    async def send_and_wait(
        self, topic: str, value: bytes | None = None, key: bytes | None = None, **kw: Any
    ) -> Any:
        producer = self._producer
        if producer is None:
            self._ensure_reconnecting()
            raise Unavailable("Kafka is not connected yet")
        return await producer.send_and_wait(topic, value=value, key=key, **kw)

    async def ready(self) -> bool:
        """Connected, and a broker answers now (the readiness probe)."""
        producer = self._producer
        if producer is None:
            return False
        client = producer.client
        brokers = list(client.cluster.brokers())
        for broker in brokers:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._probe_timeout_s):
                    if await client.ready(broker.nodeId):
                        return True
        return False

    async def stop(self) -> None:
        """Stop reconnecting, flush what was accepted and close."""
        self._stopped = True
        task, self._reconnect = self._reconnect, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.flush()
            finally:
                await producer.stop()

    async def _attempt(self) -> bool:
        producer: Any = None
        try:
            if self._prepare is not None:
                await self._prepare()
                self._prepare = None
            producer = self._factory()
            await producer.start()
        except Exception as exc:  # aiokafka and the OS raise several unrelated types
            error = translate_kafka_error(exc)
            log.warning("kafka not reachable: %s", error)
            if producer is not None:
                with contextlib.suppress(Exception):
                    await producer.stop()
            return False
        if self._stopped:
            await producer.stop()
            return False
        self._producer = producer
        log.info("kafka producer connected")
        return True

    def _ensure_reconnecting(self) -> None:
        if self._stopped or self._producer is not None:
            return
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.create_task(self._reconnect_loop(), name="kafka-reconnect")

    async def _reconnect_loop(self) -> None:
        delay = self._backoff_s
        while not self._stopped and self._producer is None:
            await asyncio.sleep(delay)
            if await self._attempt():
                return
            delay = min(delay * 2, self._max_backoff_s)
