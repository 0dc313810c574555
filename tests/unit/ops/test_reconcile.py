"""Reconciliation's judgement: missing, different (state or lines), unexpected."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from consumers.odoo.reconcile import Expected, Found, judge
from ferry.errors import TransientError
from ferry.metrics import ServiceMetrics
from ferry.reconcile import Job, Mismatch, Report, run_every
from tests.support.odoo_orders import OdooOrders


def want(external_id: str, state: str = "sale", *lines: tuple[str, float, float]) -> Expected:
    record: Any = object()
    return Expected(external_id, state, tuple(sorted(lines)), record)


def test_each_kind_of_mismatch_is_named() -> None:
    line = ("SKU-001", 2.0, 149.0)
    expected = {
        "ferry.a": want("ferry.a", "sale", line),
        "ferry.b": want("ferry.b", "sale", line),
        "ferry.c": want("ferry.c", "cancel", line),
        "ferry.d": want("ferry.d", "sale", line),
    }
    found = {
        "ferry.a": Found("ferry.a", "sale", (line,)),  # in step
        "ferry.c": Found("ferry.c", "sale", (line,)),  # not cancelled
        "ferry.d": Found("ferry.d", "sale", (("SKU-001", 3.0, 149.0),)),  # another quantity
        "ferry.x": Found("ferry.x", "sale", (line,)),  # no source explains it
    }
    report = judge("f", expected, found, 1, all_of_target=True)
    kinds = [(m.kind, m.external_id) for m in report.mismatches]
    assert kinds == [
        ("missing", "ferry.b"),
        ("different", "ferry.c"),
        ("different", "ferry.d"),
        ("unexpected", "ferry.x"),
    ]
    assert "state sale, expected cancel" in report.mismatches[1].detail
    assert (report.checked, report.invalid) == (4, 1)
    scoped = judge("f", expected, found, 0, all_of_target=False)
    assert "unexpected" not in [m.kind for m in scoped.mismatches]


async def test_a_failed_run_keeps_the_last_counts_and_the_next_one_updates_them() -> None:
    flow: Any = SimpleNamespace(name="f")
    metrics = ServiceMetrics("sink")

    def gauge() -> float | None:
        return metrics.registry.get_sample_value(
            "ferry_reconcile_mismatches", {"service": "sink", "flow": "f", "kind": "missing"}
        )

    left: list[float | None] = []  # what the gauge said when each run began
    missing = {1: 1, 3: 2}  # run 2 fails; run 4 stops the schedule

    async def reconcile(job: Job) -> Report | None:
        left.append(gauge())
        run = len(left)
        if run == 2:
            raise TransientError("odoo", "connection refused")
        if run == 4:
            raise asyncio.CancelledError
        return Report(
            "f", 5, 0, [Mismatch("missing", f"ferry.{n}", "-") for n in range(missing[run])]
        )

    job = Job("127.0.0.1:1", flow, cast(Any, None), None)
    with pytest.raises(asyncio.CancelledError):
        await run_every(0.0, reconcile, job, metrics)
    assert left == [None, 1.0, 1.0, 2.0]


async def test_latest_records_gives_each_keys_latest_record_read_in_two_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first pass keeps an offset per key; the second gives the records at those offsets,
    so a record written between the passes is not given (it was not looked at)."""
    from datetime import UTC, datetime

    import ferry.reconcile

    def rec(partition: int, offset: int, key: bytes | None, ms: int = 2_000_000) -> Any:
        return SimpleNamespace(partition=partition, offset=offset, key=key, timestamp=ms)

    log = [
        rec(0, 0, b"a"),
        rec(0, 1, b"b"),
        rec(0, 2, b"a"),  # a's latest
        rec(0, 3, None),  # keyless: skipped
        rec(1, 0, b"c", ms=1_000_000),  # before `since` below
        rec(1, 1, b"b"),  # b on another partition too: the later (partition, offset) wins
    ]
    passes: list[int] = []

    async def records_of(kafka: Any, topic: str) -> Any:
        passes.append(len(passes))
        for record in log:
            yield record
        if len(passes) == 1:
            log.append(rec(0, 4, b"a"))  # written after the first pass read the topic

    monkeypatch.setattr(ferry.reconcile, "records_of", records_of)
    got = [
        (r.partition, r.offset) async for r in ferry.reconcile.latest_records("kafka:9092", "src.t")
    ]
    assert got == [(0, 2), (1, 0), (1, 1)]
    assert passes == [0, 1]
    since = datetime.fromtimestamp(1_500, UTC)  # 1,500,000 ms: c's only record is older
    log[:] = log[:6]
    passes.clear()
    got = [
        (r.partition, r.offset)
        async for r in ferry.reconcile.latest_records("kafka:9092", "src.t", since=since)
    ]
    assert got == [(0, 2), (1, 1)]


async def test_odoo_orders_are_read_a_chunk_at_a_time() -> None:
    """All of Ferry's orders in Odoo, 1,203 of them: ir.model.data is read by id after the last
    seen, CHUNK rows at a time, never in one answer; every order is found with its lines."""
    from consumers.odoo.reconcile import CHUNK, odoo_orders

    odoo = OdooOrders(1203, [("MUG-001", 2.0, 12.5)])
    found = await odoo_orders(cast(Any, odoo))
    assert len(found) == 1203
    assert found["ferry.shop_order_1202"] == Found(
        "ferry.shop_order_1202", "sale", (("MUG-001", 2.0, 12.5),)
    )
    reads = [limit for model, limit in odoo.calls if model == "ir.model.data"]
    assert reads == [CHUNK] * 3  # 500, 500, then 203: fewer than asked, the last


async def test_a_full_run_reads_order_details_only_of_the_orders_the_source_has(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1,000 orders in the source, 1,203 of Ferry's in Odoo: every external id is read (to find
    the 203 unexpected), but the state and lines only of the source's 1,000, a chunk at a time,
    so a full run never holds every order's details at once."""
    from aiokafka import ConsumerRecord

    import ferry.reconcile
    from consumers.odoo.reconcile import CHUNK, reconcile
    from ferry.registry import load
    from streams.flows.shop_orders import FLOW
    from tests.unit.streams.orders import order

    source, in_odoo = 1000, 1203
    serde = load(environ={}).serde()

    async def records_of(kafka: Any, topic: str) -> Any:
        for i in range(source):
            key = f"shop:order:o-{i}".encode()
            value = serde.encode(
                FLOW.source.event_type, order(order_id=f"o-{i}", order_name=f"#o-{i}")
            )
            yield ConsumerRecord(topic, i % 3, i // 3, 0, 0, key, value, None, 0, 0, ())

    monkeypatch.setattr(ferry.reconcile, "records_of", records_of)
    odoo = OdooOrders(in_odoo, [("MUG-001", 2.0, 12.5), ("TEE.M_BLUE", 1.0, 19.99)], prefix="o-")
    report = await reconcile(Job("kafka:9092", FLOW, serde, SimpleNamespace(odoo=odoo)))
    assert report is not None
    kinds = [m.kind for m in report.mismatches]
    assert (report.checked, report.invalid) == (source, 0)
    assert kinds == ["unexpected"] * (in_odoo - source)
    assert sorted(odoo.details_of) == [1000 + i for i in range(source)]  # the source's only
    assert len(odoo.details_of) == source  # each read once
    assert source > CHUNK
