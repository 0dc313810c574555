"""``POST /v1/events``: connected apps publish CloudEvents (see ``docs/publish.md``).

The checks run in this order, each answering with its own status: the app's key (401), the
content type (415), the body (413 via the body limit, 400 when it is not JSON or not a
CloudEvent), the event type (404 when no flow takes it, 403 when the app is not granted it),
the app's rate (429), the idempotency key (the first answer again, or 422 for another body),
``data`` against the type's schema (422 naming the field and the rule), Kafka (202 once
acknowledged, 503 when not). A batch answers 207 with one result per event.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ferry.envelope import CloudEvent, Headers, deterministic_id, new_traceparent
from ferry.errors import Unavailable, ValidationError
from ferry.kafka import translate_kafka_error
from ferry.metrics import ServiceMetrics
from ferry.serde import Serde
from ferry.settings import PublishSettings
from producers.gateway.jsonbody import JsonBodyError, parse_json_strict
from producers.gateway.publish.avrojson import from_json
from producers.gateway.publish.catalog import PublishType
from producers.gateway.publish.cloudevents import (
    BATCH,
    BINARY,
    STRUCTURED,
    EventError,
    IncomingEvent,
    from_binary,
    from_structured,
    media_type,
)
from producers.gateway.publish.idempotency import IdempotencyStore
from producers.gateway.publish.openapi import openapi_document
from producers.gateway.publish.ratelimit import RateLimiter
from producers.gateway.rejections import Rejection, rejection_response

__all__ = ["AppLike", "Apps", "PublishApi", "Sender"]

log = logging.getLogger(__name__)

EVENTS_PATH = "/v1/events"
OPENAPI_PATH = "/v1/openapi.json"
MAX_DEPTH = 64


class AppLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def grants(self) -> frozenset[str]: ...
    @property
    def rate_per_s(self) -> float: ...


class Apps(Protocol):
    def authenticate(self, key: str) -> AppLike | None: ...


class Sender(Protocol):
    def send_and_wait(
        self, topic: str, *, value: bytes, key: bytes, headers: Headers
    ) -> Awaitable[Any]: ...


@dataclass(slots=True)
class _Result:
    """One event's answer inside a request."""

    id: str
    status: int
    error: Rejection | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.error is not None:
            out.update(self.error.body())
        return out


@dataclass(slots=True)
class _Prepared:
    incoming: IncomingEvent
    store_key: str
    digest: str
    kind: PublishType
    record: dict[str, Any]


class PublishApi:
    def __init__(
        self,
        types: dict[str, PublishType],
        apps: Apps,
        store: IdempotencyStore,
        producer: Sender,
        serde: Serde,
        metrics: ServiceMetrics,
        settings: PublishSettings,
        *,
        limiter: RateLimiter | None = None,
        produce_timeout_s: float = 5.0,
        retry_after_s: int = 5,
    ) -> None:
        self.types = types
        self.apps = apps
        self.store = store
        self.producer = producer
        self.serde = serde
        self.metrics = metrics
        self.settings = settings
        self.limiter = limiter or RateLimiter()
        self.produce_timeout_s = produce_timeout_s
        self.retry_after_s = retry_after_s
        self._openapi = openapi_document(types, max_batch=settings.max_batch)

    def routes(self) -> list[BaseRoute]:
        return [
            Route(EVENTS_PATH, self.events, methods=["POST"]),
            Route(OPENAPI_PATH, self.openapi, methods=["GET"]),
        ]

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(self._openapi)

    async def events(self, request: Request) -> Response:
        try:
            app = self._app(request)
            mode = media_type(request.headers.get("content-type"))
            if mode not in (STRUCTURED, BINARY, BATCH):
                raise Rejection(
                    415,
                    f"content type must be {STRUCTURED}, {BATCH} or {BINARY} with ce-* headers",
                    reason="unsupported content type",
                    field="Content-Type",
                    rule=f"{STRUCTURED} | {BATCH} | {BINARY}",
                )
            body = _parse(await request.body())
            if mode == BATCH:
                return await self._batch(app, body)
            incoming = (
                from_structured(body) if mode == STRUCTURED else from_binary(request.headers, body)
            )
            return await self._single(app, incoming, request.headers.get("idempotency-key"))
        except EventError as exc:
            rejection = Rejection(
                400, str(exc), reason="not a cloudevent", field=exc.field, rule=exc.rule
            )
            return rejection_response(request.scope, rejection)
        except Rejection as rejection:
            return rejection_response(request.scope, rejection)

    # -- one event ---------------------------------------------------------------------------

    async def _single(self, app: AppLike, incoming: IncomingEvent, key: str | None) -> Response:
        kind = self._granted(app, incoming.type)
        self._throttle(app, 1)
        if key is not None and (not key.strip() or len(key) > 256):
            raise Rejection(
                400,
                "Idempotency-Key must be 1 to 256 characters",
                reason="bad idempotency key",
                field="Idempotency-Key",
                rule="1 to 256 characters",
            )
        store_key = _store_key(app, key or f"{incoming.source}\x1f{incoming.id}")
        async with self.store.claim(store_key):
            digest = _digest(incoming)
            repeat = self._repeat(store_key, digest, "Idempotency-Key" if key else "id")
            if repeat is not None:
                return JSONResponse(
                    repeat.body, repeat.status, headers={"Idempotent-Replayed": "true"}
                )
            prepared = _Prepared(incoming, store_key, digest, kind, self._record(kind, incoming))
            [result] = await self._produce(app, [prepared])
            if result.error is not None:
                raise result.error
            body = {"ids": [incoming.id]}
            await self._remember(prepared, 202, body)
            return JSONResponse(body, 202)

    # -- a batch -----------------------------------------------------------------------------

    async def _batch(self, app: AppLike, body: Any) -> Response:
        if not isinstance(body, list) or not body:
            raise Rejection(
                400,
                "a batch is a non-empty JSON array of CloudEvents",
                reason="not a cloudevent",
                field="body",
                rule="non-empty array",
            )
        if len(body) > self.settings.max_batch:
            raise Rejection(
                413,
                f"a batch holds at most {self.settings.max_batch} events, this one {len(body)}",
                reason="batch too large",
                field="body",
                rule=f"at most {self.settings.max_batch} events",
            )
        self._throttle(app, len(body))
        results: list[_Result] = []
        todo: list[tuple[int, _Prepared]] = []
        seen: set[str] = set()
        for index, item in enumerate(body):
            where = f"[{index}]."
            event_id = str(item.get("id")) if isinstance(item, dict) else ""
            try:
                incoming = from_structured(item, where)
                kind = self._granted(app, incoming.type)
                store_key = _store_key(app, f"{incoming.source}\x1f{incoming.id}")
                digest = _digest(incoming)
                if store_key in seen:
                    raise Rejection(
                        422,
                        "the batch holds this source and id twice",
                        reason="idempotency conflict",
                        field=f"{where}id",
                        rule="unique source and id",
                    )
                seen.add(store_key)
                repeat = self._repeat(store_key, digest, f"{where}id")
                if repeat is not None:
                    results.append(_Result(incoming.id, 202))
                    continue
                record = self._record(kind, incoming, prefix=f"{where}data.")
            except EventError as exc:
                error = Rejection(
                    400, str(exc), reason="not a cloudevent", field=exc.field, rule=exc.rule
                )
                results.append(_Result(event_id, 400, error))
                continue
            except Rejection as error:
                results.append(_Result(event_id, error.status, error))
                continue
            results.append(_Result(incoming.id, 202))
            todo.append((len(results) - 1, _Prepared(incoming, store_key, digest, kind, record)))
        produced = await self._produce(app, [prepared for _, prepared in todo])
        for (slot, prepared), result in zip(todo, produced, strict=True):
            results[slot] = result
            if result.error is None:
                await self._remember(prepared, 202, {"ids": [prepared.incoming.id]})
        accepted = sum(1 for r in results if r.status == 202)
        return JSONResponse(
            {
                "accepted": accepted,
                "rejected": len(results) - accepted,
                "results": [r.body() for r in results],
            },
            207,
        )

    # -- the steps ---------------------------------------------------------------------------

    def _app(self, request: Request) -> AppLike:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        app = self.apps.authenticate(key.strip()) if scheme.lower() == "bearer" and key else None
        if app is None:
            raise Rejection(
                401,
                "a valid app key is required: Authorization: Bearer <key>",
                reason="unknown app key",
                field="Authorization",
                rule="Bearer app key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return app

    def _granted(self, app: AppLike, event_type: str) -> PublishType:
        kind = self.types.get(event_type)
        if kind is None:
            raise Rejection(
                404,
                f"no flow takes events of type {event_type!r}",
                reason="unknown event type",
                field="type",
                rule="a published event type",
            )
        if event_type not in app.grants:
            raise Rejection(
                403,
                f"app {app.name} may not publish {event_type}",
                reason="type not granted",
                field="type",
                rule="granted types",
            )
        return kind

    def _throttle(self, app: AppLike, count: int) -> None:
        wait = self.limiter.take(app.name, app.rate_per_s, count)
        if wait > 0:
            raise Rejection(
                429,
                f"app {app.name} is over its rate of {app.rate_per_s:g} events/s",
                reason="rate limited",
                headers={"Retry-After": RateLimiter.retry_after(wait)},
            )

    def _repeat(self, store_key: str, digest: str, field: str) -> Any:
        first = self.store.get(store_key)
        if first is None:
            return None
        if first.digest != digest:
            raise Rejection(
                422,
                "this idempotency key was used for another request in the last "
                f"{self.store.window_s / 3600:g} h",
                reason="idempotency conflict",
                field=field,
                rule="one request per idempotency key",
            )
        return first

    def _record(
        self, kind: PublishType, incoming: IncomingEvent, prefix: str = "data."
    ) -> dict[str, Any]:
        try:
            return from_json(kind.schema.source, incoming.data)
        except ValidationError as exc:
            field = f"{prefix}{exc.field}" if exc.field != "data" else prefix.rstrip(".")
            raise Rejection(
                422,
                f"data is not a {kind.event_type} record: {exc}",
                reason="invalid record",
                field=field,
                rule=exc.rule,
            ) from None

    async def _produce(self, app: AppLike, items: Sequence[_Prepared]) -> list[_Result]:
        """Send every event and wait for Kafka's acknowledgements."""

        async def send(prepared: _Prepared) -> _Result:
            incoming, kind = prepared.incoming, prepared.kind
            started = time.perf_counter()
            try:
                key = kind.key(prepared.record)
                value = self.serde.encode(kind.event_type, prepared.record)
            except (ValidationError, KeyError, ValueError, TypeError) as exc:
                error = Rejection(
                    422, f"cannot encode the record: {exc}", reason="invalid record", field="data"
                )
                return _Result(incoming.id, 422, error)
            event = CloudEvent(
                id=deterministic_id("app", app.name, incoming.source, incoming.id),
                source=incoming.source,
                type=kind.event_type,
                subject=incoming.subject or key,
                time=datetime.now(UTC),
                traceparent=new_traceparent(),
            )
            self.metrics.events_in.labels(self.metrics.service, kind.topic).inc()
            try:
                async with asyncio.timeout(self.produce_timeout_s):
                    await self.producer.send_and_wait(
                        kind.topic, value=value, key=key.encode(), headers=event.to_headers()
                    )
            except Exception as exc:  # a timeout, aiokafka's errors, Unavailable
                translated = translate_kafka_error(exc)
                log.warning("produce to %s failed: %s", kind.topic, translated)
                status = 503 if isinstance(translated, Unavailable) else 500
                error = Rejection(
                    status,
                    "Kafka did not acknowledge the event; retry later",
                    reason="kafka unavailable",
                    headers={"Retry-After": str(self.retry_after_s)},
                )
                return _Result(incoming.id, status, error)
            finally:
                self.metrics.processing.labels(self.metrics.service, "produce").observe(
                    time.perf_counter() - started
                )
            self.metrics.events_out.labels(self.metrics.service, kind.topic).inc()
            return _Result(incoming.id, 202)

        return list(await asyncio.gather(*(send(p) for p in items)))

    async def _remember(self, prepared: _Prepared, status: int, body: dict[str, Any]) -> None:
        try:
            async with asyncio.timeout(self.produce_timeout_s):
                await self.store.remember(prepared.store_key, prepared.digest, status, body)
        except Exception as exc:  # the events are in Kafka: the answer stays 202
            log.warning(
                "the answer to %s was not stored: %s",
                prepared.incoming.id,
                translate_kafka_error(exc),
            )


def _store_key(app: AppLike, key: str) -> str:
    return f"{app.name}\x1f{key}"


def _digest(incoming: IncomingEvent) -> str:
    """What makes two requests the same: type, source, id, subject and data."""
    canonical = json.dumps(
        [incoming.type, incoming.source, incoming.id, incoming.subject, incoming.data],
        sort_keys=True,
        separators=(",", ":"),
        default=_plain,
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def _parse(body: bytes) -> Any:
    """The body as JSON by the gateway's strict rules (UTF-8, no BOM, no lone surrogates or
    duplicate keys, at most 64 deep, numbers in range); 400 naming the rule otherwise."""
    try:
        return parse_json_strict(body, MAX_DEPTH)
    except JsonBodyError as exc:
        raise exc.rejection() from None
