"""The compiled Avro reader and writer give exactly what fastavro gives, or step aside."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import fastavro
import pytest

from ferry.avro_compiled import FastPathMiss, compile_schema
from ferry.schemas import SchemaVersion, default_registry

SCHEMAS = list(default_registry())
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _value(schema: Any, named: dict[str, Any], rng: random.Random) -> Any:
    """A random value of ``schema`` that fastavro writes, edge cases often."""
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    if isinstance(schema, list):
        return _value(rng.choice(schema), named, rng)
    if isinstance(schema, dict):
        kind, logical = schema["type"], schema.get("logicalType")
        if logical == "decimal":
            scale = schema.get("scale", 0)
            exponent = -rng.randint(0, scale)
            room = schema["precision"] - scale - exponent  # digits that fit once scaled
            digits = rng.choice([0, 1, 3, room])
            unscaled = rng.randint(-(10**digits) + 1, 10**digits - 1)
            unscaled = rng.choice([unscaled, 127, 128, -128, -129, 255, 256, -256, 0])
            return Decimal(unscaled).scaleb(exponent)
        if logical in ("timestamp-millis", "timestamp-micros"):
            micros = rng.randint(-(2**50), 2**50)
            if logical == "timestamp-millis":
                micros -= micros % 1000
            zone = rng.choice([UTC, timezone(timedelta(hours=-5, minutes=-30))])
            return (EPOCH + timedelta(microseconds=micros)).astimezone(zone)
        if kind == "record":
            named[schema["name"]] = schema
            return {f["name"]: _value(f["type"], named, rng) for f in schema["fields"]}
        if kind == "array":
            return [_value(schema["items"], named, rng) for _ in range(rng.randint(0, 70))]
        if kind == "map":
            return {
                f"k{i}é": _value(schema["values"], named, rng) for i in range(rng.randint(0, 3))
            }
        if kind == "enum":
            return rng.choice(schema["symbols"])
        return _value(kind, named, rng)
    makers: dict[str, Callable[[], Any]] = {
        "null": lambda: None,
        "boolean": lambda: rng.random() < 0.5,
        "int": lambda: rng.choice([0, -1, 63, 64, -64, -65, 2**31 - 1, -(2**31)]),
        "long": lambda: rng.choice([0, 1, -1, 2**63 - 1, -(2**63), rng.randint(-(2**40), 2**40)]),
        "float": lambda: rng.choice([0.0, -1.5, 3.25]),
        "double": lambda: rng.choice([0.0, -0.0, 1e300, rng.random(), float("inf")]),
        "string": lambda: rng.choice(["", "a", "Grüße ✓ 🚲", "x" * 70, "\x00"]),
        "bytes": lambda: rng.randbytes(rng.choice([0, 1, 64])),
    }
    return makers[schema]()


def _fastavro_write(sv: SchemaVersion, record: Any) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, sv.parsed, record)
    return buf.getvalue()


@pytest.mark.parametrize("sv", SCHEMAS, ids=[sv.ref for sv in SCHEMAS])
def test_every_contract_compiles_and_round_trips_as_fastavro_does(sv: SchemaVersion) -> None:
    compiled = compile_schema(sv.parsed)
    assert compiled is not None
    rng = random.Random(sv.ref)
    for _ in range(300):
        record = _value(sv.parsed, {}, rng)
        expected = _fastavro_write(sv, record)
        out = bytearray(b"hdr")
        compiled.write(record, out)
        assert bytes(out[3:]) == expected
        read, end = compiled.read(b"hdr" + expected, 3)
        assert end == len(expected) + 3
        fast_read = fastavro.schemaless_reader(io.BytesIO(expected), sv.parsed, None)
        assert read == fast_read
        assert repr(read) == repr(fast_read)  # same types, same decimal exponents, same zones


def _order_schema() -> SchemaVersion:
    return default_registry().latest("shop.order.created")


def test_the_writer_reports_where_the_marked_field_is() -> None:
    schema = {
        "type": "record",
        "name": "M",
        "fields": [
            {"name": "a", "type": "string"},
            {"name": "v", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "b", "type": "long"},
        ],
    }
    compiled = compile_schema(fastavro.parse_schema(schema), mark="v")
    assert compiled is not None
    out = bytearray(b"\xc3\x01")
    at = EPOCH + timedelta(milliseconds=1)
    assert compiled.write({"a": "xy", "v": at, "b": 3}, out) == (5, 6)
    assert bytes(out) == b"\xc3\x01" + b"\x04xy" + b"\x02" + b"\x06"


@pytest.mark.parametrize(
    "value",
    [
        Decimal("0.00001"),  # more places than the scale: fastavro refuses it
        Decimal("NaN"),
        10,  # not a Decimal: fastavro writes it as it can or says why not
    ],
)
def test_a_value_it_is_not_sure_of_is_left_to_fastavro(value: Any) -> None:
    compiled = compile_schema(_order_schema().parsed)
    assert compiled is not None
    record = _value(_order_schema().parsed, {}, random.Random(1))
    record["totals"]["tax"] = value
    with pytest.raises(Exception) as caught:
        compiled.write(record, bytearray())
    assert caught.type in (FastPathMiss, TypeError, ValueError, ArithmeticError)


@pytest.mark.parametrize(
    "record_change",
    [
        {"created_at": datetime(2026, 1, 1)},  # naive
        {"lines": ()},  # a tuple, not a list
        {"order_id": b"bytes"},
        {"customer": {"email": None, "first_name": None}},  # a field missing
    ],
)
def test_other_types_and_missing_fields_miss(record_change: dict[str, Any]) -> None:
    compiled = compile_schema(_order_schema().parsed)
    assert compiled is not None
    record = _value(_order_schema().parsed, {}, random.Random(2)) | record_change
    with pytest.raises((FastPathMiss, KeyError, TypeError)):
        compiled.write(record, bytearray())


@pytest.mark.parametrize(
    "body",
    [
        b"",  # truncated at once
        b"\x80",  # a varint cut short
        b"\xff" * 11,  # a varint too long
        b"\x7f",  # a negative length
        b"\x02\x41\x02",  # a string then nothing
    ],
)
def test_a_corrupt_body_misses(body: bytes) -> None:
    compiled = compile_schema(_order_schema().parsed)
    assert compiled is not None
    with pytest.raises((FastPathMiss, IndexError, UnicodeDecodeError)):
        compiled.read(body, 0)


def test_a_boolean_byte_other_than_0_or_1_and_a_wide_decimal_miss() -> None:
    schema = {
        "type": "record",
        "name": "B",
        "fields": [
            {"name": "f", "type": "boolean"},
            {"name": "d", "type": {"type": "bytes", "logicalType": "decimal", "precision": 2}},
        ],
    }
    compiled = compile_schema(fastavro.parse_schema(schema))
    assert compiled is not None
    assert compiled.read(b"\x01\x02\x63", 0) == ({"f": True, "d": Decimal(99)}, 3)
    with pytest.raises(FastPathMiss):
        compiled.read(b"\x02\x02\x63", 0)
    with pytest.raises(FastPathMiss):  # 100 has 3 digits: fastavro would round it
        compiled.read(b"\x00\x02\x64", 0)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "record", "name": "U", "fields": [{"name": "u", "type": ["int", "string"]}]},
        {
            "type": "record",
            "name": "D",
            "fields": [{"name": "d", "type": {"type": "int", "logicalType": "date"}}],
        },
    ],
)
def test_what_it_does_not_cover_compiles_to_none(schema: dict[str, Any]) -> None:
    assert compile_schema(fastavro.parse_schema(schema)) is None
