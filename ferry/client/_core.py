"""The publish API's SDK: :class:`FerryClient` (sync) and :class:`AsyncFerryClient` (asyncio).

Both build the same requests and read the same answers (one core, two transports): one event
in structured mode, a batch in batch mode (``docs/publish.md``). A 429, a 503 or a connection
error is tried again, after the ``Retry-After`` the gateway sent or a jittered backoff, with the
same body and the same ``Idempotency-Key`` each time, so a retry never publishes twice. Other
refusals raise :class:`PublishError` with the gateway's field and rule. The app key never
appears in an error or a repr.

    with FerryClient("http://127.0.0.1:8080", key) as client:
        client.publish("crm.contact.created", contact)
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from ferry.retry import Backoff, parse_retry_after

__all__ = [
    "AsyncFerryClient",
    "BatchPublished",
    "Event",
    "EventResult",
    "FerryClient",
    "PublishError",
    "Published",
]

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
RETRIED = frozenset({429, 502, 503, 504})


class PublishError(Exception):
    """The gateway refused (``status``) or could not be reached (``status`` 0)."""

    def __init__(
        self, status: int, error: str, field: str | None = None, rule: str | None = None
    ) -> None:
        where = f" ({field}: {rule})" if field and rule else f" ({field})" if field else ""
        super().__init__(f"{status}: {error}{where}" if status else error)
        self.status = status
        self.error = error
        self.field = field
        self.rule = rule


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    data: Any
    id: str | None = None
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class Published:
    ids: list[str]
    replayed: bool = False  # the gateway had this idempotency key: nothing new was produced


@dataclass(frozen=True, slots=True)
class EventResult:
    id: str
    status: int
    error: str | None = None
    field: str | None = None
    rule: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == 202


@dataclass(frozen=True, slots=True)
class BatchPublished:
    accepted: int
    rejected: int
    results: list[EventResult] = field(default_factory=list)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _Raw(format(value, "f"))
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot send a {type(value).__name__} as JSON")


class _Raw(str):
    """A Decimal's digits, written as a JSON number (see :func:`_dumps`)."""


def _dumps(value: Any) -> bytes:
    """JSON with Decimals as exact JSON numbers (never through a float)."""
    marker = uuid.uuid4().hex

    def default(item: Any) -> Any:
        plain = _plain(item)
        return f"{marker}{plain}{marker}" if isinstance(plain, _Raw) else plain

    text = json.dumps(value, default=default, separators=(",", ":"), ensure_ascii=False)
    return text.replace(f'"{marker}', "").replace(f'{marker}"', "").encode("utf-8")


class _Core:
    """What both clients share: requests, answers, retry decisions."""

    def __init__(
        self, base_url: str, key: str, *, source: str, max_attempts: int, backoff: Backoff | None
    ) -> None:
        if not key:
            raise ValueError("an app key is required (ferry apps create)")
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.source = source
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff(
            max_attempts=max_attempts, base_delay_s=0.5, max_delay_s=30
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r}, source={self.source!r})"

    def headers(self, media: str, idempotency_key: str | None) -> dict[str, str]:
        headers = {"authorization": f"Bearer {self._key}", "content-type": media}
        if idempotency_key:
            headers["idempotency-key"] = idempotency_key
        return headers

    def event(self, event: Event | Mapping[str, Any]) -> dict[str, Any]:
        chosen = event if isinstance(event, Event) else Event(**dict(event))
        body: dict[str, Any] = {
            "specversion": "1.0",
            "id": chosen.id or str(uuid.uuid4()),
            "source": self.source,
            "type": chosen.type,
            "time": datetime.now(UTC).isoformat(),
            "data": chosen.data,
        }
        if chosen.subject:
            body["subject"] = chosen.subject
        return body

    def delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds before the next try, or None when this answer is final."""
        if attempt >= self.max_attempts:
            return None
        if response is not None and response.status_code not in RETRIED:
            return None
        retry_after = parse_retry_after(response.headers.get("retry-after")) if response else None
        return self.backoff.delay(attempt, retry_after)

    def error(self, response: httpx.Response) -> PublishError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        text = str(body.get("error") or response.reason_phrase or "refused")
        return PublishError(response.status_code, text, body.get("field"), body.get("rule"))

    def unreachable(self, exc: Exception) -> PublishError:
        return PublishError(
            0, f"the gateway at {self.base_url} could not be reached: {type(exc).__name__}"
        )

    def single(self, response: httpx.Response) -> Published:
        if response.status_code != 202:
            raise self.error(response)
        ids = [str(i) for i in response.json().get("ids", [])]
        return Published(ids, replayed=response.headers.get("idempotent-replayed") == "true")

    def batch(self, response: httpx.Response) -> BatchPublished:
        if response.status_code != 207:
            raise self.error(response)
        body = response.json()
        results = [
            EventResult(
                str(r.get("id", "")),
                int(r["status"]),
                r.get("error"),
                r.get("field"),
                r.get("rule"),
            )
            for r in body.get("results", [])
        ]
        return BatchPublished(int(body["accepted"]), int(body["rejected"]), results)


class FerryClient:
    """Publish events to a Ferry gateway (blocking)."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout_s: float = 10.0,
        max_attempts: int = 6,
        source: str = "ferry-client",
        transport: httpx.BaseTransport | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self._core = _Core(base_url, key, source=source, max_attempts=max_attempts, backoff=backoff)
        self._http = httpx.Client(
            base_url=self._core.base_url, timeout=timeout_s, transport=transport
        )

    def __repr__(self) -> str:
        return repr(self._core)

    def __enter__(self) -> FerryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def publish(
        self,
        type: str,
        data: Any,
        *,
        id: str | None = None,
        idempotency_key: str | None = None,
        subject: str | None = None,
    ) -> Published:
        body = self._core.event(Event(type, data, id, subject))
        key = idempotency_key or f"{body['source']}:{body['id']}"
        return self._core.single(self._send(STRUCTURED, _dumps(body), key))

    def publish_batch(self, events: Iterable[Event | Mapping[str, Any]]) -> BatchPublished:
        """One request for ``events`` (at most the gateway's ``publish.max_batch``)."""
        body = [self._core.event(e) for e in events]
        return self._core.batch(self._send(BATCH, _dumps(body), None))

    def _send(self, media: str, content: bytes, key: str | None) -> httpx.Response:
        headers = self._core.headers(media, key)
        attempt = 0
        while True:
            attempt += 1
            try:
                response: httpx.Response | None = self._http.post(
                    "/v1/events", content=content, headers=headers
                )
            except httpx.TransportError as exc:
                response = None
                failure: Exception = exc
            wait = self._core.delay(attempt, response)
            if wait is None:
                if response is None:
                    raise self._core.unreachable(failure) from None
                return response
            time.sleep(wait)


class AsyncFerryClient:
    """Publish events to a Ferry gateway (asyncio)."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout_s: float = 10.0,
        max_attempts: int = 6,
        source: str = "ferry-client",
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self._core = _Core(base_url, key, source=source, max_attempts=max_attempts, backoff=backoff)
        self._http = httpx.AsyncClient(
            base_url=self._core.base_url, timeout=timeout_s, transport=transport
        )

    def __repr__(self) -> str:
        return repr(self._core)

    async def __aenter__(self) -> AsyncFerryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def publish(
        self,
        type: str,
        data: Any,
        *,
        id: str | None = None,
        idempotency_key: str | None = None,
        subject: str | None = None,
    ) -> Published:
        body = self._core.event(Event(type, data, id, subject))
        key = idempotency_key or f"{body['source']}:{body['id']}"
        return self._core.single(await self._send(STRUCTURED, _dumps(body), key))

    async def publish_batch(self, events: Sequence[Event | Mapping[str, Any]]) -> BatchPublished:
        body = [self._core.event(e) for e in events]
        return self._core.batch(await self._send(BATCH, _dumps(body), None))

    async def _send(self, media: str, content: bytes, key: str | None) -> httpx.Response:
        headers = self._core.headers(media, key)
        attempt = 0
        while True:
            attempt += 1
            try:
                response: httpx.Response | None = await self._http.post(
                    "/v1/events", content=content, headers=headers
                )
            except httpx.TransportError as exc:
                response = None
                failure: Exception = exc
            wait = self._core.delay(attempt, response)
            if wait is None:
                if response is None:
                    raise self._core.unreachable(failure) from None
                return response
            await asyncio.sleep(wait)
