"""The streams app builds one agent and one change-only table per enabled flow (no broker)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ferry.registry import load
from streams.app import StreamsApp
from tests.support.flows import shop_orders_alone


def test_one_agent_and_one_table_per_enabled_flow(tmp_path: Path) -> None:
    config = tmp_path / "ferry.yaml"
    config.write_text(
        "registry: tests.flows\n"
        "flows:\n"
        "  shop-orders-to-odoo:\n    use: streams.flows.shop_orders:FLOW\n    partitions: 6\n"
        "  parcels-to-ledger:\n    dlq: {max_consecutive: 3}\n",
        encoding="utf-8",
    )
    registry = load(config, environ={})
    streams = StreamsApp(registry)
    assert sorted(streams.stages) == ["parcels-to-ledger", "shop-orders-to-odoo"]
    agents = {name: agent.channel.get_topic_name() for name, agent in streams.app.agents.items()}
    assert agents == {
        "streams.parcels-to-ledger": "src.carrier.parcels",
        "streams.shop-orders-to-odoo": "src.shop.orders",
    }
    tables = {t.changelog_topic.get_topic_name(): t.partitions for t in streams.app.tables.values()}
    assert tables == {
        "ferry.streams.parcels-to-ledger.last-sent": 3,
        "ferry.streams.shop-orders-to-odoo.last-sent": 6,
    }
    assert streams.stages["parcels-to-ledger"].brake.settings.max_consecutive == 3
    assert streams.stages["shop-orders-to-odoo"].brake.settings == registry.settings.dlq
    assert streams.stages["shop-orders-to-odoo"].dead_letters == "dlq.src.shop.orders"


def test_a_disabled_flow_gets_no_agent(tmp_path: Path) -> None:
    config = tmp_path / "ferry.yaml"
    config.write_text(
        "registry: tests.flows\n"
        "flows:\n"
        "  shop-orders-to-odoo:\n    use: streams.flows.shop_orders:FLOW\n"
        "  parcels-to-ledger:\n    enabled: false\n",
        encoding="utf-8",
    )
    streams = StreamsApp(load(config, environ={}))
    assert list(streams.stages) == ["shop-orders-to-odoo"]
    assert list(streams.app.agents) == ["streams.shop-orders-to-odoo"]


async def test_settling_an_output_hands_back_its_changelog_delivery(tmp_path: Path) -> None:
    """The event's ack waits for this delivery: the table's record must reach Kafka first. It
    goes to the table's changelog, in the event's partition."""
    import asyncio
    from types import SimpleNamespace

    from streams.processor import Output
    from streams.stage import Pending

    config = tmp_path / "ferry.yaml"
    config.write_text("registry: tests.flows\n", encoding="utf-8")
    stage = StreamsApp(load(config, environ={})).stages["parcels-to-ledger"]
    delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    sent: list[tuple[str, bytes | None, bytes, int | None]] = []

    async def send(
        topic: str, key: bytes | None, value: bytes, headers: Any, partition: int | None = None
    ) -> Any:
        sent.append((topic, key, value, partition))
        return delivery

    stage._send = send  # type: ignore[method-assign]
    stage.table = SimpleNamespace(data={})
    event: Any = SimpleNamespace(message=SimpleNamespace(partition=2, topic="t", offset=7))
    pending = Pending(event, 0.0, output=Output(b"k", b"v", [], "d1"), digest=b"d1")
    assert await stage._settle(pending) is delivery
    assert sent == [("ferry.streams.parcels-to-ledger.last-sent", b"k", b"d1", 2)]
    assert stage.table.data == {b"k": b"d1"}
    dead = Pending(event, 0.0)
    assert await stage._settle(dead) is None  # nothing remembered: nothing to wait for


def test_the_group_session_and_the_linger_come_from_the_streams_settings(tmp_path: Path) -> None:
    settings = (
        "streams:\n  session_timeout_s: 12\n  heartbeat_interval_s: 2\n  producer_linger_ms: 35\n"
    )
    conf = StreamsApp(shop_orders_alone(tmp_path, settings)).app.conf
    assert (conf.broker_session_timeout, conf.broker_heartbeat_interval) == (12.0, 2.0)
    assert conf.producer_linger == 0.035


def test_faust_keeps_its_data_directory_out_of_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tables live in memory; faust's data directory (``tables/``) must not appear beside the
    project, where ``ferry up`` and the tests run."""
    monkeypatch.chdir(tmp_path)
    app = StreamsApp(shop_orders_alone(tmp_path), app_id="ferry-streams-datadir-test").app
    assert tmp_path not in Path(app.conf.datadir).resolve().parents
    assert Path(app.conf.datadir).name == "ferry-streams-datadir-test-data"
    assert list(tmp_path.iterdir()) == [tmp_path / "ferry.yaml"]


def test_a_heartbeat_slower_than_a_third_of_the_session_is_refused() -> None:
    import pytest
    from pydantic import ValidationError

    from ferry.settings import StreamsSettings

    with pytest.raises(ValidationError, match="heartbeat_interval_s: must be at most a third"):
        StreamsSettings(session_timeout_s=6, heartbeat_interval_s=3)


def test_the_consumer_seeks_uncommitted_partitions_to_their_beginning(tmp_path: Path) -> None:
    """faust's seek after a rebalance goes through ``streams.seeking`` (see its tests on Kafka)."""
    consumer: Any = StreamsApp(shop_orders_alone(tmp_path)).app.consumer
    thread = consumer._thread
    assert thread.seek_to_committed.__module__ == "streams.seeking"


async def test_skipped_offsets_are_counted_read_from_kafka_and_handled(
    tmp_path: Path, caplog: Any
) -> None:
    """faust drops an event it fetched while its flow was suspended (a chaos run lost one order
    so): the stage sees the hole in the offsets it is given, reads the range from Kafka itself
    and handles what it holds before the event that showed the hole; offsets with no record
    count as acked (the range reader itself is tested on Kafka)."""
    from aiokafka import ConsumerRecord
    from faust.types import TP

    registry = load(environ={})
    app = StreamsApp(registry)
    stage = app.stages["shop-orders-to-odoo"]
    held = {(2, 7729), (0, 102)}  # what Kafka holds in the ranges asked for
    asked: list[tuple[int, int, int]] = []
    handled: list[tuple[int, int, str]] = []

    async def read_range(
        topic: str, partition: int, start: int, end: int
    ) -> list[ConsumerRecord[bytes, bytes]]:
        asked.append((partition, start, end))
        return [
            ConsumerRecord(topic, partition, o, 1_700_000_000_000, 0, b"k", b"v", None, 1, 1, ())
            for o in range(start, end + 1)
            if (partition, o) in held
        ]

    async def process(event: Any, window: Any) -> None:
        handled.append((event.message.partition, event.message.offset, type(event).__name__))

    stage._read_range = read_range
    stage._process = process  # type: ignore[method-assign]

    async def delivered(partition: int, offset: int, generation: int = 2) -> None:
        message = SimpleNamespace(
            topic="src.shop.orders",
            partition=partition,
            offset=offset,
            generation_id=generation,
            tp=TP("src.shop.orders", partition),
        )
        await stage.handle(SimpleNamespace(message=message), window=None)  # type: ignore[arg-type]

    for offset in (7727, 7728, 7730):  # 7729 never came
        await delivered(2, offset)
    await delivered(1, 10)
    await delivered(1, 50, generation=3)  # another generation: the partition was elsewhere
    await delivered(0, 100)
    await delivered(0, 104)  # 101..103 never came; Kafka holds only 102
    assert asked == [(2, 7729, 7729), (0, 101, 103)]
    assert handled == [
        (2, 7727, "SimpleNamespace"),
        (2, 7728, "SimpleNamespace"),
        (2, 7729, "Refilled"),
        (2, 7730, "SimpleNamespace"),
        (1, 10, "SimpleNamespace"),
        (1, 50, "SimpleNamespace"),
        (0, 100, "SimpleNamespace"),
        (0, 102, "Refilled"),
        (0, 104, "SimpleNamespace"),
    ]
    skipped = {
        p: app.metrics.registry.get_sample_value(
            "ferry_offsets_skipped_total",
            {"service": "streams", "topic": "src.shop.orders", "partition": str(p)},
        )
        for p in (0, 1, 2)
    }
    assert skipped == {0: 3.0, 1: None, 2: 1.0}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2
    assert "src.shop.orders partition 2: offsets 7729..7729 were skipped" in warnings[0]
    assert "read from Kafka, 1 of them hold events" in warnings[0]
    consumer: Any = app.app.consumer
    gaps = consumer._gap[TP("src.shop.orders", 0)]
    assert sorted((i.begin, i.end) for i in gaps) == [(101, 102), (103, 104)]


async def test_offsets_faust_passed_are_found_while_idle_and_only_unhandled_ones_handled(
    caplog: Any,
) -> None:
    """Partition 2's commit waits at 10: faust gave 11..19 before its seek set its read
    offset back to 10, and 10 never came. Partition 0 is being revoked (its highwater
    raises); partition 1's head is in flight. Two idle checks name 2's range; the stage reads
    it and handles 10 alone (11..19 were acked or are in flight: 14 and 16), and counts it."""
    from aiokafka import ConsumerRecord
    from faust.types import TP

    from streams.window import AckWindow

    app = StreamsApp(load(environ={}))
    stage = app.stages["shop-orders-to-odoo"]
    topic = "src.shop.orders"
    consumer: Any = app.app.consumer
    tps = {p: TP(topic, p) for p in (0, 1, 2)}
    consumer.assignment = lambda: {*tps.values(), TP("ferry.streams.x.last-sent", 2)}
    highwater = {tps[1]: 8, tps[2]: 20}  # partition 0 left the assignment: highwater raises
    consumer.highwater = lambda tp: highwater[tp]
    consumer._committed_offset.update({tps[0]: 5, tps[1]: 3, tps[2]: 10})
    consumer._read_offset.update({tps[0]: 4, tps[1]: 7, tps[2]: 10})
    consumer._acked_index[tps[2]] = {o for o in range(11, 20) if o not in (14, 16)}
    app.app.consumer_generation_id = 4
    for partition, last in ((1, 7), (2, 19)):
        stage._holes.delivered(partition, 4, last, None)

    def in_flight(partition: int, offset: int) -> Any:
        message = SimpleNamespace(partition=partition, offset=offset)
        return SimpleNamespace(event=SimpleNamespace(message=message))

    async def no_settle(item: Any) -> None:
        return None

    window: AckWindow[Any] = AckWindow(10, no_settle)
    recorded: AckWindow[Any] = AckWindow(10, no_settle)  # sent, its changelog record not yet
    await window.put(in_flight(1, 3), None)
    await window.put(in_flight(2, 14), None)
    await recorded.put(in_flight(2, 16), None)
    asked: list[tuple[int, int, int]] = []
    handled: list[tuple[int, int]] = []

    async def read_range(t: str, partition: int, start: int, end: int) -> list[Any]:
        asked.append((partition, start, end))
        return [
            ConsumerRecord(t, partition, o, 1_700_000_000_000, 0, b"k", b"v", None, 1, 1, ())
            for o in range(start, end + 1)
        ]

    async def process(event: Any, window: Any) -> None:
        handled.append((event.message.partition, event.message.offset))

    stage._read_range = read_range
    stage._process = process  # type: ignore[method-assign]
    assert stage._passed_holes((window, recorded)) == []  # seen once: not yet
    holes = stage._passed_holes((window, recorded))
    assert [(tp.partition, h.start, h.end) for tp, h in holes] == [(2, 10, 19)]
    for tp, hole in holes:
        await stage._fill_passed(tp, hole, (window, recorded))
    assert asked == [(2, 10, 10)]
    assert handled == [(2, 10)]
    assert stage._holes.last(2, 4) == 19  # the fill was behind what was given
    skipped = app.metrics.registry.get_sample_value(
        "ferry_offsets_skipped_total", {"service": "streams", "topic": topic, "partition": "2"}
    )
    assert skipped == 1.0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "src.shop.orders partition 2: offsets 10..10 were never given to flow "
        "shop-orders-to-odoo (faust passed them; the partition's commit waited at the first), "
        "1 of them not handled; read from Kafka, 1 of those hold events, handled now"
    ]
