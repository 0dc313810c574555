"""``ferry dlq`` on the real broker: dead letters listed by their reason, replayed to their
origin once, and remembered as replayed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaProducer
from click.testing import CliRunner

from ferry.cli import cli
from ferry.dlq import dead_letter_headers
from ferry.errors import ValidationError
from ferry.ops.dlq import REPLAY_COUNT, REPLAYED_TOPIC, Filters, dead_letters, replay
from ferry.topics import TopicSpec, ensure_topics
from tests.support.kafka_read import read_all

pytestmark = pytest.mark.kafka


@dataclass(frozen=True)
class Failed:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    made = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await made.start()
    yield made
    await made.stop()


async def test_dead_letters_are_listed_by_reason_and_replayed_once(
    kafka_bootstrap: str, producer: AIOKafkaProducer
) -> None:
    origin = f"src.test.{uuid.uuid4().hex[:8]}"
    await ensure_topics(
        kafka_bootstrap,
        [
            TopicSpec(origin, 1),
            TopicSpec(f"dlq.{origin}", 1),
            TopicSpec.for_name(REPLAYED_TOPIC, 1, 1),
        ],
    )
    errors = [
        ValidationError("order_lines[0].default_code", "known product", "SKU-999"),
        ValidationError("currency", "ISO 4217", "XXX"),
        ValidationError("order_lines[0].default_code", "known product", "SKU-998"),
    ]
    for n, error in enumerate(errors):
        failed = Failed(
            origin, 0, n, f"k{n}".encode(), f"v{n}".encode(), (("ce_id", f"id{n}".encode()),)
        )
        headers = dead_letter_headers(failed, error, stage="validate", service="streams")
        await producer.send_and_wait(
            f"dlq.{origin}", value=failed.value, key=failed.key, headers=headers
        )

    unknown_sku = Filters(rule="known product")
    letters = await dead_letters(kafka_bootstrap, [f"dlq.{origin}"], unknown_sku)
    assert [letter.key for letter in letters] == [b"k0", b"k2"]
    assert all(letter.error["field"] == "order_lines[0].default_code" for letter in letters)
    assert letters[0].origin == origin
    assert letters[0].summary()["origin"] == f"{origin}:0:0"

    assert await replay(producer, letters) == 2
    copies = await read_all(kafka_bootstrap, origin)
    assert [(r.key, r.value) for r in copies] == [(b"k0", b"v0"), (b"k2", b"v2")]
    for copy in copies:
        got: dict[str, bytes] = {str(k): bytes(v) for k, v in copy.headers}
        assert got[REPLAY_COUNT] == b"1"
        assert got["ce_id"] in (b"id0", b"id2")
        assert not any(name.startswith("ferry.error.") for name in got)

    again = await dead_letters(kafka_bootstrap, [f"dlq.{origin}"], unknown_sku)
    assert all(letter.replayed_at for letter in again)
    untouched = await dead_letters(kafka_bootstrap, [f"dlq.{origin}"], Filters(rule="ISO 4217"))
    assert [letter.replayed_at for letter in untouched] == [None]


def test_the_cli_lists_and_replays_only_what_was_not_replayed(kafka_bootstrap: str) -> None:
    origin = f"src.test.{uuid.uuid4().hex[:8]}"
    failed = Failed(origin, 0, 7, b"k", b"v", ())
    error = ValidationError("email", "present", None)
    headers = dead_letter_headers(failed, error, stage="validate", service="streams")

    async def prepare() -> None:
        await ensure_topics(kafka_bootstrap, [TopicSpec(origin, 1), TopicSpec(f"dlq.{origin}", 1)])
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(f"dlq.{origin}", value=b"v", key=b"k", headers=headers)
        finally:
            await producer.stop()

    asyncio.run(prepare())
    env = {"FERRY__KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap}
    runner = CliRunner()
    listed = runner.invoke(cli, ["dlq", "list", "--topic", origin, "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert '"field": "email"' in listed.output
    first = runner.invoke(cli, ["dlq", "replay", "--topic", origin, "--yes"], env=env)
    assert first.exit_code == 0, first.output
    assert "replayed 1 dead letter(s)" in first.output
    second = runner.invoke(cli, ["dlq", "replay", "--topic", origin, "--yes"], env=env)
    assert "0 dead letter(s) to replay (1 replayed before" in second.output
    assert len(asyncio.run(read_all(kafka_bootstrap, origin))) == 1
