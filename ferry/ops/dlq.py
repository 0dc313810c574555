"""Dead letters for operators: read them, filter them, replay them to where they came from.

A dead letter (``dlq.<topic>``) carries the failed record byte for byte plus ``ferry.error.*``
headers (``ferry.dlq``). A replay produces the record again to its origin topic
(``ferry.error.topic``) with its original key, value and headers, the error headers left out
and ``ferry.replay.count`` added, so it goes through the normal path (validation, mapping,
the idempotent sink): a replayed dead letter whose cause was fixed takes effect once, one whose
cause was not is dead-lettered again with its reason. Replays are remembered in the compacted
topic ``ferry.dlq.replayed`` (keyed by the dead letter's topic, partition and offset), so the
same dead letter is not replayed twice by accident.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord

from ferry.dlq import ERROR_PREFIX
from ferry.kafka import KafkaTarget
from ferry.ops.reading import records_of
from ferry.timefmt import format_timestamp

__all__ = [
    "REPLAYED_TOPIC",
    "REPLAY_COUNT",
    "DeadLetter",
    "Filters",
    "dead_letters",
    "parse_ref",
    "replay",
    "replayed",
    "shown_value",
]

REPLAYED_TOPIC = "ferry.dlq.replayed"
REPLAY_COUNT = "ferry.replay.count"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    time: datetime
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    error: dict[str, str]
    replayed_at: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    @property
    def origin(self) -> str:
        return self.error.get("topic") or self.topic.removeprefix("dlq.")

    @property
    def key_text(self) -> str:
        return "" if self.key is None else self.key.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("utf-8", "replace")
        return None

    def summary(self) -> dict[str, Any]:
        """The row ``ferry dlq list`` shows (and prints as JSON with ``--json``)."""
        return {
            "ref": self.ref,
            "time": format_timestamp(self.time),
            "key": self.key_text,
            "stage": self.error.get("stage", ""),
            "class": self.error.get("class", ""),
            "field": self.error.get("field", ""),
            "rule": self.error.get("rule", ""),
            "message": self.error.get("message", ""),
            "origin": f"{self.origin}:{self.error.get('partition', '?')}:"
            f"{self.error.get('offset', '?')}",
            "attempts": self.error.get("attempts", ""),
            "replayed_at": self.replayed_at or "",
        }


@dataclass(frozen=True, slots=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    error_class: str | None = None
    field: str | None = None
    rule: str | None = None
    key: str | None = None
    limit: int | None = None

    def keep(self, letter: DeadLetter) -> bool:
        error = letter.error
        return (
            (self.since is None or letter.time >= self.since)
            and (self.until is None or letter.time < self.until)
            and (self.error_class is None or error.get("class") == self.error_class)
            and (self.field is None or error.get("field") == self.field)
            and (self.rule is None or error.get("rule") == self.rule)
            and (self.key is None or letter.key_text == self.key)
        )


def _letter(record: ConsumerRecord[bytes, bytes], replays: dict[str, str]) -> DeadLetter:
    headers = tuple((k, v) for k, v in (record.headers or ()) if v is not None)
    error = {
        k[len(ERROR_PREFIX) :]: v.decode("utf-8", "replace")
        for k, v in headers
        if k.startswith(ERROR_PREFIX)
    }
    ref = f"{record.topic}:{record.partition}:{record.offset}"
    return DeadLetter(
        record.topic,
        record.partition,
        record.offset,
        datetime.fromtimestamp(record.timestamp / 1000, UTC),
        record.key,
        record.value,
        headers,
        error,
        replays.get(ref),
    )


async def replayed(kafka: KafkaTarget) -> dict[str, str]:
    """Dead letter ref → when it was last replayed."""
    found: dict[str, str] = {}
    async for record in records_of(kafka, REPLAYED_TOPIC):
        if record.key is None:
            continue
        ref = record.key.decode("utf-8", "replace")
        if record.value is None:
            found.pop(ref, None)
            continue
        try:
            found[ref] = str(json.loads(record.value)["at"])
        except (ValueError, KeyError, TypeError):
            continue
    return found


async def dead_letters(
    kafka: KafkaTarget, topics: Iterable[str], filters: Filters | None = None
) -> list[DeadLetter]:
    """The dead letters of ``topics`` that pass ``filters``, oldest first."""
    chosen = filters or Filters()
    replays = await replayed(kafka)
    letters: list[DeadLetter] = []
    for topic in topics:
        async for record in records_of(kafka, topic):
            letter = _letter(record, replays)
            if chosen.keep(letter):
                letters.append(letter)
    letters.sort(key=lambda letter: (letter.time, letter.topic, letter.partition, letter.offset))
    return letters[: chosen.limit] if chosen.limit else letters


def replay_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The record's own headers (no error headers) and ``ferry.replay.count`` one higher."""
    count = int(letter.header(REPLAY_COUNT) or 0) + 1
    kept = [
        (k, v) for k, v in letter.headers if not k.startswith(ERROR_PREFIX) and k != REPLAY_COUNT
    ]
    return [*kept, (REPLAY_COUNT, str(count).encode())]


async def replay(producer: AIOKafkaProducer, letters: Sequence[DeadLetter]) -> int:
    """Produce each dead letter to its origin topic (acks=all) and remember the replay."""
    done = 0
    for letter in letters:
        await producer.send_and_wait(
            letter.origin, value=letter.value, key=letter.key, headers=replay_headers(letter)
        )
        stamp = json.dumps({"at": format_timestamp(datetime.now(UTC)), "to": letter.origin})
        await producer.send_and_wait(REPLAYED_TOPIC, value=stamp.encode(), key=letter.ref.encode())
        done += 1
    return done


def parse_ref(ref: str) -> tuple[str, int, int] | None:
    """``TOPIC:PARTITION:OFFSET`` split, or None."""
    rest, _, offset = ref.rpartition(":")
    topic, _, partition = rest.rpartition(":")
    if not topic or not partition.isdigit() or not offset.isdigit():
        return None
    return topic, int(partition), int(offset)


def shown_value(registry: Any, value: bytes | None) -> str:
    """A record's value as ``ferry dlq show`` prints it: decoded by its schema, else bytes."""
    if value is None:
        return "(none)"
    try:
        decoded = registry.serde().decode(value)
    except Exception:  # not Avro of a known schema: show the bytes
        return repr(value[:2000])
    return json.dumps(decoded.record, default=str, indent=1)
