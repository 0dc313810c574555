from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from ferry.envelope import CloudEvent, child_traceparent, deterministic_id, header, new_traceparent
from ferry.errors import DecodeError


def test_deterministic_id_is_stable_and_distinguishes_inputs() -> None:
    assert deterministic_id("shop", "delivery-1") == deterministic_id("shop", "delivery-1")
    assert deterministic_id("shop", "delivery-1") != deterministic_id("shop", "delivery-2")
    assert deterministic_id("shop", "a", "b") != deterministic_id("shop", "ab")


def test_deterministic_id_is_the_uuid5_of_source_and_parts() -> None:
    # Fixed vectors: ids already on the bus must not change with the implementation.
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "https://ferry.dev/ce_id")
    for source, parts in [("shop", ("delivery-1",)), ("ferry/streams/x", ("t", "é✓🚲")), ("", ())]:
        expected = str(uuid.uuid5(namespace, "\x1f".join((source, *parts))))
        assert deterministic_id(source, *parts) == expected
    assert deterministic_id("shop", "order", "1") == "1d1d9911-5101-562d-b615-0175b8a6f8f5"


def test_headers_round_trip() -> None:
    event = CloudEvent(
        id="id-1",
        source="ferry/gateway/shop",
        type="shop.order.created",
        subject="shop:order:42",
        time=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    )
    headers = event.to_headers()
    names = [k for k, _ in headers]
    assert names == [
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "ce_subject",
        "content-type",
        "traceparent",
    ]
    assert header(headers, "ce_time") == "2026-01-02T03:04:05.678Z"
    assert header(headers, "content-type") == "application/avro"
    assert CloudEvent.from_headers(headers) == event


def test_derive_keeps_the_trace_and_is_deterministic() -> None:
    event = CloudEvent(id="id-1", source="s", type="t", subject="shop:order:1")
    first = event.derive(type="odoo.sale_order.upsert", source="ferry/streams/x")
    second = event.derive(type="odoo.sale_order.upsert", source="ferry/streams/x")
    assert first.id == second.id != event.id
    assert first.traceparent.split("-")[1] == event.traceparent.split("-")[1]
    assert first.traceparent.split("-")[2] != event.traceparent.split("-")[2]
    assert first.subject == "shop:order:1"


def test_derive_keeps_the_source_events_time() -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    event = CloudEvent(id="id-1", source="s", type="t", subject="shop:order:1", time=moment)
    derived = event.derive(type="odoo.sale_order.upsert", source="ferry/streams/x")
    assert derived.time == moment
    assert CloudEvent.from_headers(derived.to_headers()).time == moment


def test_derived_headers_are_those_of_derive_with_the_time_carried_over() -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    event = CloudEvent(id="id-1", source="s", type="t", subject="shop:order:1", time=moment)
    expected = event.derive(type="odoo.sale_order.upsert", source="ferry/streams/x").to_headers()
    for received in (None, b"2026-03-04T05:06:07.890Z"):
        got = event.derived_headers(
            type="odoo.sale_order.upsert", source="ferry/streams/x", time_header=received
        )
        assert [k for k, _ in got] == [k for k, _ in expected]
        assert got[:-1] == expected[:-1]  # all but the traceparent (a new span id each)
        trace = dict(got)["traceparent"].decode().split("-")
        assert trace[1] == event.traceparent.split("-")[1]
        assert trace[2] != event.traceparent.split("-")[2]
    # As received: the same moment spelled with an offset stays spelled so.
    spelled = b"2026-03-04T07:06:07.890+02:00"
    carried = event.derived_headers(type="x", source="y", time_header=spelled)
    assert dict(carried)["ce_time"] == spelled
    assert CloudEvent.from_headers(carried).time == moment


def test_missing_or_bad_headers_are_decode_errors() -> None:
    with pytest.raises(DecodeError, match="ce_id is missing"):
        CloudEvent.from_headers([("ce_source", b"s"), ("ce_type", b"t")])
    with pytest.raises(DecodeError, match="ce_time"):
        CloudEvent.from_headers(
            [("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t"), ("ce_time", b"yesterday")]
        )


def test_trace_and_span_ids_are_well_formed_and_do_not_repeat() -> None:
    parents = [new_traceparent() for _ in range(2000)]
    assert all(re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", p) for p in parents)
    assert len({p.split("-")[1] for p in parents}) == 2000
    children = [child_traceparent(parents[0]) for _ in range(2000)]
    assert {c.split("-")[1] for c in children} == {parents[0].split("-")[1]}
    assert len({c.split("-")[2] for c in children}) == 2000
