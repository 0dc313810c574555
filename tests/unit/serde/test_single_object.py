"""Single-object encoding: layout, round trips, schema resolution, and every way decoding fails."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ferry.errors import DecodeError, ValidationError
from ferry.schemas import SchemaError, SchemaRegistry
from ferry.serde import SINGLE_OBJECT_MAGIC, Serde, SingleObjectSerde

from .conftest import order_v1, order_v3, upsert_v2


@pytest.fixture
def serde(registry: SchemaRegistry) -> SingleObjectSerde:
    return SingleObjectSerde(registry)


def test_is_a_serde(serde: SingleObjectSerde) -> None:
    as_protocol: Serde = serde
    assert as_protocol.content_type == "application/avro"


def test_header_is_magic_and_little_endian_fingerprint_of_the_latest_schema(
    serde: SingleObjectSerde, registry: SchemaRegistry
) -> None:
    data = serde.encode("shop.order.created", order_v3())
    latest = registry.latest("shop.order.created")
    assert data[:2] == b"\xc3\x01" == SINGLE_OBJECT_MAGIC
    assert int.from_bytes(data[2:10], "little") == latest.fingerprint


def test_order_round_trip_keeps_decimals_and_aware_timestamps(serde: SingleObjectSerde) -> None:
    record = order_v3()
    decoded = serde.decode(serde.encode("shop.order.created", record))
    assert decoded.event_type == "shop.order.created"
    assert decoded.writer.version == 3
    assert decoded.record == record
    line = decoded.record["lines"][0]
    assert isinstance(line["unit_price"], Decimal)
    assert line["unit_price"] == Decimal("199.99")
    assert decoded.record["totals"]["total"] == Decimal("99999999999999.9999")
    created = decoded.record["created_at"]
    assert created.utcoffset() == timedelta(0)
    assert created == datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)


def test_upsert_round_trip(serde: SingleObjectSerde) -> None:
    record = upsert_v2()
    decoded = serde.decode(serde.encode("odoo.sale_order.upsert", record))
    assert decoded.event_type == "odoo.sale_order.upsert"
    assert decoded.record == record


def test_timestamps_in_other_zones_are_the_same_instant(serde: SingleObjectSerde) -> None:
    record = order_v3()
    cest = timezone(timedelta(hours=2))
    record["created_at"] = datetime(2024, 5, 1, 14, 30, 15, 123000, tzinfo=cest)
    decoded = serde.decode(serde.encode("shop.order.created", record))
    assert decoded.record["created_at"] == datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)


def test_v1_writer_is_resolved_to_the_latest_reader_with_defaults(
    serde: SingleObjectSerde,
) -> None:
    data = serde.encode("shop.order.created", order_v1(), version=1)
    decoded = serde.decode(data)
    assert decoded.writer.version == 1
    assert decoded.record == {
        **order_v1(),
        "note": None,
        "tags": [],
        "taxes_included": False,
        "cancelled_at": None,
    }


def test_a_given_reader_version_is_used(serde: SingleObjectSerde) -> None:
    data = serde.encode("shop.order.created", order_v3())
    decoded = serde.decode(data, reader_version=1)
    assert decoded.writer.version == 3
    assert decoded.record == order_v1()


def test_missing_optional_parts_take_their_defaults(serde: SingleObjectSerde) -> None:
    record = order_v3()
    del record["note"], record["tags"], record["shipping_address"]
    record["customer"] = {}
    decoded = serde.decode(serde.encode("shop.order.created", record))
    assert decoded.record["customer"] == {"email": None, "first_name": None, "last_name": None}
    assert decoded.record["shipping_address"] is None
    assert decoded.record["tags"] == []


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda d: b"", "too short for Avro single-object encoding: 0 bytes"),
        (lambda d: d[:9], "too short"),
        (lambda d: b"\x00" + d[1:], "magic 0001, expected c301"),
        (lambda d: b'{"order_id": 1}', "magic 7b22, expected c301"),
        (lambda d: d[:2] + bytes(8) + d[10:], "unknown writer schema fingerprint 0000000000000000"),
        (lambda d: d[:10], "shop.order.created/v3: corrupt or truncated Avro body (0 bytes)"),
        (lambda d: d[:-5], "corrupt or truncated"),
        (lambda d: d[:40], "corrupt or truncated"),
        (lambda d: d + b"\x00", "1 trailing bytes after the Avro body"),
        (lambda d: d[:10] + b"\xff" * 30, "corrupt or truncated"),
    ],
)
def test_bad_bytes_raise_decode_error(
    serde: SingleObjectSerde, mangle: Callable[[bytes], bytes], message: str
) -> None:
    data = serde.encode("shop.order.created", order_v3())
    with pytest.raises(DecodeError, match=re.escape(message)):
        serde.decode(mangle(data))


def test_every_truncation_is_a_decode_error(serde: SingleObjectSerde) -> None:
    data = serde.encode("shop.order.created", order_v3())
    for cut in range(len(data)):
        with pytest.raises(DecodeError):
            serde.decode(data[:cut])


def test_every_single_byte_corruption_decodes_or_raises_decode_error(
    serde: SingleObjectSerde,
) -> None:
    data = serde.encode("shop.order.created", order_v3())
    for i in range(10, len(data)):
        for value in (0x00, 0x7F, 0x80, 0xFF):
            corrupt = data[:i] + bytes([value]) + data[i + 1 :]
            with contextlib.suppress(DecodeError):
                serde.decode(corrupt)


def test_naive_timestamps_are_refused(serde: SingleObjectSerde) -> None:
    record = order_v3()
    record["updated_at"] = datetime(2024, 5, 1, 12, 0)
    with pytest.raises(ValidationError, match="updated_at: timezone-aware datetime") as info:
        serde.encode("shop.order.created", record)
    assert info.value.field == "updated_at"


def test_a_record_that_does_not_fit_names_the_field(serde: SingleObjectSerde) -> None:
    record = order_v3()
    record["lines"][1]["quantity"] = "two"
    with pytest.raises(ValidationError, match=r"does not fit shop\.order\.created/v3") as info:
        serde.encode("shop.order.created", record)
    assert info.value.field == "OrderLine.quantity"
    assert info.value.value == "two"


def test_a_decimal_finer_than_the_scale_is_refused(serde: SingleObjectSerde) -> None:
    record = order_v3()
    record["totals"]["tax"] = Decimal("0.00001")
    with pytest.raises(ValidationError, match="Scale"):
        serde.encode("shop.order.created", record)


def test_unknown_event_type_on_encode(serde: SingleObjectSerde) -> None:
    with pytest.raises(SchemaError, match="unknown event type"):
        serde.encode("shop.refund.created", {})


def test_unknown_reader_version_is_a_decode_error(serde: SingleObjectSerde) -> None:
    data = serde.encode("shop.order.created", order_v3())
    with pytest.raises(DecodeError, match="no reader schema"):
        serde.decode(data, reader_version=7)


def test_accepts_memoryview_and_bytearray(serde: SingleObjectSerde) -> None:
    data = serde.encode("odoo.sale_order.upsert", upsert_v2())
    assert serde.decode(bytearray(data)).record == upsert_v2()
    assert serde.decode(memoryview(data)).record == upsert_v2()
