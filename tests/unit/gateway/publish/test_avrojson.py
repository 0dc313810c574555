"""``data`` into records: any JSON gives a record or a DataError naming a field and a rule."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from producers.gateway.publish.avrojson import DataError, from_json, json_schema

SCHEMAS = Path(__file__).resolve().parents[4] / "schemas"
ORDER = json.loads((SCHEMAS / "shop.order.created" / "v3.avsc").read_text())

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
field_names = st.sampled_from([f["name"] for f in ORDER["fields"]])


def outcome(value: Any) -> dict[str, Any] | DataError:
    """The record, or the DataError (any other exception fails the test)."""
    try:
        return from_json(ORDER, value)
    except DataError as exc:
        return exc


def valid() -> dict[str, Any]:
    return {
        "order_id": "1",
        "order_name": "#1",
        "customer": {"email": "a@example.com"},
        "currency": "EUR",
        "lines": [{"sku": "SKU-001", "title": "Mug", "quantity": 2, "unit_price": "12.50"}],
        "totals": {"subtotal": "25", "tax": "0", "shipping": "0", "total": "25"},
        "created_at": "2026-12-01T08:00:00Z",
        "updated_at": "2026-12-01T09:00:00.5+02:00",
        "source_delivery_id": "d-1",
    }


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_any_json_value_is_a_record_or_a_data_error(value: Any) -> None:
    result = outcome(value)
    if isinstance(result, DataError):
        assert result.field
        assert result.rule


@settings(max_examples=400, deadline=None)
@given(field_names, json_values)
def test_any_value_in_any_field_is_converted_or_refused_by_name(name: str, value: Any) -> None:
    data = valid()
    data[name] = value
    result = outcome(data)
    if isinstance(result, DataError):
        assert str(result.field).split(".")[0].split("[")[0] == name
    else:
        fastavro.validate(result, fastavro.parse_schema(ORDER), raise_errors=True)


@settings(max_examples=300, deadline=None)
@given(
    st.decimals(
        min_value=Decimal("-99999999999999.9999"),
        max_value=Decimal("99999999999999.9999"),
        places=4,
    )
)
def test_every_decimal_within_the_schema_round_trips(price: Decimal) -> None:
    data = valid()
    data["lines"][0]["unit_price"] = str(price)
    assert from_json(ORDER, data)["lines"][0]["unit_price"] == price


@pytest.mark.parametrize(
    ("price", "accepted"),
    [
        ("12.5", True),
        ("-0.0001", True),
        ("1_000.00", False),
        ("١٢", False),
        (" 1", False),
        ("1.00001", False),
        ("123456789012345", False),
        ("1e3", True),
        ("1e9999", False),
    ],
)
def test_decimal_syntax_is_strict(price: str, accepted: bool) -> None:
    data = valid()
    data["lines"][0]["unit_price"] = price
    result = outcome(data)
    assert isinstance(result, dict) is accepted, str(result)
    if isinstance(result, DataError):
        assert result.field == "lines[0].unit_price"


@pytest.mark.parametrize(
    ("stamp", "accepted"),
    [
        ("2026-12-01T08:00:00Z", True),
        ("2026-12-01T08:00:00", False),
        ("0001-01-01T00:30:00+01:00", False),
        ("9999-12-31T23:59:59Z", True),
        ("1969-12-31T23:59:59Z", False),
        ("2026-13-01T00:00:00Z", False),
    ],
)
def test_timestamps_need_an_offset_and_a_year_from_1970_to_9999(stamp: str, accepted: bool) -> None:
    data = valid()
    data["created_at"] = stamp
    result = outcome(data)
    assert isinstance(result, dict) is accepted, str(result)
    if isinstance(result, DataError):
        assert result.field == "created_at"


def test_the_json_schema_requires_what_the_avro_schema_requires() -> None:
    described = json_schema(ORDER)
    required = {f["name"] for f in ORDER["fields"] if "default" not in f}
    assert set(described["required"]) == required
    assert (
        described["properties"]["lines"]["items"]["properties"]["quantity"]["maximum"] == 2**31 - 1
    )
