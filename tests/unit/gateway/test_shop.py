from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ferry.envelope import deterministic_id
from ferry.errors import ValidationError
from ferry.serde import SingleObjectSerde
from producers.gateway.checks import parse_json
from producers.shop.webhook import (
    CE_SOURCE,
    EVENT_TYPE,
    convert_order,
    order_record,
)


def webhook() -> dict[str, Any]:
    return {
        "id": 820982911946154508,
        "name": "#1001",
        "email": "jon@example.com",
        "currency": "EUR",
        "created_at": "2024-05-02T10:15:30+02:00",
        "updated_at": "2024-05-02T10:16:00.123456+02:00",
        "subtotal_price": "59.80",
        "total_tax": "9.55",
        "total_price": "64.70",
        "total_shipping_price_set": {"shop_money": {"amount": "4.90", "currency_code": "EUR"}},
        "line_items": [
            {"id": 1, "sku": "SKU-001", "title": "Beans", "quantity": 2, "price": "24.90"},
            {"id": 2, "sku": "SKU-002", "title": "Mug", "quantity": 1, "price": "10"},
        ],
        "customer": {"first_name": "Jon", "last_name": "Snow", "email": "jon@example.com"},
        "shipping_address": {
            "name": "Jon Snow",
            "address1": "Castle Black 1",
            "address2": None,
            "city": "Berlin",
            "zip": "10115",
            "province": "BE",
            "country_code": "DE",
        },
        "note": "ring twice",
        "tags": "vip, gift ,",
    }


def test_record_has_decimal_money_and_aware_utc_timestamps() -> None:
    record = order_record(webhook(), delivery_id="d-1")
    assert record["order_id"] == "820982911946154508"
    assert record["order_name"] == "#1001"
    assert record["lines"][0] == {
        "line_id": "1",
        "sku": "SKU-001",
        "title": "Beans",
        "quantity": 2,
        "unit_price": Decimal("24.9000"),
    }
    assert record["lines"][1]["unit_price"] == Decimal("10")
    assert record["totals"] == {
        "subtotal": Decimal("59.80"),
        "tax": Decimal("9.55"),
        "shipping": Decimal("4.90"),
        "total": Decimal("64.70"),
    }
    assert record["created_at"] == datetime(2024, 5, 2, 8, 15, 30, tzinfo=UTC)
    # Avro keeps milliseconds: the record already equals what a reader decodes.
    assert record["updated_at"] == datetime(2024, 5, 2, 8, 16, 0, 123000, tzinfo=UTC)
    assert record["source_delivery_id"] == "d-1"
    assert record["tags"] == ["vip", "gift"]
    assert record["shipping_address"]["country_code"] == "DE"


def test_record_round_trips_through_the_serde() -> None:
    serde = SingleObjectSerde()
    record = order_record(webhook(), delivery_id="d-1")
    decoded = serde.decode(serde.encode(EVENT_TYPE, record))
    assert decoded.event_type == EVENT_TYPE
    assert decoded.record == record


def test_shipping_falls_back_to_shipping_lines_then_zero() -> None:
    body = webhook()
    del body["total_shipping_price_set"]
    body["shipping_lines"] = [{"price": "3.00"}, {"price": "1.95"}]
    assert order_record(body)["totals"]["shipping"] == Decimal("4.95")
    del body["shipping_lines"]
    assert order_record(body)["totals"]["shipping"] == Decimal("0")


def test_json_numbers_are_read_as_decimals_not_floats() -> None:
    body = parse_json(b'{"price": 0.1, "quantity": 2}')
    assert body == {"price": Decimal("0.1"), "quantity": 2}
    with pytest.raises(ValueError):
        parse_json(b'{"price": NaN}')


def test_content_rules_are_left_to_the_stream_stage() -> None:
    body = webhook()
    body["currency"] = "XXX"
    body["email"] = None
    body["customer"] = None
    body["line_items"][0]["quantity"] = -3
    body["line_items"][0]["sku"] = None
    body["shipping_address"]["country_code"] = "Germany"
    record = order_record(body)
    assert record["currency"] == "XXX"
    assert record["customer"]["email"] is None
    assert record["lines"][0]["quantity"] == -3
    assert record["lines"][0]["sku"] == ""
    assert record["shipping_address"]["country_code"] == "Germany"


def test_optional_parts_may_be_absent() -> None:
    body = webhook()
    for name in ("shipping_address", "note", "tags", "customer"):
        del body[name]
    record = order_record(body)
    assert record["shipping_address"] is None
    assert record["note"] is None
    assert record["tags"] == []
    assert record["customer"]["email"] == "jon@example.com"
    assert record["source_delivery_id"] == ""


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        node: Any = body
        parts = path.replace("[", ".").replace("]", "").split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        last = parts[-1]
        if value is _DELETE:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return change


_DELETE = object()

TYPE_ERRORS = [
    ("id", _DELETE, "id", "required"),
    ("id", True, "id", "integer or string id"),
    ("id", 1.5, "id", "integer or string id"),
    ("name", 1001, "name", "string"),
    ("currency", _DELETE, "currency", "required"),
    ("line_items", _DELETE, "line_items", "required"),
    ("line_items", {"a": 1}, "line_items", "list"),
    ("line_items[0]", "beans", "line_items[0]", "object"),
    ("line_items[0].quantity", "abc", "line_items[0].quantity", "integer"),
    ("line_items[1].quantity", 2.5, "line_items[1].quantity", "integer"),
    ("line_items[0].quantity", 2**31, "line_items[0].quantity", "32-bit integer"),
    ("line_items[0].quantity", _DELETE, "line_items[0].quantity", "required"),
    ("line_items[0].price", "abc", "line_items[0].price", "decimal string"),
    ("line_items[0].price", "Infinity", "line_items[0].price", "decimal string"),
    ("line_items[0].price", [1], "line_items[0].price", "decimal string"),
    ("line_items[0].price", "1.23456", "line_items[0].price", "at most 4 decimal places"),
    ("line_items[0].title", None, "line_items[0].title", "required"),
    ("line_items[0].sku", 17, "line_items[0].sku", "string"),
    ("total_price", "12,50", "total_price", "decimal string"),
    ("subtotal_price", "1e20", "subtotal_price", "at most 14 digits before the decimal point"),
    ("total_tax", _DELETE, "total_tax", "required"),
    (
        "total_shipping_price_set.shop_money.amount",
        "free",
        "total_shipping_price_set.shop_money.amount",
        "decimal string",
    ),
    ("created_at", "yesterday", "created_at", "ISO 8601 timestamp"),
    ("updated_at", "2024-05-02T10:16:00", "updated_at", "ISO 8601 timestamp with a UTC offset"),
    ("updated_at", 1714637760, "updated_at", "string"),
    ("customer", "jon", "customer", "object"),
    ("customer.email", 42, "customer.email", "string"),
    ("shipping_address.city", _DELETE, "shipping_address.city", "required"),
    ("shipping_address.zip", 10115, "shipping_address.zip", "string"),
    ("tags", [1], "tags[0]", "string"),
]


@pytest.mark.parametrize(("path", "value", "field", "rule"), TYPE_ERRORS)
def test_every_type_error_names_its_field_and_rule(
    path: str, value: Any, field: str, rule: str
) -> None:
    body = copy.deepcopy(webhook())
    _set(path, value)(body)
    with pytest.raises(ValidationError) as caught:
        order_record(body)
    assert (caught.value.field, caught.value.rule) == (field, rule)


def test_shipping_lines_errors_name_the_line() -> None:
    body = webhook()
    del body["total_shipping_price_set"]
    body["shipping_lines"] = [{"price": "1.00"}, {"price": "x"}]
    with pytest.raises(ValidationError) as caught:
        order_record(body)
    assert caught.value.field == "shipping_lines[1].price"


@pytest.mark.parametrize("payload", [None, [], "order", 1])
def test_a_body_that_is_not_an_object_is_refused(payload: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        order_record(payload)
    assert caught.value.field == "$"


def test_event_id_comes_from_the_delivery_id_when_present() -> None:
    order = convert_order(webhook(), delivery_id="delivery-42")
    assert order.event.id == deterministic_id("shop", "delivery-42")
    assert order.key == "shop:order:820982911946154508"
    assert order.event.subject == order.key
    assert (order.event.source, order.event.type) == (CE_SOURCE, EVENT_TYPE)


def test_event_id_without_delivery_id_derives_from_order_and_version() -> None:
    first = convert_order(webhook())
    again = convert_order(webhook())
    assert first.event.id == again.event.id
    assert first.event.id == deterministic_id(
        "shop", "order", "820982911946154508", "2024-05-02T08:16:00.123Z"
    )
    newer = webhook()
    newer["updated_at"] = "2024-05-02T10:17:00+02:00"
    assert convert_order(newer).event.id != first.event.id


def test_the_callers_trace_is_continued() -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    order = convert_order(webhook(), traceparent=parent)
    assert order.event.traceparent.startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert order.event.traceparent != parent
    assert convert_order(webhook()).event.traceparent.startswith("00-")


def test_taxes_included_is_carried_and_defaults_to_false() -> None:
    body = webhook()
    assert order_record(body)["taxes_included"] is False
    body["taxes_included"] = True
    assert order_record(body)["taxes_included"] is True
    body["taxes_included"] = "yes"
    with pytest.raises(ValidationError) as caught:
        order_record(body)
    assert caught.value.field == "taxes_included"
    assert caught.value.rule == "must be true or false"
