"""The streams worker (``python -m streams``) against the session's real Kafka broker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ferry.envelope import CloudEvent, Headers, deterministic_id, header
from ferry.registry import load
from ferry.serde import SingleObjectSerde
from ferry.topics import TopicSpec, ensure_topics
from tests.support.flows import topics_of
from tests.support.platform import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
SOURCE = "src.shop.orders"
SINK = "sink.odoo.sale_orders"
DLQ = "dlq.src.shop.orders"
SERDE = SingleObjectSerde()


def shop_order(order_id: str, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    record: dict[str, Any] = {
        "order_id": order_id,
        "order_name": f"#{order_id[:8]}",
        "customer": {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
        "currency": "EUR",
        "lines": [
            {
                "line_id": None,
                "sku": "MUG-001",
                "title": "Mug",
                "quantity": 2,
                "unit_price": Decimal("12.5000"),
            }
        ],
        "shipping_address": {
            "name": "Ada Lovelace",
            "address1": "1 Analytical Street",
            "address2": None,
            "city": "London",
            "zip": "N1 9GU",
            "province": None,
            "country_code": "GB",
        },
        "totals": {
            "subtotal": Decimal("25.0000"),
            "tax": Decimal("4.7500"),
            "shipping": Decimal("0"),
            "total": Decimal("29.7500"),
        },
        "created_at": now,
        "updated_at": now,
        "source_delivery_id": f"d-{order_id}",
        "note": None,
        "tags": [],
    }
    record.update(changes)
    return record


@dataclass
class Sent:
    key: bytes
    value: bytes
    headers: Headers


def envelope(key: bytes, order_id: str, version: str) -> Headers:
    return CloudEvent(
        id=deterministic_id("shop", "order", order_id, version),
        source="ferry/gateway/shop",
        type="shop.order.created",
        subject=key.decode(),
    ).to_headers()


def event(order_id: str, value: bytes | None = None, **changes: Any) -> Sent:
    key = f"shop:order:{order_id}".encode()
    record = shop_order(order_id, **changes)
    data = value if value is not None else SERDE.encode("shop.order.created", record)
    return Sent(key, data, envelope(key, order_id, record["updated_at"].isoformat()))


async def produce(bootstrap: str, topic: str, events: list[Sent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for item in events:
            await producer.send_and_wait(topic, item.value, key=item.key, headers=item.headers)
    finally:
        await producer.stop()


async def partitions_of(bootstrap: str, topic: str) -> set[int]:
    """The partitions of ``topic`` (the producer waits for its metadata; the consumer would not)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        return set(await producer.partitions_for(topic))
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` from the beginning to its current end."""
    partitions = await partitions_of(bootstrap, topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + 15
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def wait_for_keys(
    bootstrap: str, topic: str, keys: set[bytes], *, count: int, timeout_s: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """The records of ``topic`` whose key is in ``keys``, once there are ``count`` (or timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = [r for r in await read_all(bootstrap, topic) if r.key in keys]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.25)


async def scrape(port: int) -> str:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{port}/metrics")).text


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    startup_s: float
    group: str

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def only_flow(name: str) -> str:
    """The ``flows:`` entries that run only the test's own copy of the shop-orders flow."""
    registered = [f.name for f in load(environ={}).flows]
    off = "".join(f"  {n}:\n    enabled: false\n" for n in registered)
    return off + f"  {name}:\n    use: tests.support.flows:shop_orders_on\n"


def start_worker(
    bootstrap: str,
    log: Path,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    *,
    wait_ready: bool = True,
    group: str | None = None,
    module: str = "streams",
) -> Worker:
    """Start ``python -m streams``; with ``wait_ready``, return once ``/readyz`` answers 200.
    The worker's consumer group is ``group``, or one of its own: a member another test's worker
    left behind (killed) would hold up the join until its session expired."""
    group = group or f"ferry-streams-{uuid.uuid4().hex[:8]}"
    port = free_port()
    environ = {
        **os.environ,
        "FERRY__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "FERRY__SERVICES__STREAMS__PORT": str(port),
        "FERRY__STREAMS__APP_ID": group,
        **(env or {}),
    }
    began = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    if not wait_ready:
        return Worker(process, port, log, 0.0, group)
    deadline = began + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the worker exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return Worker(process, port, log, time.monotonic() - began, group)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the worker was not ready in 60 s:\n{log.read_text()}")


# The group of this module's workers on the shared source topic: each test goes on from where
# the last one committed (a new group would read the earlier tests' events again).
SHARED_SOURCE_GROUP = f"ferry-streams-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def worker(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Worker]:
    await ensure_topics(kafka_bootstrap, [TopicSpec.for_name(n, 3, 1) for n in (SOURCE, SINK, DLQ)])
    running = await asyncio.to_thread(
        start_worker, kafka_bootstrap, tmp_path / "streams.log", group=SHARED_SOURCE_GROUP
    )
    print(f"\nstreams worker ready in {running.startup_s:.2f} s")
    try:
        yield running
    finally:
        await asyncio.to_thread(running.stop)


async def committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in offsets.items()}
    finally:
        await admin.close()


async def test_valid_orders_are_mapped_and_invalid_ones_dead_lettered(
    worker: Worker, kafka_bootstrap: str
) -> None:
    run = uuid.uuid4().hex[:12]
    valid = [event(f"{run}-ok-{i}") for i in range(20)]
    invalid = [
        event(f"{run}-bad-currency", currency="XYZ"),
        event(f"{run}-bad-qty", lines=[{**shop_order("x")["lines"][0], "quantity": 0}]),
        event(
            f"{run}-bad-email", customer={"email": "nope", "first_name": None, "last_name": None}
        ),
        event(f"{run}-bad-bytes", value=b"\xc3\x01not avro at all"),
        event(f"{run}-bad-json", value=b'{"order_id": "1"}'),
    ]
    mixed = [x for pair in zip(valid, invalid + [None] * 20, strict=False) for x in pair if x]
    await produce(kafka_bootstrap, SOURCE, mixed)

    valid_keys = {e.key for e in valid}
    invalid_keys = {e.key for e in invalid}
    mapped = await wait_for_keys(kafka_bootstrap, SINK, valid_keys, count=len(valid))
    dead = await wait_for_keys(kafka_bootstrap, DLQ, invalid_keys, count=len(invalid))
    await asyncio.sleep(1.0)  # anything extra would arrive now
    mapped = [
        r for r in await read_all(kafka_bootstrap, SINK) if r.key in valid_keys | invalid_keys
    ]
    dead = [r for r in await read_all(kafka_bootstrap, DLQ) if r.key in valid_keys | invalid_keys]
    assert len(mapped) == len(valid), worker.log_text()[-3000:]
    assert len(dead) == len(invalid), worker.log_text()[-3000:]
    assert {r.key for r in mapped} == valid_keys
    assert {r.key for r in dead} == invalid_keys

    # The mapped command: Avro, the target type, a derived envelope in the same trace.
    by_key = {e.key: e for e in valid}
    for record in mapped:
        decoded = SERDE.decode(record.value)
        assert decoded.event_type == "odoo.sale_order.upsert"
        order_id = record.key.decode().removeprefix("shop:order:")
        assert decoded.record["external_id"] == f"ferry.shop_order_{order_id}"
        assert decoded.record["order_lines"][0]["price_unit"] == Decimal("12.5000")
        headers = list(record.headers)
        assert header(headers, "ce_type") == "odoo.sale_order.upsert"
        assert header(headers, "ce_source") == "ferry/streams/shop-orders-to-odoo"
        source = CloudEvent.from_headers(by_key[record.key].headers)
        assert (
            header(headers, "ce_id")
            == source.derive(
                type="odoo.sale_order.upsert", source="ferry/streams/shop-orders-to-odoo"
            ).id
        )
        assert header(headers, "traceparent").split("-")[1] == source.traceparent.split("-")[1]  # type: ignore[union-attr]

    # Dead letters: the original bytes, byte for byte, and the reason.
    expected = {
        f"{run}-bad-currency": ("ValidationError", "currency", "must be an ISO 4217 currency code"),
        f"{run}-bad-qty": ("ValidationError", "lines[0].quantity", "must be positive"),
        f"{run}-bad-email": ("ValidationError", "customer.email", "well-formed e-mail"),
        f"{run}-bad-bytes": ("DecodeError", "", "unknown writer schema fingerprint"),
        f"{run}-bad-json": ("DecodeError", "", "not Avro single-object encoding"),
    }
    originals = {e.key: e for e in invalid}
    for record in dead:
        original = originals[record.key]
        assert record.value == original.value
        headers = list(record.headers)
        assert headers[: len(original.headers)] == original.headers
        error_class, field, rule = expected[record.key.decode().removeprefix("shop:order:")]
        assert header(headers, "ferry.error.class") == error_class
        assert header(headers, "ferry.error.field") == field
        assert rule in (header(headers, "ferry.error.message") or "")
        assert header(headers, "ferry.error.topic") == SOURCE
        assert header(headers, "ferry.error.service") == "streams"
        stage = "decode" if error_class == "DecodeError" else "validate"
        assert header(headers, "ferry.error.stage") == stage

    metrics = await scrape(worker.port)
    assert 'ferry_dlq_total{error_class="ValidationError",service="streams"' in metrics
    assert f'ferry_events_out_total{{service="streams",topic="{SINK}"}}' in metrics


async def test_only_real_changes_travel_and_offsets_follow_the_outputs(
    worker: Worker, kafka_bootstrap: str, tmp_path: Path
) -> None:
    order_id = f"{uuid.uuid4().hex[:12]}-dedupe"
    first = event(order_id)
    created = shop_order(order_id)["created_at"]
    # Same content, only updated_at moved: not a real change. Then a real change.
    same = event(order_id, created_at=created, updated_at=created + timedelta(minutes=1))
    changed = event(
        order_id, created_at=created, updated_at=created + timedelta(minutes=2), order_name="#NEW"
    )
    await produce(kafka_bootstrap, SOURCE, [first, same, changed])
    found = await wait_for_keys(kafka_bootstrap, SINK, {first.key}, count=2)
    await asyncio.sleep(1.0)
    found = [r for r in await read_all(kafka_bootstrap, SINK) if r.key == first.key]
    assert len(found) == 2
    assert [SERDE.decode(r.value).record["client_order_ref"] for r in found] == [
        f"#{order_id[:8]}",
        "#NEW",
    ]
    duplicates = f'ferry_duplicates_total{{service="streams",topic="{SINK}"}} '
    assert duplicates + "1.0" in await scrape(worker.port)

    # A clean stop commits what was processed: the group is at the end of the source topic.
    assert await asyncio.to_thread(worker.stop) == 0
    ends = await _end_offsets(kafka_bootstrap, SOURCE)
    committed = await committed_offsets(kafka_bootstrap, worker.group)
    for tp, end in ends.items():
        assert committed.get(tp) == end, (tp, committed, ends)

    # Restarted, the worker remembers what it sent (the table's changelog): nothing new.
    again = await asyncio.to_thread(
        start_worker, kafka_bootstrap, tmp_path / "again.log", group=worker.group
    )
    try:
        await produce(kafka_bootstrap, SOURCE, [changed])  # what was sent last
        await asyncio.sleep(3.0)
        found = [r for r in await read_all(kafka_bootstrap, SINK) if r.key == first.key]
        assert len(found) == 2, again.log_text()[-3000:]
    finally:
        assert await asyncio.to_thread(again.stop) == 0


async def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    partitions = await partitions_of(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def test_the_dlq_brake_stops_only_its_partition_without_committing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Bad orders all on partition 0 trip its brake: that partition stops (nothing after the
    fourth dead letter is committed) while the worker and partition 1 go on."""
    run = uuid.uuid4().hex[:10]
    name = f"brake{run}"
    source, target = topics_of(name)
    config = tmp_path / "ferry.yaml"
    config.write_text(
        "flows:\n"
        + only_flow(name)
        + "    dlq:\n      window: 10\n      min_events: 5\n      max_invalid_ratio: 0.5\n"
        "      max_consecutive: 5\n",
        encoding="utf-8",
    )
    worker = await asyncio.to_thread(
        start_worker, kafka_bootstrap, tmp_path / "brake.log", None, ("--config", str(config))
    )
    try:
        bad = [event(f"{run}-{i}", currency="XYZ") for i in range(8)]
        good = event(f"{run}-good")
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for item in bad:
                await producer.send_and_wait(
                    source, item.value, key=item.key, headers=item.headers, partition=0
                )
            await producer.send_and_wait(
                source, good.value, key=good.key, headers=good.headers, partition=1
            )
        finally:
            await producer.stop()
        outputs = await wait_for_keys(kafka_bootstrap, target, {good.key}, count=1)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while "DLQ brake tripped" not in worker.log_text():
            assert loop.time() < deadline, worker.log_text()[-3000:]
            await asyncio.sleep(0.2)
        assert worker.process.poll() is None, "the worker stopped"
    finally:
        await asyncio.to_thread(worker.stop)
    assert len(outputs) == 1  # partition 1 went on
    assert "partition 0" in worker.log_text()
    dead = await read_all(kafka_bootstrap, f"dlq.{source}")
    assert len(dead) == 4  # the fifth failure in a row trips the brake instead
    committed = await committed_offsets(kafka_bootstrap, worker.group)
    assert committed.get(TopicPartition(source, 0), 0) <= 4


async def produce_backlog(bootstrap: str, topic: str, events: list[Sent]) -> None:
    """Queue every event at once (one producer, in order), then wait for all the acks."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, item.value, key=item.key, headers=item.headers)
            for item in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def test_a_failed_delivery_mid_window_commits_no_later_offset(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """One output the broker rejects (too large for its topic), amid a pipelined window.

    Source and target have one partition, so every event is in one ordered window. The target
    takes records up to 32 KiB; the output of event POISON is about 40 KiB: its batch fails
    for good (MESSAGE_TOO_LARGE, not retriable) while the batches around it succeed. The worker
    must crash, with no offset at or after POISON committed, although outputs of later events
    were acknowledged by Kafka while the poisoned one was in flight.
    """
    run = uuid.uuid4().hex[:10]
    name = f"poison{run}"
    source, target = topics_of(name)
    total, poison = 300, 120
    await ensure_topics(
        kafka_bootstrap,
        [
            TopicSpec(source, 1, 1),
            TopicSpec(target, 1, 1, {"max.message.bytes": str(32 * 1024)}),
        ],
    )
    config = tmp_path / "ferry.yaml"
    config.write_text(
        "kafka:\n  partitions: 1\nflows:\n" + only_flow(name),
        encoding="utf-8",
    )
    big_line = {**shop_order("x")["lines"][0], "title": "Mug " + "x" * 40_000}
    events = [
        event(f"{run}-{i}", lines=[big_line]) if i == poison else event(f"{run}-{i}")
        for i in range(total)
    ]
    # The whole backlog is on the source before the worker starts, so its first fetches fill
    # the window: the outputs after POISON are queued while POISON's delivery is in flight.
    await produce_backlog(kafka_bootstrap, source, events)
    worker = start_worker(
        kafka_bootstrap,
        tmp_path / "poison.log",
        None,
        ("--config", str(config)),
        wait_ready=False,  # it may crash (as it must) before it answers /readyz
    )
    try:
        code = await asyncio.to_thread(worker.process.wait, 60)
    finally:
        await asyncio.to_thread(worker.stop)
    log = worker.log_text()
    assert code != 0, log[-3000:]
    assert "MessageSizeTooLarge" in log or "MESSAGE_SIZE_TOO_LARGE" in log, log[-3000:]

    committed = await committed_offsets(kafka_bootstrap, worker.group)
    offset = committed.get(TopicPartition(source, 0), -1)
    assert offset <= poison, (offset, log[-3000:])  # POISON and every later event: not acked

    position = {e.key: i for i, e in enumerate(events)}
    written = sorted(position[r.key] for r in await read_all(kafka_bootstrap, target))
    print(f"\ncommitted offset {offset}; outputs of events {written[0]}..{written[-1]}")
    assert poison not in written
    assert written[:poison] == list(range(poison)), "the outputs before POISON, in order"
    # The window was pipelined: outputs of events after POISON reached Kafka (and stay
    # uncommitted on the source: after a restart they are sent again, after POISON).
    assert [i for i in written if i > poison], written[-5:]


@dataclass
class OnePartitionCase:
    """A test's own one-partition flow (idle checks every second) and its 20 events."""

    source: str
    target: str
    tp: TopicPartition
    config: Path
    events: list[Sent]
    keys: set[bytes]
    group: str


async def one_partition_case(bootstrap: str, tmp_path: Path, prefix: str) -> OnePartitionCase:
    run = uuid.uuid4().hex[:10]
    name = f"{prefix}{run}"
    source, target = topics_of(name)
    await ensure_topics(bootstrap, [TopicSpec(source, 1, 1), TopicSpec(target, 1, 1)])
    config = tmp_path / "ferry.yaml"
    config.write_text(
        "kafka:\n  partitions: 1\nstreams:\n  idle_check_s: 1\nflows:\n" + only_flow(name),
        encoding="utf-8",
    )
    events = [event(f"{run}-{i}") for i in range(20)]
    keys = {e.key for e in events}
    return OnePartitionCase(
        source, target, TopicPartition(source, 0), config, events, keys, f"ferry-streams-{run}"
    )


@pytest.mark.parametrize(
    ("restart", "backlog"),
    [(False, False), (True, False), (True, True)],
    ids=["running", "after-a-restart", "backlog-at-a-restart"],
)
async def test_an_event_faust_dropped_at_the_committed_offset_is_read_again(
    kafka_bootstrap: str, tmp_path: Path, restart: bool, backlog: bool
) -> None:
    """The chaos run's loss: faust dropped the event at the committed offset (one it fetched
    while its flow was suspended) and was handed the next ones. Without the hole being seen it
    would commit past the event (faust-streaming #606) and the order would never be mapped.

    0..9 are mapped and committed, then offset 10 is dropped once by the worker's consumer:
    the worker that committed 0..9 (``running``: a hole within one generation), or a worker
    started after it stopped (``after-a-restart``: the first offset of the generation past the
    committed one). Every one of the 20 events is mapped exactly once, and the committed offset
    reaches 20. ``backlog-at-a-restart``: 10..19 wait on the source before the new worker
    starts, so faust may hand over 11.. before its seek told the stage the committed offset (no
    hole shows then): the idle stage finds 10 passed and reads it."""
    case = await one_partition_case(kafka_bootstrap, tmp_path, "holes")
    source, target, tp, config = case.source, case.target, case.tp, case.config
    events, keys, group = case.events, case.keys, case.group
    dropping = ("--drop", f"{source}:0:10", "--config", str(config))

    def start(log: str, args: tuple[str, ...], module: str) -> Worker:
        return start_worker(kafka_bootstrap, tmp_path / log, None, args, group=group, module=module)

    if restart:
        first = await asyncio.to_thread(start, "first.log", dropping[2:], "streams")
    else:
        first = await asyncio.to_thread(
            start, "holes.log", dropping, "tests.support.dropping_streams"
        )
    worker = first
    try:
        await produce(kafka_bootstrap, source, events[:10])
        await wait_for_keys(kafka_bootstrap, target, keys, count=10)
        await wait_committed(kafka_bootstrap, group, tp, 10)
        if restart:
            await asyncio.to_thread(first.stop)
            if backlog:
                await produce(kafka_bootstrap, source, events[10:])
            worker = await asyncio.to_thread(
                start, "holes.log", dropping, "tests.support.dropping_streams"
            )
        if not backlog:
            await produce(kafka_bootstrap, source, events[10:])
        await wait_for_keys(kafka_bootstrap, target, keys, count=20, timeout_s=30)
        await wait_committed(kafka_bootstrap, group, tp, 20)
        await asyncio.sleep(3.0)  # one commit interval and more: a late duplicate shows now
        outputs = [r for r in await read_all(kafka_bootstrap, target) if r.key in keys]
        metrics = await scrape(worker.port)
    finally:
        await asyncio.to_thread(first.stop)
        await asyncio.to_thread(worker.stop)
    log = worker.log_text()
    assert f"fault: dropped ('{source}', 0, 10)" in log
    assert sorted(r.key for r in outputs) == sorted(keys), log[-3000:]  # each exactly once
    series = f'ferry_offsets_skipped_total{{partition="0",service="streams",topic="{source}"}}'
    if restart and "were skipped" not in log and "were never given" not in log:
        # A started worker may go through a second rebalance just after the drop: the new
        # generation starts again at the committed offset (held at 10) and faust gives 10
        # again, so no hole shows. Nothing was skipped then, and nothing is counted.
        assert f"{series} 1.0" not in metrics
        return
    if "were never given" in log:  # handed over before the seek: the idle stage found it
        assert "offsets 10..10 were never given" in log
        assert "read from Kafka, 1 of those hold events" in log
    else:
        assert "offsets 10..10 were skipped" in log
        assert "read from Kafka, 1 of them hold events" in log
    assert f"{series} 1.0" in metrics


async def test_an_event_faust_dropped_with_no_event_after_it_is_read_once_the_stage_is_idle(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """faust drops the last event of the partition (19) and gives nothing after it, so no
    later offset shows a hole: the partition's commit waits at 19 (faust will not give it
    again: its read offset is past it). The idle stage sees its commit held at an offset it
    was never given, reads it from Kafka and maps it: all 20 events exactly once, committed
    20, the skipped offset counted."""
    case = await one_partition_case(kafka_bootstrap, tmp_path, "idle")
    source, target, tp, config = case.source, case.target, case.tp, case.config
    events, keys, group = case.events, case.keys, case.group
    args = ("--drop", f"{source}:0:19", "--config", str(config))
    worker = await asyncio.to_thread(
        start_worker,
        kafka_bootstrap,
        tmp_path / "idle.log",
        None,
        args,
        group=group,
        module="tests.support.dropping_streams",
    )
    try:
        await produce(kafka_bootstrap, source, events)
        await wait_for_keys(kafka_bootstrap, target, keys, count=20, timeout_s=30)
        await wait_committed(kafka_bootstrap, group, tp, 20)
        await asyncio.sleep(3.0)  # more than an idle check and a commit: a late duplicate shows
        outputs = [r for r in await read_all(kafka_bootstrap, target) if r.key in keys]
        metrics = await scrape(worker.port)
    finally:
        await asyncio.to_thread(worker.stop)
    log = worker.log_text()
    assert f"fault: dropped ('{source}', 0, 19)" in log
    assert sorted(r.key for r in outputs) == sorted(keys), log[-3000:]  # each exactly once
    assert "offsets 19..19 were never given" in log, log[-3000:]
    series = f'ferry_offsets_skipped_total{{partition="0",service="streams",topic="{source}"}}'
    assert f"{series} 1.0" in metrics


async def wait_committed(
    bootstrap: str, group: str, tp: TopicPartition, offset: int, timeout_s: float = 30.0
) -> None:
    """Wait until ``group`` committed ``offset`` on ``tp``; fail if it commits past it."""
    deadline = time.monotonic() + timeout_s
    while True:
        committed = (await committed_offsets(bootstrap, group)).get(tp, -1)
        assert committed <= offset, f"committed {committed}, past {offset}"
        if committed == offset:
            return
        assert time.monotonic() < deadline, f"committed {committed}, not {offset}"
        await asyncio.sleep(0.2)
