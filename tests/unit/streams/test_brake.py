"""The streams DLQ brake counts per source partition: one bad key replayed on one partition
stops that partition only; the flow's other partitions go on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from ferry.dlq import DlqBrakeTripped, PartitionBrakes
from ferry.errors import ValidationError
from ferry.registry import load
from ferry.settings import DlqSettings
from streams.app import StreamsApp
from streams.processor import Failure, Output
from streams.stage import FlowStage

SOURCE = "src.carrier.parcels"
BRAKE = DlqSettings(window=10, min_events=5, max_invalid_ratio=0.5, max_consecutive=4)


def test_failures_count_against_their_own_partition_only() -> None:
    brakes = PartitionBrakes(BRAKE)
    for _ in range(3):
        brakes.record(False, topic=SOURCE, partition=0)
        brakes.record(False, topic=SOURCE, partition=1)  # 3 + 3 would trip one shared brake
    with pytest.raises(DlqBrakeTripped, match=r"src\.carrier\.parcels\[1\]: 4 consecutive") as e:
        brakes.record(False, topic=SOURCE, partition=1)
    assert (e.value.topic, e.value.partition) == (SOURCE, 1)
    assert brakes.tripped(SOURCE, 1)
    assert not brakes.tripped(SOURCE, 0)
    assert brakes.tripped_partitions == [(SOURCE, 1)]
    brakes.record(True, topic=SOURCE, partition=0)  # partition 0 goes on
    brakes.release(SOURCE, 1)
    assert not brakes.tripped(SOURCE, 1)
    brakes.record(False, topic=SOURCE, partition=1)  # counted afresh


def test_a_partition_trips_on_its_own_ratio() -> None:
    brakes = PartitionBrakes(DlqSettings(window=10, min_events=10, max_invalid_ratio=0.5))
    for i in range(10):
        brakes.record(i % 2 == 0, topic=SOURCE, partition=2)  # exactly half: does not trip
        brakes.record(True, topic=SOURCE, partition=0)
    with pytest.raises(DlqBrakeTripped, match="of the last 10 events failed"):
        brakes.record(False, topic=SOURCE, partition=2)


class FakeStream:
    """What the agent uses of faust's stream: noack(), events(), ack()."""

    def __init__(self, events: list[Any]) -> None:
        self._events = events
        self.acked: list[Any] = []

    def noack(self) -> FakeStream:
        return self

    async def events(self) -> AsyncIterator[Any]:
        for event in self._events:
            yield event
            await asyncio.sleep(0)

    async def ack(self, event: Any) -> None:
        self.acked.append(event)


class Table:
    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)


def _done() -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


class Processor:
    """Keys starting with ``bad`` fail validation; the others map to themselves."""

    def __init__(self) -> None:
        self.seen: list[tuple[bytes, bytes]] = []

    def process(self, key: bytes, value: bytes, headers: Any) -> Output | Failure:
        self.seen.append((key, value))
        if key.startswith(b"bad"):
            return Failure("validate", ValidationError("currency", "known currency", "XYZ"))
        return Output(key, value, [], value.decode())


def event(partition: int, offset: int, key: bytes) -> Any:
    message = SimpleNamespace(
        topic=SOURCE,
        partition=partition,
        tp=TP(SOURCE, partition),
        offset=offset,
        key=key,
        value=f"{key.decode()}@{offset}".encode(),
        headers=[],
    )
    return SimpleNamespace(message=message)


@pytest.fixture
def stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FlowStage:
    config = tmp_path / "ferry.yaml"
    config.write_text(
        "registry: tests.flows\nflows:\n  parcels-to-ledger:\n    dlq:\n"
        "      {window: 10, min_events: 5, max_invalid_ratio: 0.5, max_consecutive: 4}\n",
        encoding="utf-8",
    )
    made = StreamsApp(load(config, environ={})).stages["parcels-to-ledger"]
    assert made.brake.settings == BRAKE
    made.table = Table()
    made.processor = Processor()  # type: ignore[assignment]
    sent: list[tuple[str, bytes | None, bytes]] = []
    paused: list[tuple[str, int]] = []

    async def send(
        topic: str, key: bytes | None, value: bytes, headers: Any, partition: int | None = None
    ) -> Any:
        sent.append((topic, key, value))
        return _done()

    monkeypatch.setattr(made, "_send", send)
    monkeypatch.setattr(made, "_pause", lambda topic, partition: paused.append((topic, partition)))
    made.sent, made.paused = sent, paused  # type: ignore[attr-defined]
    return made


async def test_one_bad_key_replayed_stops_its_partition_only(
    stage: FlowStage, caplog: pytest.LogCaptureFixture
) -> None:
    # Partition 1: the same bad order replayed 20 times in a row (then a good one, held back
    # with it); partitions 0 and 2: good events before, between and after. One brake for the
    # whole flow tripped at the fourth replay and stopped the worker.
    events = [event(0, i, f"good-{i}".encode()) for i in range(5)]
    events += [event(2, i, f"fine-{i}".encode()) for i in range(5)]
    events += [event(1, 100 + i, b"bad-order") for i in range(20)]
    for i in range(5, 20):
        events.append(event(0, i, f"good-{i}".encode()))
        events.append(event(2, i, f"fine-{i}".encode()))
    events.append(event(1, 120, b"good-after"))
    events.append(event(0, 20, b"good-last"))
    stream = FakeStream(events)
    with caplog.at_level(logging.ERROR, logger="streams.stage"):
        await stage.agent(stream)  # type: ignore[arg-type]  # returns: the worker goes on

    acked = [(e.message.partition, e.message.offset) for e in stream.acked]
    # Partitions 0 and 2: every event processed and acked, in order.
    assert [o for p, o in acked if p == 0] == list(range(21))
    assert [o for p, o in acked if p == 2] == list(range(20))
    # Partition 1: three dead letters acked; the fourth failure in a row tripped its brake,
    # so offset 103 and everything after it stay unacked (and unprocessed).
    assert [o for p, o in acked if p == 1] == [100, 101, 102]
    sent: list[tuple[str, bytes | None, bytes]] = stage.sent  # type: ignore[attr-defined]
    dead = [s for s in sent if s[0] == stage.dead_letters]
    assert len(dead) == 3
    processor: Processor = stage.processor  # type: ignore[assignment]
    assert (b"good-after", b"good-after@120") not in processor.seen
    assert set(stage.paused) == {(SOURCE, 1)}  # type: ignore[attr-defined]  # at the trip, and
    # again at each event of it still buffered (a rebalance may have resumed its fetching)
    assert stage.brake.tripped_partitions == [(SOURCE, 1)]
    [line] = [r for r in caplog.records if r.name == "streams.stage"]
    assert line.levelno == logging.ERROR
    text = line.getMessage()
    assert f"DLQ brake tripped on {SOURCE} partition 1" in text
    assert "offset 103" in text
