"""``FerryClient`` (httpx.Client) and ``AsyncFerryClient`` (httpx.AsyncClient): I/O only.

What to send, whether to try again and what an answer means is :class:`ferry.client._core.Core`'s
business; these post its requests and sleep its delays.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from ferry.client._core import (
    BATCH,
    EVENTS_PATH,
    STRUCTURED,
    BatchPublished,
    Core,
    Event,
    Published,
)
from ferry.retry import Backoff

__all__ = ["AsyncFerryClient", "FerryClient"]


class FerryClient:
    """Publish events to a Ferry gateway (blocking); a context manager, or call :meth:`close`.

    ``key`` is the app's key, sent as ``Authorization: Bearer`` and shown in no repr and no
    error. A 429, 502, 503 or 504, a connection error or a timeout is tried again, up to
    ``max_attempts`` tries in all, after the ``Retry-After`` the gateway sent or a jittered
    exponential delay (``backoff``), with the same body and the same idempotency key. Any
    other refusal raises :class:`PublishError` at once. ``transport`` replaces httpx's.
    """

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
        self._core = Core(base_url, key, source=source, max_attempts=max_attempts, backoff=backoff)
        self._http = httpx.Client(
            base_url=self._core.base_url, timeout=timeout_s, transport=transport
        )

    def __repr__(self) -> str:
        return repr(self._core).replace("Core", type(self).__name__, 1)

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
        """Publish one event (structured mode); its id once Kafka acknowledged it.

        Without ``idempotency_key`` the gateway keys the event by this client's ``source`` and
        its ``id``: the same id published again within 24 h is answered again, not produced.
        ``data`` may hold ``Decimal`` (sent exactly, as a JSON number) and aware ``datetime``
        (RFC 3339). ``ValueError``/``TypeError`` for what cannot be sent at all.
        """
        body = self._core.event(Event(type, data, id, subject))
        headers = self._core.headers(STRUCTURED, idempotency_key)
        response = self._send(self._core.body(body), headers)
        return self._core.single(response, body["id"])

    def publish_batch(self, events: Iterable[Event | Mapping[str, Any]]) -> BatchPublished:
        """One request for ``events`` (``Event`` or mappings with ``type``, ``data`` and
        optionally ``id`` and ``subject``); one result per event, in order.

        The gateway takes at most ``publish.max_batch`` (500) events per request and refuses
        a larger batch whole (413): splitting is the caller's. An event refused on its own is
        counted in ``rejected``; one Kafka did not acknowledge is reported with status 503:
        publish it again with the same id. A refusal of the whole batch raises.
        """
        bodies = [self._core.event(e) for e in events]
        if not bodies:
            return BatchPublished(0, 0, [])
        response = self._send(self._core.body(bodies), self._core.headers(BATCH, None))
        return self._core.batch(response, [b["id"] for b in bodies])

    def _send(self, content: bytes, headers: dict[str, str]) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response: httpx.Response | None = self._http.post(
                    EVENTS_PATH, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                if not self._core.transient(exc):
                    raise self._core.unreachable(exc) from None
                response = None
                failure: Exception = exc
            wait = self._core.delay(attempt, response)
            if wait is None:
                if response is None:
                    raise self._core.unreachable(failure) from None
                return response
            time.sleep(wait)


class AsyncFerryClient:
    """:class:`FerryClient` for asyncio: the same arguments, requests and answers, with
    ``await``; an async context manager, or call :meth:`aclose`."""

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
        self._core = Core(base_url, key, source=source, max_attempts=max_attempts, backoff=backoff)
        self._http = httpx.AsyncClient(
            base_url=self._core.base_url, timeout=timeout_s, transport=transport
        )

    def __repr__(self) -> str:
        return repr(self._core).replace("Core", type(self).__name__, 1)

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
        """See :meth:`FerryClient.publish`."""
        body = self._core.event(Event(type, data, id, subject))
        headers = self._core.headers(STRUCTURED, idempotency_key)
        response = await self._send(self._core.body(body), headers)
        return self._core.single(response, body["id"])

    async def publish_batch(self, events: Iterable[Event | Mapping[str, Any]]) -> BatchPublished:
        """See :meth:`FerryClient.publish_batch`."""
        bodies = [self._core.event(e) for e in events]
        if not bodies:
            return BatchPublished(0, 0, [])
        response = await self._send(self._core.body(bodies), self._core.headers(BATCH, None))
        return self._core.batch(response, [b["id"] for b in bodies])

    async def _send(self, content: bytes, headers: dict[str, str]) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response: httpx.Response | None = await self._http.post(
                    EVENTS_PATH, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                if not self._core.transient(exc):
                    raise self._core.unreachable(exc) from None
                response = None
                failure: Exception = exc
            wait = self._core.delay(attempt, response)
            if wait is None:
                if response is None:
                    raise self._core.unreachable(failure) from None
                return response
            await asyncio.sleep(wait)
