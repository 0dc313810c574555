"""The publish API as a part of the gateway service: its topics, its routes, its start and stop.

The routes exist from the start (Starlette's table is fixed), but the API answers 503 with
``Retry-After`` until the app directory and the idempotency store have read their topics,
which happens once Kafka is reachable: an app's key or a repeat is never judged on a partial
view.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ferry.metrics import ServiceMetrics
from ferry.registry import Registry
from ferry.topics import TopicSpec
from producers.gateway.publish.api import EVENTS_PATH, OPENAPI_PATH, Apps, PublishApi, Sender
from producers.gateway.publish.catalog import publish_types
from producers.gateway.publish.idempotency import IdempotencyStore, store_topic
from producers.gateway.rejections import Rejection, rejection_response

__all__ = ["AppSource", "PublishService", "idempotency_store"]

log = logging.getLogger(__name__)


class AppSource(Apps, Protocol):
    """The apps and their keys, read from Kafka (``ferry.apps.AppDirectory``)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def idempotency_store(registry: Registry, producer: Sender) -> IdempotencyStore:
    """The store of first answers (the publish API's) and of delivery ids (the webhooks')."""
    settings = registry.settings

    async def send(topic: str, key: bytes, value: bytes) -> Any:
        return await producer.send_and_wait(topic, value=value, key=key, headers=[])

    publish = settings.publish
    return IdempotencyStore(
        settings.kafka, publish.idempotency_topic, publish.idempotency_window_s, send
    )


class PublishService:
    def __init__(
        self,
        registry: Registry,
        apps: AppSource,
        producer: Sender,
        metrics: ServiceMetrics,
        *,
        store: IdempotencyStore | None = None,
        produce_timeout_s: float = 5.0,
        retry_after_s: int = 5,
    ) -> None:
        settings = registry.settings
        kafka = settings.kafka
        self.apps = apps
        self.store = store or idempotency_store(registry, producer)
        self.api = PublishApi(
            publish_types(registry),
            apps,
            self.store,
            producer,
            registry.serde(),
            metrics,
            settings.publish,
            produce_timeout_s=produce_timeout_s,
            retry_after_s=retry_after_s,
        )
        self._topics = [
            store_topic(
                settings.publish.idempotency_topic,
                settings.publish.idempotency_window_s,
                kafka.partitions,
                kafka.replication_factor,
            )
        ]
        self._retry_after_s = retry_after_s
        self._started = False
        self._starting: asyncio.Task[None] | None = None

    @property
    def types(self) -> list[str]:
        return sorted(self.api.types)

    @property
    def started(self) -> bool:
        return self._started

    def topics(self) -> list[TopicSpec]:
        return list(self._topics)

    def routes(self) -> list[BaseRoute]:
        return [
            Route(EVENTS_PATH, self._events, methods=["POST"]),
            Route(OPENAPI_PATH, self.api.openapi, methods=["GET"]),
        ]

    def start_when(self, connected: Callable[[], bool]) -> None:
        """Read the apps and the answers once ``connected()`` (Kafka is reachable); a failed
        start is tried again."""

        async def start() -> None:
            while True:
                while not connected():  # noqa: ASYNC110 (the producer offers no event)
                    await asyncio.sleep(0.5)
                try:
                    await self.apps.start()
                    await self.store.start()
                except Exception as exc:  # Kafka went away again, a topic not there yet
                    log.warning("publish API not started, trying again: %s", exc)
                    with contextlib.suppress(Exception):
                        await self.store.stop()
                    with contextlib.suppress(Exception):
                        await self.apps.stop()
                    await asyncio.sleep(2.0)
                    continue
                self._started = True
                log.info("publish API ready: %s", ", ".join(self.types) or "no publishable types")
                return

        self._starting = asyncio.create_task(start(), name="publish-start")

    async def stop(self) -> None:
        task, self._starting = self._starting, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self.store.stop()
        with contextlib.suppress(Exception):
            await self.apps.stop()

    async def _events(self, request: Request) -> Response:
        if not self._started:
            return rejection_response(
                request.scope,
                Rejection(
                    503,
                    "the publish API is starting (reading apps and answers from Kafka)",
                    reason="starting",
                    headers={"Retry-After": str(self._retry_after_s)},
                ),
            )
        return await self.api.events(request)
