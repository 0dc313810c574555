from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from aiokafka.structs import TopicPartition

from consumers.runner import Outcome, SinkEvent, SinkRunner, SinkStopped, group_id
from ferry.breaker import BreakerSettings, BreakerState, CircuitBreaker
from ferry.dlq import SourceRecord
from ferry.envelope import CloudEvent
from ferry.errors import (
    AuthenticationError,
    Deferred,
    Rejected,
    Throttled,
    Unavailable,
    ValidationError,
)
from ferry.metrics import ServiceMetrics
from ferry.retry import Backoff
from ferry.serde import SingleObjectSerde
from ferry.settings import DlqSettings
from tests.unit.consumers.fakes import (
    RETRY,
    TOPIC,
    FakeBatchSink,
    FakeConsumer,
    FakeProducer,
    FakeSink,
    command,
    encode,
    headers_for,
)

P0 = TopicPartition(TOPIC, 0)
P1 = TopicPartition(TOPIC, 1)
R0 = TopicPartition(RETRY, 0)
FAST = Backoff(max_attempts=3, base_delay_s=0.001, max_delay_s=0.005)


def make_runner(
    sink: FakeSink,
    consumer: FakeConsumer,
    producer: FakeProducer | None = None,
    **kwargs: object,
) -> SinkRunner:
    options: dict[str, object] = {"backoff": FAST, "commit_interval_s": 0.01}
    options.update(kwargs)
    if producer is not None and producer.consumer is None:
        producer.consumer = consumer
    return SinkRunner(
        sink,
        consumer,
        producer or FakeProducer(consumer),
        serde=SingleObjectSerde(),
        metrics=ServiceMetrics("odoo-sink"),
        **options,  # type: ignore[arg-type]
    )


async def eventually(done: Callable[[], bool], within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if done():
            return
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


async def run_until(runner: SinkRunner, done: Callable[[], bool], within: float = 5.0) -> None:
    task = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: done() or task.done(), within)
    finally:
        runner.stop()
        await task


def sample(runner: SinkRunner, name: str, **labels: str) -> float:
    value = runner.metrics.registry.get_sample_value(
        name, {"service": "odoo-sink", "topic": TOPIC, **labels}
    )
    return value or 0.0


def test_group_id() -> None:
    assert group_id("odoo") == "ferry-sink-odoo"


async def test_applies_every_record_and_commits_after() -> None:
    consumer, producer, sink = FakeConsumer(), FakeProducer(), FakeSink()
    for i in range(6):
        consumer.add_command(i % 2, command(i))
    runner = make_runner(sink, consumer, producer)
    await run_until(runner, lambda: consumer.committed_offsets == {P0: 3, P1: 3})
    assert sorted(sink.applied) == sorted(f"ferry.shop_order_{i}" for i in range(6))
    assert [o for p, o in sink.seen if p == 0] == [0, 1, 2]  # in order within a partition
    assert producer.sent == []
    assert consumer.started
    assert consumer.stopped
    assert producer.started
    assert producer.stopped
    assert sample(runner, "ferry_events_in_total") == 6
    assert sample(runner, "ferry_events_out_total") == 6
    assert sample(runner, "ferry_consumer_lag", partition="0") == 0


async def test_undecodable_record_is_dead_lettered_and_committed() -> None:
    consumer, producer, sink = FakeConsumer(), FakeProducer(), FakeSink()
    good = command(1)
    consumer.add(0, b"\xc3\x01garbage", headers_for(good), key=b"shop:order:1")
    consumer.add_command(0, command(2))
    runner = make_runner(sink, consumer, producer)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 2)
    assert sink.applied == ["ferry.shop_order_2"]
    [letter] = producer.sent
    assert letter.topic == f"dlq.{TOPIC}"
    assert letter.value == b"\xc3\x01garbage"
    assert letter.key == b"shop:order:1"
    assert letter.header("ferry.error.class") == "DecodeError"
    assert letter.header("ferry.error.stage") == "sink"
    assert letter.header("ferry.error.offset") == "0"
    assert letter.header("ce_type") == "odoo.sale_order.upsert"  # original headers kept
    assert sample(runner, "ferry_dlq_total", error_class="DecodeError") == 1


async def test_wrong_event_type_and_missing_envelope_are_dead_lettered() -> None:
    consumer, producer, sink = FakeConsumer(), FakeProducer(), FakeSink()
    data = command(1)
    consumer.add(0, encode(data), headers_for(data, event_type="shop.order.created"))
    consumer.add(0, encode(data), [])
    runner = make_runner(sink, consumer, producer)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 2)
    assert sink.applied == []
    messages = [s.header("ferry.error.message") for s in producer.sent]
    assert "ce_type" in messages[0]
    assert "ce_id is missing" in messages[1]


async def test_permanent_error_goes_to_the_dlq_with_its_field_then_the_partition_goes_on() -> None:
    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        if record.offset == 0:
            raise ValidationError(
                "order_lines[0].default_code", "unknown product", "SKU-404", "no product"
            )
        return Outcome.APPLIED

    consumer, producer, sink = FakeConsumer(), FakeProducer(), FakeSink(behaviour)
    consumer.add_command(0, command(1))
    consumer.add_command(0, command(2))
    runner = make_runner(sink, consumer, producer)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 2)
    [letter] = producer.sent
    assert letter.header("ferry.error.field") == "order_lines[0].default_code"
    assert letter.header("ferry.error.class") == "ValidationError"
    assert letter.header("ferry.error.attempts") == "1"
    assert sink.applied == ["ferry.shop_order_2"]


async def test_transient_error_retries_the_same_record_and_commits_only_after_success() -> None:
    failures = 4
    commits_while_failing: list[dict[TopicPartition, int]] = []
    consumer = FakeConsumer()

    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        nonlocal failures
        if record.offset == 1 and failures:
            failures -= 1
            commits_while_failing.extend(consumer.commits)
            if failures % 2:
                raise Unavailable("odoo down")
            raise Throttled("slow down", retry_after=0.001)
        return Outcome.APPLIED

    producer, sink = FakeProducer(), FakeSink(behaviour)
    for i in range(3):
        consumer.add_command(0, command(i))
    patient = Backoff(max_attempts=10, base_delay_s=0.001, max_delay_s=0.005)
    runner = make_runner(sink, consumer, producer, backoff=patient)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 3)
    assert [o for _, o in sink.seen] == [0, 1, 1, 1, 1, 1, 2]
    assert all(c.get(P0, 0) <= 1 for c in commits_while_failing)
    assert producer.sent == []
    assert sample(runner, "ferry_retries_total") == 4
    assert sink.applied == [f"ferry.shop_order_{i}" for i in range(3)]


async def test_without_parking_a_failing_partition_stalls_while_the_others_go_on() -> None:
    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        if record.partition == 0 and record.offset == 1:
            raise Unavailable("odoo down")
        return Outcome.APPLIED

    consumer, producer, sink = FakeConsumer(), FakeProducer(), FakeSink(behaviour)
    for i in range(8):
        consumer.add_command(i % 2, command(i))
    runner = make_runner(sink, consumer, producer, max_buffered=2, park=False)
    await run_until(
        runner,
        lambda: (
            consumer.committed_offsets.get(P1) == 4 and sample(runner, "ferry_retries_total") > 5
        ),
    )
    assert consumer.committed_offsets.get(P0) == 1  # never past the record that keeps failing
    assert producer.sent == []  # the target being down is never a reason to dead-letter
    assert max(c.get(P0, 0) for c in consumer.commits) == 1


async def test_authentication_error_stops_the_runner_without_dead_lettering() -> None:
    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        if record.offset == 1:
            raise AuthenticationError(
                "Odoo refused the API key for login admin on database ferry: "
                "check FERRY_ODOO_API_KEY"
            )
        return Outcome.APPLIED

    consumer, producer, sink = FakeConsumer(partitions=1), FakeProducer(), FakeSink(behaviour)
    for i in range(3):
        consumer.add_command(0, command(i))
    runner = make_runner(sink, consumer, producer)
    with pytest.raises(SinkStopped, match="check FERRY_ODOO_API_KEY"):
        await runner.run()
    assert consumer.committed_offsets == {P0: 1}
    assert producer.sent == []
    assert consumer.stopped
    assert producer.stopped


async def test_the_brake_stops_instead_of_dead_lettering_everything() -> None:
    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        raise ValidationError("currency_code", "unknown currency", "XXX")

    consumer, producer, sink = FakeConsumer(partitions=1), FakeProducer(), FakeSink(behaviour)
    for i in range(10):
        consumer.add_command(0, command(i))
    brake = DlqSettings(window=10, min_events=5, max_invalid_ratio=0.9, max_consecutive=3)
    runner = make_runner(sink, consumer, producer, brake=brake)
    with pytest.raises(SinkStopped, match="3 consecutive events failed"):
        await runner.run()
    assert len(producer.sent) == 2  # the third is not dead-lettered, and not committed
    assert consumer.committed_offsets == {P0: 2}


async def test_duplicates_are_counted_and_committed() -> None:
    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        return Outcome.DUPLICATE

    consumer, sink = FakeConsumer(partitions=1), FakeSink(behaviour)
    consumer.add_command(0, command(1))
    runner = make_runner(sink, consumer)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 1)
    assert sample(runner, "ferry_duplicates_total") == 1
    assert sample(runner, "ferry_events_out_total") == 0


async def test_stop_finishes_the_in_flight_record_and_commits_it() -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        entered.set()
        await release.wait()
        return Outcome.APPLIED

    consumer, sink = FakeConsumer(partitions=1), FakeSink(behaviour)
    consumer.add_command(0, command(1))
    consumer.add_command(0, command(2))
    runner = make_runner(sink, consumer)
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(entered.wait(), 5)
    runner.stop()
    await asyncio.sleep(0.02)
    assert not task.done()  # waits for the in-flight record
    release.set()
    await asyncio.wait_for(task, 5)
    assert sink.applied == ["ferry.shop_order_1"]  # the next record was not started
    assert consumer.committed_offsets == {P0: 1}


async def test_stop_interrupts_a_retry_wait_without_committing() -> None:
    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        raise Unavailable("odoo down", retry_after=60)

    consumer, sink = FakeConsumer(partitions=1), FakeSink(behaviour)
    consumer.add_command(0, command(1))
    slow = Backoff(max_attempts=3, base_delay_s=1, max_delay_s=60)
    runner = make_runner(sink, consumer, backoff=slow)
    await asyncio.wait_for(run_until(runner, lambda: len(sink.seen) == 1), 5)
    assert consumer.committed_offsets == {}


async def test_a_dead_letter_not_acknowledged_is_retried_before_the_commit() -> None:
    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        raise ValidationError("currency_code", "unknown currency", "XXX")

    consumer, producer, sink = FakeConsumer(partitions=1), FakeProducer(), FakeSink(behaviour)
    producer.fail_next = 2
    consumer.add_command(0, command(1))
    runner = make_runner(sink, consumer, producer)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 1)
    assert len(producer.sent) == 1


async def test_an_unexpected_exception_stops_without_committing_the_record() -> None:
    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        raise KeyError("bug")

    consumer, producer, sink = FakeConsumer(partitions=1), FakeProducer(), FakeSink(behaviour)
    consumer.add_command(0, command(1))
    runner = make_runner(sink, consumer, producer)
    with pytest.raises(SinkStopped, match=r"unexpected error.*KeyError"):
        await runner.run()
    assert consumer.committed_offsets == {}
    assert producer.sent == []


async def test_a_full_partition_is_paused_and_resumed() -> None:
    gate = asyncio.Event()
    paused_seen: list[bool] = []
    consumer = FakeConsumer(partitions=1, batch=5)

    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        paused_seen.append(P0 in consumer.paused)
        await gate.wait()
        return Outcome.APPLIED

    sink = FakeSink(behaviour)
    for i in range(20):
        consumer.add_command(0, command(i))
    runner = make_runner(sink, consumer, max_buffered=4)
    task = asyncio.create_task(runner.run())
    await eventually(lambda: bool(sink.seen))
    await asyncio.sleep(0.05)
    assert P0 in consumer.paused
    assert consumer.position[P0] == 5  # nothing more fetched while paused
    gate.set()
    await eventually(lambda: consumer.committed_offsets.get(P0) == 20)
    runner.stop()
    await task
    assert paused_seen[0] is True
    assert paused_seen[-1] is False


async def test_ready_needs_an_assignment_and_the_target() -> None:
    consumer, sink = FakeConsumer(partitions=1), FakeSink()
    runner = make_runner(sink, consumer)
    assert await runner.ready() is False
    task = asyncio.create_task(runner.run())
    await eventually(lambda: bool(consumer.assignment()))
    assert await runner.ready() is True
    sink.is_ready = False
    assert await runner.ready() is False
    runner.stop()
    await task


async def test_revocation_drains_and_commits_the_partition() -> None:
    consumer, sink = FakeConsumer(partitions=2), FakeSink()
    for i in range(4):
        consumer.add_command(i % 2, command(i))
    runner = make_runner(sink, consumer, commit_interval_s=60)
    task = asyncio.create_task(runner.run())
    await eventually(lambda: len(sink.applied) == 4)
    await runner.revoke({P0})
    assert consumer.committed_offsets == {P0: 2}
    runner.stop()
    await task
    assert consumer.committed_offsets == {P0: 2, P1: 2}


async def test_records_deleted_by_retention_before_they_were_read_are_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    consumer, producer, sink = FakeConsumer(), FakeProducer(), FakeSink()
    for n in range(6):
        consumer.add_command(0, command(n))
    consumer.committed_offsets[P0] = 2  # what the group had read before a long stall
    consumer.log_start[P0] = 5  # retention deleted offsets 2, 3 and 4 meanwhile
    consumer.position[P0] = 5
    runner = make_runner(sink, consumer, producer)
    with caplog.at_level(logging.ERROR):
        await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 6)
    assert sample(runner, "ferry_records_lost_to_retention_total", partition="0") == 3
    assert sample(runner, "ferry_records_lost_to_retention_total", partition="1") == 0
    [line] = [r.getMessage() for r in caplog.records if "retention" in r.getMessage()]
    assert "3 record(s) were deleted by retention" in line


# -- the batch path ----------------------------------------------------------------------------


async def test_a_batch_sink_gets_what_is_queued_in_batches_in_order() -> None:
    consumer, producer = FakeConsumer(partitions=1, batch=10), FakeProducer()
    sink = FakeBatchSink()
    for i in range(25):
        consumer.add_command(0, command(i))
    runner = make_runner(sink, consumer, producer, batch_size=8)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 25)
    assert [o for _, o in sink.seen] == list(range(25))  # every call, batched or alone
    assert all(2 <= len(b) <= 8 for b in sink.batches)  # one record alone goes to apply
    assert max(len(b) for b in sink.batches) == 8
    assert sink.applied == [f"ferry.shop_order_{i}" for i in range(25)]
    assert sample(runner, "ferry_events_in_total") == 25
    assert sample(runner, "ferry_events_out_total") == 25


async def test_batch_size_one_keeps_one_apply_per_record() -> None:
    consumer, sink = FakeConsumer(partitions=1), FakeBatchSink()
    for i in range(5):
        consumer.add_command(0, command(i))
    runner = make_runner(sink, consumer, batch_size=1)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 5)
    assert sink.batches == []
    assert [o for _, o in sink.seen] == [0, 1, 2, 3, 4]


async def test_a_permanent_result_dead_letters_that_event_only() -> None:
    async def behaviour(events: Sequence[SinkEvent], records: Sequence[SourceRecord]) -> list[Any]:
        return [
            ValidationError("order_lines[0].default_code", "a known product", "SKU-404")
            if r.offset == 2
            else Outcome.APPLIED
            for r in records
        ]

    consumer, producer = FakeConsumer(partitions=1), FakeProducer()
    sink = FakeBatchSink(batch_behaviour=behaviour)
    for i in range(5):
        consumer.add_command(0, command(i))
    runner = make_runner(sink, consumer, producer, batch_size=10)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 5)
    [letter] = producer.sent
    assert letter.header("ferry.error.offset") == "2"
    assert letter.header("ferry.error.field") == "order_lines[0].default_code"
    assert sorted(sink.applied) == [f"ferry.shop_order_{i}" for i in (0, 1, 3, 4)]


async def test_a_transient_result_retries_from_that_event_and_commits_before_it() -> None:
    failures = 2
    commits_while_failing: list[dict[TopicPartition, int]] = []
    consumer = FakeConsumer(partitions=1)

    async def behaviour(events: Sequence[SinkEvent], records: Sequence[SourceRecord]) -> list[Any]:
        nonlocal failures
        results: list[Any] = []
        for r in records:
            if r.offset == 3 and failures:
                failures -= 1
                commits_while_failing.extend(consumer.commits)
                results.append(Unavailable("odoo down"))
                results.extend(Unavailable("not tried") for _ in records[len(results) :])
                break
            results.append(Outcome.APPLIED)
        return results

    sink = FakeBatchSink(batch_behaviour=behaviour)
    for i in range(6):
        consumer.add_command(0, command(i))
    runner = make_runner(sink, consumer, batch_size=10)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 6)
    assert sink.batches[0] == [(0, o) for o in range(6)]
    assert sink.batches[1] == [(0, o) for o in range(3, 6)]  # from the failed event on
    assert all(c.get(P0, 0) <= 3 for c in commits_while_failing)
    assert sorted(sink.applied) == [f"ferry.shop_order_{i}" for i in range(6)]
    assert sample(runner, "ferry_retries_total") == 2


async def test_a_batch_rejected_as_a_whole_is_bisected_to_the_bad_event() -> None:
    async def behaviour(events: Sequence[SinkEvent], records: Sequence[SourceRecord]) -> list[Any]:
        if any(r.offset == 5 for r in records):
            raise Rejected("Odoo refused the batch")
        return [Outcome.APPLIED for _ in records]

    consumer, producer = FakeConsumer(partitions=1), FakeProducer()
    sink = FakeBatchSink(batch_behaviour=behaviour)

    async def single(event: SinkEvent, record: SourceRecord) -> Outcome:
        if record.offset == 5:
            raise Rejected("Odoo refused this order", field="partner.email")
        return Outcome.APPLIED

    sink.behaviour = single
    for i in range(8):
        consumer.add_command(0, command(i))
    runner = make_runner(sink, consumer, producer, batch_size=8)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 8)
    [letter] = producer.sent
    assert letter.header("ferry.error.offset") == "5"
    assert letter.header("ferry.error.field") == "partner.email"
    assert sorted(sink.applied) == [f"ferry.shop_order_{i}" for i in range(8) if i != 5]
    assert len(sink.applied) == 7


async def test_an_undecodable_record_inside_a_batch_keeps_the_order() -> None:
    consumer, producer = FakeConsumer(partitions=1), FakeProducer()
    sink = FakeBatchSink()
    consumer.add_command(0, command(0))
    consumer.add(0, b"\xc3\x01garbage", headers_for(command(1)))
    consumer.add_command(0, command(2))
    runner = make_runner(sink, consumer, producer, batch_size=10)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 3)
    assert [letter.header("ferry.error.offset") for letter in producer.sent] == ["1"]
    assert sink.applied == ["ferry.shop_order_0", "ferry.shop_order_2"]


# -- parking, the retry lane and the breaker ---------------------------------------------------


def keyed(consumer: FakeConsumer, partition: int, order_id: int, key: bytes) -> None:
    consumer.add_command(partition, command(order_id), key=key)


async def test_a_poison_record_parks_only_its_key_and_is_dead_lettered_when_retries_run_out() -> (
    None
):
    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        if record.topic == TOPIC and record.offset == 0:
            raise Unavailable("odoo answered 503 for this order")
        return Outcome.APPLIED

    consumer = FakeConsumer(partitions=1)
    producer, sink = FakeProducer(consumer), FakeSink(behaviour)
    keyed(consumer, 0, 1, b"A")  # poison
    keyed(consumer, 0, 2, b"B")
    keyed(consumer, 0, 3, b"A")  # must not overtake order 1
    keyed(consumer, 0, 4, b"C")
    lane = Backoff(max_attempts=3, base_delay_s=0.001, max_delay_s=0.005)
    runner = make_runner(sink, consumer, producer, give_up_after_s=0.3, lane_backoff=lane)
    await run_until(
        runner,
        lambda: "ferry.shop_order_3" in sink.applied and consumer.committed_offsets.get(R0) == 2,
    )
    assert consumer.committed_offsets[P0] == 4  # the partition went on
    assert sink.applied == ["ferry.shop_order_2", "ferry.shop_order_4", "ferry.shop_order_3"]
    parked = producer.to(RETRY)
    assert [p.header("ferry.retry.offset") for p in parked] == ["0", "2"]
    assert parked[0].header("ferry.retry.attempts") == "3"
    assert parked[1].header("ferry.retry.attempts") == "0"  # followed its key, untried
    [letter] = producer.to(f"dlq.{TOPIC}")
    assert letter.header("ferry.error.rule") == "retries_exhausted"
    assert letter.header("ferry.error.topic") == TOPIC  # its origin, for replay
    assert letter.header("ferry.error.offset") == "0"
    assert not any(k.startswith("ferry.retry.") for k, _ in letter.headers)
    assert sample(runner, "ferry_parked_total") == 2


async def test_a_parked_record_applies_when_it_recovers_and_its_followers_after_it() -> None:
    failures = 6

    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        nonlocal failures
        if record.offset == 0 and failures:
            failures -= 1
            raise Unavailable("odoo timed out on this order")
        return Outcome.APPLIED

    consumer = FakeConsumer(partitions=1)
    producer, sink = FakeProducer(consumer), FakeSink(behaviour)
    keyed(consumer, 0, 1, b"A")
    keyed(consumer, 0, 2, b"A")
    keyed(consumer, 0, 3, b"B")
    lane = Backoff(max_attempts=3, base_delay_s=0.001, max_delay_s=0.005)
    runner = make_runner(sink, consumer, producer, lane_backoff=lane)
    await run_until(runner, lambda: consumer.committed_offsets.get(R0) == 2)
    assert sink.applied == ["ferry.shop_order_3", "ferry.shop_order_1", "ferry.shop_order_2"]
    assert producer.to(f"dlq.{TOPIC}") == []
    assert consumer.committed_offsets[P0] == 3


async def test_the_retry_lane_paces_by_its_own_tries_not_by_the_attempts_before_parking() -> None:
    """A record parked after 8 attempts is retried in the lane about ``base_delay_s`` later,
    not ``base_delay_s * 2**8`` (the main lane's attempts say nothing about the lane's pace)."""
    failures = 9  # 8 in the main lane, 1 in the retry lane

    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        nonlocal failures
        if record.offset == 0 and failures:
            failures -= 1
            raise Unavailable("odoo timed out on this order")
        return Outcome.APPLIED

    consumer = FakeConsumer(partitions=1)
    producer, sink = FakeProducer(consumer), FakeSink(behaviour)
    keyed(consumer, 0, 1, b"A")
    keyed(consumer, 0, 2, b"B")
    budget = Backoff(max_attempts=8, base_delay_s=0.001, max_delay_s=0.002)
    lane = Backoff(base_delay_s=0.05, max_delay_s=60.0)  # 0.05 * 2**8 = 12.8 s
    runner = make_runner(sink, consumer, producer, backoff=budget, lane_backoff=lane)
    await run_until(runner, lambda: consumer.committed_offsets.get(R0) == 1, within=3.0)
    assert sink.applied == ["ferry.shop_order_2", "ferry.shop_order_1"]
    assert producer.to(RETRY)[0].header("ferry.retry.attempts") == "8"
    assert producer.to(f"dlq.{TOPIC}") == []


async def test_a_deferred_record_in_the_retry_lane_waits_what_the_sink_asked() -> None:
    """The sink's own hold (``Deferred``) in the lane is honoured as asked: not paced by the
    lane's backoff and not counted as an attempt."""
    failures, deferrals = 2, 3  # the main lane's two attempts, then the sink's own holds

    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        nonlocal failures, deferrals
        if failures:
            failures -= 1
            raise Unavailable("odoo timed out on this order")
        if deferrals:
            deferrals -= 1
            raise Deferred("an earlier write may still commit", retry_after=0.01)
        return Outcome.APPLIED

    consumer = FakeConsumer(partitions=1)
    producer, sink = FakeProducer(consumer), FakeSink(behaviour)
    keyed(consumer, 0, 1, b"A")
    budget = Backoff(max_attempts=2, base_delay_s=0.001, max_delay_s=0.002)
    # Parked due in 0.1-0.2 s; three deferrals paced as failures would add 0.4 + 0.8 + 1.6 s+.
    lane = Backoff(base_delay_s=0.2, max_delay_s=60.0)
    runner = make_runner(sink, consumer, producer, backoff=budget, lane_backoff=lane)
    await run_until(runner, lambda: sink.applied == ["ferry.shop_order_1"], within=1.5)
    assert deferrals == 0
    assert sample(runner, "ferry_retries_total") == 1  # the main lane's one retry only


async def test_an_outage_parks_nothing_and_dead_letters_nothing() -> None:
    down = True

    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        if down:
            raise Unavailable("connection refused")
        return Outcome.APPLIED

    consumer = FakeConsumer(partitions=2)
    producer, sink = FakeProducer(consumer), FakeSink(behaviour)
    for i in range(12):
        keyed(consumer, i % 2, i, f"order-{i}".encode())
    states: list[BreakerState] = []
    breaker = CircuitBreaker(
        "odoo", BreakerSettings(open_s=0.01, max_open_s=0.02), on_change=states.append
    )
    budget = Backoff(max_attempts=8, base_delay_s=0.001, max_delay_s=0.002)
    runner = make_runner(sink, consumer, producer, breaker=breaker, backoff=budget)
    task = asyncio.create_task(runner.run())
    # Down for six probes: without the breaker each head would have used its 8 tries
    # in a few milliseconds and been parked.
    await eventually(lambda: states.count(BreakerState.HALF_OPEN) >= 6)
    waited = sample(runner, "ferry_retries_total")
    down = False
    await eventually(lambda: consumer.committed_offsets.get(P0) == 6)
    await eventually(lambda: consumer.committed_offsets.get(P1) == 6)
    runner.stop()
    await task
    assert sorted(sink.applied) == sorted(f"ferry.shop_order_{i}" for i in range(12))
    assert producer.sent == []  # nothing parked, nothing dead-lettered
    assert breaker.closed
    assert waited >= 6


async def test_a_new_owner_reads_parked_keys_before_it_applies_their_later_records() -> None:
    consumer = FakeConsumer(partitions=1)
    producer, sink = FakeProducer(consumer), FakeSink()
    # Left by an earlier owner: order 1 of key A parked (due in a moment), then its change 2.
    old = command(1)
    due_ms = str(int((time.time() + 0.3) * 1000)).encode()
    consumer.add(
        0,
        encode(old),
        [
            *headers_for(old),
            ("ferry.retry.topic", TOPIC.encode()),
            ("ferry.retry.partition", b"0"),
            ("ferry.retry.offset", b"7"),
            ("ferry.retry.attempts", b"8"),
            ("ferry.retry.first_failed_at", b"2026-12-01T10:00:00Z"),
            ("ferry.retry.due_ms", due_ms),
        ],
        key=b"A",
        topic=RETRY,
    )
    keyed(consumer, 0, 2, b"A")
    keyed(consumer, 0, 3, b"B")
    runner = make_runner(sink, consumer, producer)
    await run_until(runner, lambda: consumer.committed_offsets.get(R0) == 2)
    assert sink.applied.index("ferry.shop_order_1") < sink.applied.index("ferry.shop_order_2")
    assert sorted(sink.applied) == [f"ferry.shop_order_{i}" for i in (1, 2, 3)]
    assert (0, 7) in sink.seen  # applied as its origin record
    # order 2 followed its key through the retry lane (not applied before order 1)
    assert [p.header("ferry.retry.offset") for p in producer.to(RETRY)] == ["0"]
    assert consumer.committed_offsets[P0] == 2


async def test_a_sinks_own_wait_never_opens_the_breaker() -> None:
    waits = 12

    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        nonlocal waits
        if waits:
            waits -= 1
            raise Deferred("an earlier write may still commit", retry_after=0.001)
        return Outcome.APPLIED

    consumer = FakeConsumer(partitions=2)
    producer, sink = FakeProducer(consumer), FakeSink(behaviour)
    for i in range(6):
        keyed(consumer, i % 2, i, f"order-{i}".encode())
    seen: list[BreakerState] = []
    breaker = CircuitBreaker("odoo", on_change=seen.append)
    patient = Backoff(max_attempts=50, base_delay_s=0.001, max_delay_s=0.002)
    runner = make_runner(sink, consumer, producer, breaker=breaker, backoff=patient)
    await run_until(runner, lambda: len(sink.applied) == 6)
    assert seen == []
    assert producer.sent == []


async def test_revocation_abandons_a_write_that_outlasts_the_bound_and_commits_before_it() -> None:
    release = asyncio.Event()

    async def behaviour(event: SinkEvent, record: SourceRecord) -> Outcome:
        if record.partition == 0 and record.offset == 1:
            await release.wait()  # a write that hangs
        return Outcome.APPLIED

    consumer, sink = FakeConsumer(partitions=2), FakeSink(behaviour)
    for i in range(6):
        consumer.add_command(i % 2, command(i))
    runner = make_runner(sink, consumer, commit_interval_s=60, drain_timeout_s=0.2)
    task = asyncio.create_task(runner.run())
    await eventually(lambda: (0, 1) in sink.seen and len(sink.applied) >= 4)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await runner.revoke({P0})
    assert loop.time() - started < 1.0  # bounded, not waiting for the write
    assert consumer.committed_offsets == {P0: 1}  # the abandoned record is the next owner's
    assert "ferry.shop_order_2" not in sink.applied
    runner.stop()
    await task
    release.set()
    assert consumer.committed_offsets == {P0: 1, P1: 3}


async def test_a_batch_that_keeps_failing_as_a_whole_is_bisected_and_only_the_poison_parks() -> (
    None
):
    async def behaviour(events: Sequence[SinkEvent], records: Sequence[SourceRecord]) -> list[Any]:
        if any(r.offset == 5 for r in records):  # the target fails any call that carries it
            raise Unavailable("502 from the proxy")
        return [Outcome.APPLIED for _ in records]

    async def single(event: SinkEvent, record: SourceRecord) -> Outcome:
        if record.topic == TOPIC and record.offset == 5:
            raise Unavailable("502 from the proxy")
        return Outcome.APPLIED

    consumer = FakeConsumer(partitions=1)
    producer = FakeProducer(consumer)
    sink = FakeBatchSink(behaviour=single, batch_behaviour=behaviour, idempotent=True)
    for i in range(8):
        keyed(consumer, 0, i, f"order-{i}".encode())
    seen: list[BreakerState] = []
    breaker = CircuitBreaker("odoo", on_change=seen.append)
    runner = make_runner(sink, consumer, producer, batch_size=8, breaker=breaker)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 8)
    assert sorted(sink.applied) == sorted(f"ferry.shop_order_{i}" for i in range(8) if i != 5)
    [parked] = producer.to(RETRY)
    assert parked.header("ferry.retry.offset") == "5"
    assert producer.to(f"dlq.{TOPIC}") == []
    assert seen == []  # every failed call carried the poison record: not an outage


async def test_a_batch_failing_as_a_whole_in_an_outage_opens_the_breaker_and_parks_nothing() -> (
    None
):
    down = True

    async def behaviour(events: Sequence[SinkEvent], records: Sequence[SourceRecord]) -> list[Any]:
        if down:
            raise Unavailable("connection refused")
        return [Outcome.APPLIED for _ in records]

    async def single(event: SinkEvent, record: SourceRecord) -> Outcome:
        if down:
            raise Unavailable("connection refused")
        return Outcome.APPLIED

    consumer = FakeConsumer(partitions=1)  # one busy partition: no other calls to compare
    producer = FakeProducer(consumer)
    sink = FakeBatchSink(behaviour=single, batch_behaviour=behaviour, idempotent=True)
    for i in range(8):
        keyed(consumer, 0, i, f"order-{i}".encode())
    states: list[BreakerState] = []
    breaker = CircuitBreaker(
        "odoo", BreakerSettings(open_s=0.01, max_open_s=0.02), on_change=states.append
    )
    budget = Backoff(max_attempts=8, base_delay_s=0.001, max_delay_s=0.002)
    runner = make_runner(sink, consumer, producer, batch_size=8, breaker=breaker, backoff=budget)
    task = asyncio.create_task(runner.run())
    await eventually(lambda: states.count(BreakerState.HALF_OPEN) >= 4)
    down = False
    await eventually(lambda: consumer.committed_offsets.get(P0) == 8)
    runner.stop()
    await task
    assert sorted(sink.applied) == sorted(f"ferry.shop_order_{i}" for i in range(8))
    assert producer.sent == []


async def test_a_revoked_partition_leaves_no_lag_behind() -> None:
    consumer, sink = FakeConsumer(partitions=2), FakeSink()
    for i in range(4):
        consumer.add_command(i % 2, command(i))
    runner = make_runner(sink, consumer)
    task = asyncio.create_task(runner.run())
    await eventually(lambda: len(sink.applied) == 4)
    lag = "ferry_consumer_lag"
    assert (
        runner.metrics.registry.get_sample_value(
            lag, {"service": "odoo-sink", "topic": TOPIC, "partition": "0"}
        )
        == 0
    )
    await runner.revoke({P0})
    assert (
        runner.metrics.registry.get_sample_value(
            lag, {"service": "odoo-sink", "topic": TOPIC, "partition": "0"}
        )
        is None
    )
    runner.stop()
    await task


async def test_parked_records_that_never_arrive_do_not_stall_the_partition_for_ever(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Lagging(FakeConsumer):
        async def end_offsets(
            self, partitions: Sequence[TopicPartition]
        ) -> dict[TopicPartition, int]:
            return {tp: len(self.logs[tp]) + 1 for tp in partitions}  # one never delivered

    consumer = Lagging(partitions=1)
    sink = FakeSink()
    keyed(consumer, 0, 1, b"A")
    runner = make_runner(sink, consumer, FakeProducer(consumer), load_timeout_s=0.05)
    with caplog.at_level(logging.WARNING):
        await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 1)
    assert sink.applied == ["ferry.shop_order_1"]
    assert "were not all read within" in caplog.text


async def test_each_confirmed_write_observes_its_time_since_the_source_event() -> None:
    consumer, sink = FakeConsumer(), FakeSink()
    for i in range(3):
        consumer.add_command(0, command(i))
    replayed = command(3)
    consumer.add(0, encode(replayed), [*headers_for(replayed), ("ferry.replay.count", b"1")])
    # Each fake command's ce_time is its creation; the wall clock reads 42.5 s after the last.
    times = [CloudEvent.from_headers(r.headers).time.timestamp() for r in consumer.logs[P0]]
    runner = make_runner(sink, consumer, wall_clock=lambda: max(times) + 42.5)
    await run_until(runner, lambda: consumer.committed_offsets.get(P0) == 4)

    labels = {"service": "odoo-sink", "flow": sink.name}
    registry = runner.metrics.registry
    assert len(sink.applied) == 4
    # The replay is applied but not observed: its time is the original's.
    assert registry.get_sample_value("ferry_e2e_latency_seconds_count", labels) == 3
    total = registry.get_sample_value("ferry_e2e_latency_seconds_sum", labels)
    assert total == pytest.approx(sum(max(times) + 42.5 - t for t in times[:3]))
    # 42.5 s (plus the few milliseconds between the commands' creation) lands in (30, 60].
    assert (
        registry.get_sample_value("ferry_e2e_latency_seconds_bucket", {**labels, "le": "30.0"}) == 0
    )
    assert (
        registry.get_sample_value("ferry_e2e_latency_seconds_bucket", {**labels, "le": "60.0"}) == 3
    )


async def test_the_lag_of_a_stalled_partition_grows_with_its_log() -> None:
    consumer = FakeConsumer()
    release = asyncio.Event()

    async def stuck(event: SinkEvent, record: SourceRecord) -> Outcome:
        await release.wait()
        return Outcome.APPLIED

    sink = FakeSink(behaviour=stuck)
    consumer.add_command(0, command(0))
    runner = make_runner(sink, consumer, lag_interval_s=0.01)
    task = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: sink.seen == [(0, 0)])
        for i in range(1, 8):  # more records arrive while the first one is in the target
            consumer.add_command(0, command(i))
        await eventually(lambda: sample(runner, "ferry_consumer_lag", partition="0") == 8)
        release.set()
        await eventually(lambda: consumer.committed_offsets.get(P0) == 8)
        await eventually(lambda: sample(runner, "ferry_consumer_lag", partition="0") == 0)
    finally:
        release.set()
        runner.stop()
        await task


def test_a_sinks_counters_exist_at_zero_before_its_first_event() -> None:
    runner = make_runner(FakeSink(), FakeConsumer())
    runner._zero_series()
    for name in ("events_in", "events_out", "duplicates", "retries", "parked"):
        value = runner.metrics.registry.get_sample_value(
            f"ferry_{name}_total", {"service": "odoo-sink", "topic": TOPIC}
        )
        assert value == 0.0, name
    for error_class in ("DecodeError", "MappingError", "Rejected", "ValidationError"):
        value = runner.metrics.registry.get_sample_value(
            "ferry_dlq_total", {"service": "odoo-sink", "topic": TOPIC, "error_class": error_class}
        )
        assert value == 0.0, error_class
