"""The gateway's ASGI app: one webhook route per entry of the route table, plus the ops pages.

A webhook is answered ``202 {"id": <ce_id>, "topic": <topic>}`` only after Kafka acknowledged
the event (``send_and_wait`` on the ``acks=all`` idempotent producer). When Kafka does not
acknowledge within ``produce_timeout_s`` the answer is 503 with ``Retry-After``: the sender
retries, and the retry carries the same ``ce_id``, so an event that did reach Kafka late is
recognised downstream as a duplicate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ferry.envelope import Headers
from ferry.errors import Unavailable, ValidationError
from ferry.flow import Converted
from ferry.kafka import translate_kafka_error
from ferry.metrics import ServiceMetrics
from ferry.serde import Serde
from ferry.service import ReadyCheck, ops_routes
from ferry.settings import ServiceSettings
from producers.gateway.checks import (
    invalid_record,
    require_json,
    require_json_content_type,
    require_not_ahead,
    require_signature,
    require_webhook_topic,
)
from producers.gateway.limits import BodyLimitMiddleware
from producers.gateway.rejections import Rejection, log, rejection_response
from producers.gateway.routes import WebhookRoute

__all__ = ["SERVICE", "Producer", "RequestMetricsMiddleware", "create_app"]

SERVICE = "gateway"


class Producer(Protocol):
    """What the gateway needs of a Kafka producer (aiokafka's, or a test double)."""

    def send_and_wait(
        self, topic: str, *, value: bytes, key: bytes, headers: Headers
    ) -> Awaitable[Any]: ...


def create_app(
    settings: ServiceSettings,
    producer: Producer,
    serde: Serde,
    metrics: ServiceMetrics,
    routes: Sequence[WebhookRoute],
    *,
    extra_routes: Sequence[BaseRoute] = (),
    ready: ReadyCheck | None = None,
    produce_timeout_s: float = 5.0,
    retry_after_s: int = 5,
    deliveries: Deliveries | None = None,
) -> Starlette:
    """The gateway app: a route per entry of ``routes``, the ``extra_routes`` systems add, the
    ops pages. ``ready`` is the readiness probe (default: always ready)."""
    service = metrics.service

    async def publish(route: WebhookRoute, converted: Converted, value: bytes) -> None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(produce_timeout_s):
                await producer.send_and_wait(
                    route.topic,
                    value=value,
                    key=converted.key.encode(),
                    headers=converted.event.to_headers(),
                )
        except Exception as exc:  # TimeoutError, aiokafka's errors, Unavailable, ...
            error = translate_kafka_error(exc)
            log.warning("produce to %s failed: %s", route.topic, error)
            if isinstance(error, Unavailable):  # a timeout is Unavailable too
                raise Rejection(
                    503,
                    "Kafka did not acknowledge the event; retry later",
                    reason="kafka unavailable",
                    headers={"Retry-After": str(retry_after_s)},
                ) from exc
            raise Rejection(500, "Kafka refused the event", reason="kafka refused") from exc
        finally:
            metrics.processing.labels(service, "produce").observe(time.perf_counter() - started)
        metrics.events_out.labels(service, route.topic).inc()

    def endpoint(route: WebhookRoute) -> Callable[[Request], Awaitable[Response]]:
        async def webhook(request: Request) -> Response:
            try:
                require_json_content_type(request.headers)
                body = await request.body()
                verified = require_signature(route, body, request.headers)
                require_webhook_topic(route, request.headers)
                delivery = verified.delivery_id
                seen_key = f"webhook\x1f{route.path}\x1f{delivery}"
                if delivery and deliveries is not None and _seen(deliveries, seen_key, route):
                    log.info(
                        "delivery %s on %s seen before: answered, nothing produced",
                        delivery[:80],
                        route.path,
                    )
                    metrics.duplicates.labels(service, route.topic).inc()
                    return JSONResponse({"duplicate": True, "delivery": delivery}, 200)
                payload = require_json(body)
                source = route.source
                try:
                    converted = source.convert(
                        payload,
                        delivery_id=delivery or None,
                        traceparent=request.headers.get("traceparent"),
                    )
                    value = serde.encode(route.event_type, converted.record)
                except ValidationError as exc:
                    raise invalid_record(exc, route.event_type) from None
                require_not_ahead(route, converted.record)
                metrics.events_in.labels(service, route.topic).inc()
                await publish(route, converted, value)
                answer = {"id": converted.event.id, "topic": route.topic}
                log.debug(
                    "accepted on %s",
                    route.path,
                    extra={"topic": route.topic, "key": converted.key, "event_id": answer["id"]},
                )
                if delivery and deliveries is not None:
                    await _remember(deliveries, seen_key)
            except Rejection as rejection:
                return rejection_response(request.scope, rejection)
            return JSONResponse(answer, status_code=202)

        return webhook

    table = [Route(route.path, endpoint(route), methods=["POST"]) for route in routes]
    known = {route.path for route in routes} | {"/metrics", "/healthz", "/readyz"}
    known |= {route.path for route in extra_routes if isinstance(route, Route)}
    return Starlette(
        routes=[*table, *extra_routes, *ops_routes(metrics, ready or (lambda: True))],
        middleware=[
            Middleware(RequestMetricsMiddleware, metrics=metrics, routes=known),
            Middleware(
                BodyLimitMiddleware,
                max_body_bytes=settings.max_body_bytes,
                body_timeout_s=settings.body_timeout_s,
                max_header_bytes=settings.max_header_bytes,
            ),
        ],
    )


class Deliveries(Protocol):
    """Delivery ids seen recently, shared by every gateway (the idempotency store)."""

    def seen_at(self, key: str) -> float | None: ...  # epoch seconds, or None
    async def see(self, key: str) -> None: ...


def _seen(deliveries: Deliveries, key: str, route: WebhookRoute) -> bool:
    at = deliveries.seen_at(key)
    return at is not None and time.time() - at <= route.dedupe_s


async def _remember(deliveries: Deliveries, key: str) -> None:
    """Keep the delivery id; the event is in Kafka already, so a failure here only logs."""
    try:
        async with asyncio.timeout(5.0):
            await deliveries.see(key)
    except Exception as exc:  # Kafka away: a replay of this delivery would pass once more
        log.warning("delivery %s not remembered: %s", key.rsplit("\x1f", 1)[-1][:80], exc)


class RequestMetricsMiddleware:
    """Counts every answer in ``ferry_http_requests_total{service, route, status}``.

    ``route`` is the path of a known route, else ``other`` (so random paths cannot blow up the
    number of series).
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, routes: Iterable[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = frozenset(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def watched_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        finally:
            path = scope.get("path", "")
            route = path if path in self.routes else "other"
            self.metrics.http_requests.labels(self.metrics.service, route, str(status)).inc()
