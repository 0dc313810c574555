"""Topic names and their creation.

- ``src.<system>.<stream>``: facts as a connected system stated them.
- ``sink.<system>.<entity>``: mapped changes ready for the owning system.
- ``dlq.<topic>``: what the consumer of ``<topic>`` could not apply, permanently.
- ``retry.<topic>``: events parked for a later attempt.
- ``ferry.*``: internal state, compacted.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from ferry.errors import Unavailable
from ferry.kafka import KafkaTarget, connection

__all__ = [
    "TopicSpec",
    "dlq",
    "ensure_topics",
    "entity_key",
    "internal",
    "retry",
    "sink",
    "src",
    "system_of_topic",
]

_PART = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _check(*parts: str) -> None:
    for part in parts:
        if not _PART.match(part):
            raise ValueError(f"topic name part {part!r}: use lowercase letters, digits, _ and -")


def src(system: str, stream: str) -> str:
    _check(system, stream)
    return f"src.{system}.{stream}"


def sink(system: str, entity: str) -> str:
    _check(system, entity)
    return f"sink.{system}.{entity}"


def dlq(topic: str) -> str:
    return f"dlq.{topic}"


def retry(topic: str) -> str:
    return f"retry.{topic}"


def internal(name: str) -> str:
    return f"ferry.{name}"


def system_of_topic(topic: str) -> str:
    """The system a ``src.<system>.*`` or ``sink.<system>.*`` topic belongs to."""
    parts = topic.split(".")
    if len(parts) < 3 or parts[0] not in ("src", "sink") or not parts[1]:
        raise ValueError(f"{topic!r}: expected src.<system>.<stream> or sink.<system>.<entity>")
    return parts[1]


def entity_key(system: str, model: str, ident: object) -> str:
    """The record key: every change to one entity stays in one partition, in order."""
    return f"{system}:{model}:{ident}"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int = 3
    replication_factor: int = 1
    config: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_name(cls, name: str, partitions: int, replication_factor: int) -> TopicSpec:
        config: dict[str, str] = {}
        if name.startswith("ferry."):
            config["cleanup.policy"] = "compact"
        if name.startswith("dlq."):
            # Dead letters wait for an operator: keep them four weeks.
            config["retention.ms"] = str(28 * 24 * 3600 * 1000)
        if replication_factor >= 3:
            config["min.insync.replicas"] = "2"
        return cls(name, partitions, replication_factor, config)


def topics_for_flow(
    source: str, target: str, partitions: int, replication_factor: int
) -> list[TopicSpec]:
    """Every topic one flow needs: its source and target, and a DLQ for each consumed topic."""
    names = [source, target, dlq(source), dlq(target)]
    return [TopicSpec.for_name(n, partitions, replication_factor) for n in names]


async def _until_led(admin: AIOKafkaAdminClient, names: list[str], timeout_s: float = 15) -> None:
    """Return once every partition of ``names`` has a leader (a topic is not usable before:
    clients would meet NotLeaderForPartition while it is elected)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    waiting = list(names)
    while waiting and loop.time() < deadline:
        described = await admin.describe_topics(waiting)
        waiting = [
            entry["topic"]
            for entry in described
            if entry["error_code"]
            or not entry["partitions"]
            or any(p["leader"] < 0 for p in entry["partitions"])
        ]
        if waiting:
            await asyncio.sleep(0.1)


async def ensure_topics(kafka: KafkaTarget, specs: Iterable[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet on ``kafka``; return the names created."""
    wanted = {s.name: s for s in specs}
    admin = AIOKafkaAdminClient(**connection(kafka), client_id="ferry-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for n, s in wanted.items() if n not in existing]
        if not missing:
            return []
        new = [
            NewTopic(
                name=s.name,
                num_partitions=s.partitions,
                replication_factor=s.replication_factor,
                topic_configs=s.config,
            )
            for s in missing
        ]
        response = await admin.create_topics(new, timeout_ms=30_000)
        created: list[str] = []
        for entry in response.topic_errors:
            name, code = entry[0], entry[1]
            if code == TopicAlreadyExistsError.errno:
                continue  # another service created it between list and create
            if code:
                message = entry[2] if len(entry) > 2 and entry[2] else for_code(code).__name__
                raise Unavailable(f"cannot create topic {name}: {message}")
            created.append(name)
        await _until_led(admin, created)
        return created
    finally:
        await admin.close()
