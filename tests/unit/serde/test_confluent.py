"""The Confluent wire format with a fixed id mapping."""

from __future__ import annotations

import pytest

from ferry.errors import DecodeError
from ferry.schemas import SchemaError, SchemaRegistry
from ferry.serde import ConfluentSerde, Serde, SingleObjectSerde

from .conftest import order_v1, order_v3, upsert_v2

IDS = {
    11: ("shop.order.created", 1),
    12: ("shop.order.created", 2),
    13: ("shop.order.created", 3),
    21: ("odoo.sale_order.upsert", 1),
    22: ("odoo.sale_order.upsert", 2),
}


@pytest.fixture
def serde(registry: SchemaRegistry) -> ConfluentSerde:
    return ConfluentSerde(IDS, registry)


def test_header_is_zero_and_big_endian_id(serde: ConfluentSerde) -> None:
    data = serde.encode("shop.order.created", order_v3())
    assert data[:5] == b"\x00\x00\x00\x00\x0d"  # 13: the latest version's id


def test_round_trip_and_resolution(serde: ConfluentSerde) -> None:
    as_protocol: Serde = serde
    assert as_protocol.decode(as_protocol.encode("odoo.sale_order.upsert", upsert_v2())).record == (
        upsert_v2()
    )
    decoded = serde.decode(serde.encode("shop.order.created", order_v1(), version=1))
    assert decoded.writer.version == 1
    assert decoded.record == {
        **order_v1(),
        "note": None,
        "tags": [],
        "taxes_included": False,
        "cancelled_at": None,
    }


def test_same_body_as_single_object(serde: ConfluentSerde, registry: SchemaRegistry) -> None:
    confluent = serde.encode("shop.order.created", order_v3())
    single = SingleObjectSerde(registry).encode("shop.order.created", order_v3())
    assert confluent[5:] == single[10:]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00", "too short for the Confluent wire format: 2 bytes"),
        (b"\xc3\x01\x00\x00\x00\x00", "magic c3, expected 00"),
        (b"\x00\x00\x00\x00\x63\x02", "unknown Confluent schema id 99"),
        (b"\x00\x00\x00\x00\x0c\x02", "corrupt or truncated"),
    ],
)
def test_bad_bytes_raise_decode_error(serde: ConfluentSerde, data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        serde.decode(data)


def test_type_without_an_id_cannot_be_encoded(registry: SchemaRegistry) -> None:
    serde = ConfluentSerde({11: ("shop.order.created", 1)}, registry)
    with pytest.raises(SchemaError, match=r"shop\.order\.created/v3: has no Confluent schema id"):
        serde.encode("shop.order.created", order_v3())


def test_mapping_errors(registry: SchemaRegistry) -> None:
    with pytest.raises(SchemaError, match="unknown schema version"):
        ConfluentSerde({1: ("shop.order.created", 9)}, registry)
    with pytest.raises(SchemaError, match="mapped to two schema ids"):
        ConfluentSerde({1: ("shop.order.created", 1), 2: ("shop.order.created", 1)}, registry)
    with pytest.raises(SchemaError, match="32-bit"):
        ConfluentSerde({-1: ("shop.order.created", 1)}, registry)
