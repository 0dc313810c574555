"""Where the console's data comes from: the one boundary with Kafka, the services and targets.

:class:`Sources` is what the pages need; :class:`LiveSources` reads the real thing (the
services' ``/metrics`` on the ports the registry gives them, the dead-letter topics through
:mod:`ferry.ops.dlq`, reconciliation through :mod:`ferry.reconcile`, and the ``status.json``
``ferry up``'s supervisor writes). Unit tests give the app a fake.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from ferry.flow import Flow
from ferry.kafka import make_producer
from ferry.ops.dlq import REPLAYED_TOPIC, DeadLetter, Filters, dead_letters, replay
from ferry.reconcile import Job, Report
from ferry.registry import CONSOLE, Registry
from ferry.supervisor import read_status
from ferry.topics import TopicSpec, ensure_topics

__all__ = ["STATUS_FILE", "LiveSources", "Scrape", "Sources"]

STATUS_FILE = "status.json"


@dataclass(frozen=True, slots=True)
class Scrape:
    """One service's ``/metrics``: its text, or why it could not be read."""

    service: str
    port: int
    text: str | None = None
    problem: str | None = None


class Sources(Protocol):
    async def scrape(self) -> list[Scrape]:
        """Every Ferry service's ``/metrics`` (the sandboxes and the console left out)."""
        ...

    async def dead_letters(self, topics: Sequence[str], filters: Filters) -> list[DeadLetter]:
        """The dead letters of ``topics`` that pass ``filters``, oldest first."""
        ...

    async def replay(self, letters: Sequence[DeadLetter]) -> int:
        """Produce ``letters`` to their origin topics; the number sent."""
        ...

    async def reconcile(self, flow: Flow) -> Report | None:
        """Reconcile ``flow`` now (None: its target is not one reconciliation covers)."""
        ...

    def status(self) -> dict[str, Any] | None:
        """What ``ferry up``'s supervisor last wrote, or None when it is not running."""
        ...


class LiveSources:
    """The real sources of one installation."""

    def __init__(self, registry: Registry, state_dir: Path) -> None:
        self.registry = registry
        self.state_dir = state_dir
        self._kafka = registry.settings.kafka
        self._replay_lock = asyncio.Lock()

    def _targets(self) -> list[tuple[str, int]]:
        return [
            (spec.name, spec.port)
            for spec in self.registry.services(self.state_dir)
            if spec.probe == "/readyz" and spec.name != CONSOLE
        ]

    async def scrape(self) -> list[Scrape]:
        console = self.registry.settings.console
        targets = self._targets()

        async def one(http: httpx.AsyncClient, name: str, port: int) -> Scrape:
            host = console.scrape_host.replace("{service}", name)
            try:
                answer = await http.get(f"http://{host}:{port}/metrics")
            except httpx.HTTPError as exc:
                return Scrape(name, port, problem=f"unreachable ({type(exc).__name__})")
            if answer.status_code != 200:
                return Scrape(name, port, problem=f"/metrics answered {answer.status_code}")
            return Scrape(name, port, text=answer.text)

        async with httpx.AsyncClient(timeout=console.scrape_timeout_s) as http:
            return list(await asyncio.gather(*(one(http, n, p) for n, p in targets)))

    async def dead_letters(self, topics: Sequence[str], filters: Filters) -> list[DeadLetter]:
        return await dead_letters(self._kafka, topics, filters)

    async def replay(self, letters: Sequence[DeadLetter]) -> int:
        kafka = self._kafka
        async with self._replay_lock:  # one replay at a time: two clicks do not interleave
            await ensure_topics(
                kafka, [TopicSpec.for_name(REPLAYED_TOPIC, 1, kafka.replication_factor)]
            )
            producer = make_producer(kafka, client_id="ferry-console-replay")
            await producer.start()
            try:
                return await replay(producer, letters)
            finally:
                await producer.stop()

    async def reconcile(self, flow: Flow) -> Report | None:
        system = flow.target.system
        if system.reconcile is None or system.connect is None:
            return None
        target = system.connect(self.registry.system_settings(system), None)
        try:
            job = Job(self._kafka, flow, self.registry.serde(), target)
            return await system.reconcile(job)
        finally:
            await target.aclose()

    def status(self) -> dict[str, Any] | None:
        return read_status(self.state_dir / STATUS_FILE)
