"""Idempotency keys of the publish API, shared by every gateway instance through Kafka.

A first answer is remembered as a record of the topic ``publish.idempotency_topic`` (compacted
and deleted after the window: only the latest answer per key matters, and only for
``window_s``), keyed by app and idempotency key, holding the digest of the request and the
answer. Each gateway reads the topic from its start when it starts and follows it afterwards,
so a repeat sent to another instance finds the first answer too, seconds later at most.

Webhook delivery ids need no answer, only when they were seen: :meth:`IdempotencyStore.see`
remembers one as ``{"at": ...}`` and holds it in a :class:`SeenWindow` (16 bytes each).

Within one instance, concurrent requests with one key are serialised (:meth:`claim`), so the
second waits for the first's answer instead of producing the events again. Two instances that
receive the same key in the same second may both produce: the events carry the same
deterministic ``ce_id``, and the streams' change-only filter lets one through.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ferry.follow import TopicFollower
from ferry.settings import KafkaSettings
from ferry.topics import TopicSpec
from producers.gateway.seen import SeenWindow

__all__ = ["IdempotencyStore", "Remembered", "store_topic"]

log = logging.getLogger(__name__)

Send = Callable[[str, bytes, bytes], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Remembered:
    digest: str
    status: int
    body: dict[str, Any]
    at: float  # epoch seconds


def store_topic(name: str, window_s: float, partitions: int, replication: int) -> TopicSpec:
    """The store's topic: compacted (the latest answer per key), and deleted after the window."""
    config = {"cleanup.policy": "compact,delete", "retention.ms": str(int(window_s * 1000))}
    return TopicSpec(name, partitions, replication, config)


class IdempotencyStore:
    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        window_s: float,
        send: Send,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kafka = kafka
        self.topic = topic
        self.window_s = window_s
        self._send = send
        self._clock = clock
        # In the order remembered, so the oldest go first once out of the window.
        self._answers: OrderedDict[str, Remembered] = OrderedDict()
        self._seen = SeenWindow(window_s, clock=clock)
        self._locks: dict[str, asyncio.Lock] = {}
        self._follower = TopicFollower(kafka, topic, self._load)

    # -- the answers -------------------------------------------------------------------------

    def __len__(self) -> int:
        """Answers and seen keys held (within the window, and expired ones not dropped yet)."""
        return len(self._answers) + len(self._seen)

    def _forget_expired(self) -> None:
        """Drop the oldest answers while they are out of the window (each new answer pays for
        the ones it pushes out: a delivery id rarely comes back to be dropped on its own)."""
        answers, oldest = self._answers, self._clock() - self.window_s
        while answers:
            key, entry = next(iter(answers.items()))
            if entry.at >= oldest:
                return
            del answers[key]

    def get(self, key: str) -> Remembered | None:
        found = self._answers.get(key)
        if found is None:
            return None
        if self._clock() - found.at > self.window_s:
            del self._answers[key]
            return None
        return found

    async def remember(self, key: str, digest: str, status: int, body: dict[str, Any]) -> None:
        """Keep the first answer for ``key`` (here at once, for every instance once Kafka
        acknowledged it)."""
        entry = Remembered(digest, status, body, self._clock())
        self._forget_expired()
        self._answers[key] = entry
        self._answers.move_to_end(key)
        value = json.dumps(
            {"digest": digest, "status": status, "body": body, "at": entry.at},
            separators=(",", ":"),
        ).encode()
        await self._send(self.topic, key.encode(), value)

    def seen_at(self, key: str) -> float | None:
        """When ``key`` was seen (:meth:`see`) or answered (:meth:`remember`), within the window."""
        at = self._seen.seen_at(key)
        if at is not None and self._clock() - at <= self.window_s:
            return at
        found = self.get(key)
        return None if found is None else found.at

    async def see(self, key: str) -> None:
        """Remember that ``key`` was seen, with no answer to give back (a webhook delivery id):
        here at once, for every instance once Kafka acknowledged it."""
        at = self._clock()
        self._seen.add(key, at)
        value = json.dumps({"at": at}, separators=(",", ":")).encode()
        await self._send(self.topic, key.encode(), value)

    @contextlib.asynccontextmanager
    async def claim(self, key: str) -> AsyncIterator[None]:
        """Hold ``key`` while its request is answered (one request per key at a time here)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    # -- reading the topic -------------------------------------------------------------------

    async def start(self, *, timeout_s: float = 30.0) -> None:
        """Read what the topic holds (bounded by ``timeout_s``), then follow it."""
        await self._follower.start(timeout_s=timeout_s)
        log.info("idempotency store: %d answer(s) within the window", len(self._answers))

    async def stop(self) -> None:
        await self._follower.stop()

    def _load(self, key: bytes | None, value: bytes | None) -> None:
        if key is None or value is None:
            return
        try:
            raw = json.loads(value)
            if "status" not in raw:  # a key seen, no answer
                at = float(raw["at"])
                if self._clock() - at <= self.window_s:
                    self._seen.add(key.decode("utf-8", "replace"), at)
                return
            entry = Remembered(
                str(raw["digest"]), int(raw["status"]), dict(raw["body"]), float(raw["at"])
            )
        except (ValueError, KeyError, TypeError):
            log.warning("%s: a record that is not an answer was skipped", self.topic)
            return
        if self._clock() - entry.at <= self.window_s:
            self._forget_expired()
            self._answers.setdefault(key.decode("utf-8", "replace"), entry)
