"""The operations commands on the real broker, given what an operator gets wrong: unknown
names, no ``--yes`` (with and without a terminal), and a replay that stops half-way."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from click.testing import CliRunner, Result

from ferry.cli import cli
from ferry.dlq import dead_letter_headers
from ferry.errors import ValidationError
from ferry.ops.dlq import REPLAYED_TOPIC
from ferry.ops.offsets import offsets
from ferry.topics import TopicSpec, ensure_topics
from tests.integration.ops.test_dlq_tools import Failed
from tests.integration.ops.test_offsets_and_replay import consume_all
from tests.support.kafka_read import read_all

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[3]


def run(kafka_bootstrap: str, *args: str) -> Result:
    env = {"FERRY__KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap}
    return CliRunner().invoke(cli, list(args), env=env)


async def _committed_group(bootstrap: str, topic: str, group: str, count: int) -> None:
    """``count`` records on ``topic``, read and committed by ``group``, which then leaves."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for n in range(count):
            await producer.send_and_wait(topic, value=b"v", key=f"k{n}".encode())
    finally:
        await producer.stop()
    member = await consume_all(bootstrap, topic, group, count)
    await member.stop()


def idle_group(bootstrap: str, records: int = 4) -> tuple[str, str]:
    topic, group = f"src.guard.{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    asyncio.run(ensure_topics(bootstrap, [TopicSpec(topic, 1)]))
    asyncio.run(_committed_group(bootstrap, topic, group, records))
    return topic, group


def committed(bootstrap: str, group: str) -> list[int | None]:
    return [p.committed for p in asyncio.run(offsets(bootstrap, group))]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["dlq", "list", "--topic", "src.nowhere.{run}"], "dlq.src.nowhere.{run}"),
        (["dlq", "replay", "--topic", "dlq.src.nowhere.{run}", "--yes"], "dlq.src.nowhere.{run}"),
        (["dlq", "show", "dlq.src.nowhere.{run}:0:3"], "dlq.src.nowhere.{run}"),
        (["replay", "src.nowhere.{run}", "--from", "1h", "--yes"], "src.nowhere.{run}"),
        (["offsets", "show", "no-such-group-{run}"], "no-such-group-{run}"),
        (
            ["offsets", "reset", "no-such-group-{run}", "--to-earliest", "--yes"],
            "no-such-group-{run}",
        ),
    ],
)
def test_an_unknown_topic_or_group_is_one_line_naming_it(
    kafka_bootstrap: str, args: list[str], named: str
) -> None:
    run_id = uuid.uuid4().hex[:8]
    named = named.format(run=run_id)
    result = run(kafka_bootstrap, *(arg.format(run=run_id) for arg in args))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert repr(named) in lines[0]
    # Asking about a topic does not create it (the test broker creates a topic a metadata
    # request names, a moment later): none appears for a quiet while.
    quiet_until = time.monotonic() + 3
    while time.monotonic() < quiet_until:
        assert not [t for t in asyncio.run(topics(kafka_bootstrap)) if run_id in t]


async def topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


def test_without_yes_and_without_a_terminal_nothing_is_changed(kafka_bootstrap: str) -> None:
    topic, group = idle_group(kafka_bootstrap)
    reset = run(kafka_bootstrap, "offsets", "reset", group, "--to-earliest")
    assert reset.exit_code == 1, reset.output
    assert "add --yes" in reset.output
    assert committed(kafka_bootstrap, group) == [4]

    replay = run(kafka_bootstrap, "replay", topic, "--from", "1h")
    assert replay.exit_code == 1, replay.output
    assert "4 record(s)" in replay.output
    assert "add --yes" in replay.output
    assert len(asyncio.run(read_all(kafka_bootstrap, topic))) == 4

    moved = run(kafka_bootstrap, "offsets", "reset", group, "--to-earliest", "--yes")
    assert moved.exit_code == 0, moved.output
    assert "4 record(s) read again" in moved.output
    assert committed(kafka_bootstrap, group) == [0]


def on_a_terminal(kafka_bootstrap: str, args: list[str], answer: str) -> tuple[int, str]:
    """Run ``ferry ARGS`` with a pseudo-terminal as its stdin and stdout; answer its question."""
    leader, follower = pty.openpty()
    env = {**os.environ, "FERRY__KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap}
    process = subprocess.Popen(
        [sys.executable, "-m", "ferry.cli", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=ROOT,
        env=env,
    )
    os.close(follower)
    seen, answered = b"", False
    deadline = time.monotonic() + 60
    try:
        while True:
            assert time.monotonic() < deadline, seen.decode(errors="replace")
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the follower side closed: the process ended
                    chunk = b""
                if not chunk:
                    break
                seen += chunk
                if not answered and b"[y/N]" in seen:
                    os.write(leader, answer.encode() + b"\r")
                    answered = True
            elif process.poll() is not None:
                break
        return process.wait(30), seen.decode(errors="replace")
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()


def test_on_a_terminal_the_reset_asks_and_a_no_changes_nothing(kafka_bootstrap: str) -> None:
    _, group = idle_group(kafka_bootstrap)
    args = ["offsets", "reset", group, "--to-earliest"]
    code, output = on_a_terminal(kafka_bootstrap, args, "n")
    assert "Move the offsets? [y/N]" in output
    assert code == 1, output
    assert "Aborted" in output
    assert committed(kafka_bootstrap, group) == [4]

    code, output = on_a_terminal(kafka_bootstrap, args, "y")
    assert code == 0, output
    assert "moved" in output
    assert committed(kafka_bootstrap, group) == [0]


async def _dead_letters(bootstrap: str, origins: list[str], big: str) -> str:
    """Four dead letters of one DLQ, oldest first: to ``origins[0]``, ``[1]``, ``[2]``, ``[3]``.
    The third is too large for its origin ``big`` (its records may hold 1 KiB)."""
    dlq = f"dlq.src.guard.{uuid.uuid4().hex[:8]}"
    await ensure_topics(
        bootstrap,
        [
            TopicSpec(dlq, 1),
            TopicSpec.for_name(REPLAYED_TOPIC, 1, 1),
            *(TopicSpec(o, 1) for o in set(origins) - {big}),
            TopicSpec(big, 1, 1, {"max.message.bytes": "1024"}),
        ],
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for n, origin in enumerate(origins):
            value = b"x" * 4096 if origin == big else f"v{n}".encode()
            failed = Failed(origin, 0, n, f"k{n}".encode(), value, ())
            error = ValidationError("lines[0].sku", "known product", None)
            headers = dead_letter_headers(failed, error, stage="validate", service="streams")
            await producer.send_and_wait(dlq, value=value, key=failed.key, headers=headers)
    finally:
        await producer.stop()
    return dlq


async def _allow_large_records(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        resource = ConfigResource(
            ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": "1048588"}
        )
        await admin.alter_configs([resource])
    finally:
        await admin.close()


def test_a_replay_stopped_half_way_says_so_and_resumes_without_doubling(
    kafka_bootstrap: str,
) -> None:
    small, big = f"src.guard.{uuid.uuid4().hex[:8]}", f"src.guard.{uuid.uuid4().hex[:8]}"
    dlq = asyncio.run(_dead_letters(kafka_bootstrap, [small, small, big, small], big))

    first = run(kafka_bootstrap, "dlq", "replay", "--topic", dlq, "--yes")
    assert first.exit_code == 1, first.output
    assert "replayed 2 of 4 dead letter(s)" in first.output
    assert "MessageSizeTooLarge" in first.output
    assert "run the same command again" in first.output
    assert [r.key for r in asyncio.run(read_all(kafka_bootstrap, small))] == [b"k0", b"k1"]

    asyncio.run(_allow_large_records(kafka_bootstrap, big))  # the operator fixes the cause
    second = run(kafka_bootstrap, "dlq", "replay", "--topic", dlq, "--yes")
    assert second.exit_code == 0, second.output
    assert "2 dead letter(s) to replay (2 replayed before" in second.output
    assert "replayed 2 dead letter(s)" in second.output
    assert [r.key for r in asyncio.run(read_all(kafka_bootstrap, small))] == [b"k0", b"k1", b"k3"]
    assert [r.key for r in asyncio.run(read_all(kafka_bootstrap, big))] == [b"k2"]
