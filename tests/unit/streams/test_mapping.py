from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ferry.errors import MappingError
from ferry.serde import SingleObjectSerde
from streams.flows.shop_orders import FLOW
from streams.flows.shop_orders.mapping import external_id, shop_order_to_sale_order

from .orders import CREATED, UPDATED, order


def test_external_id_and_reference() -> None:
    mapped = shop_order_to_sale_order(order())
    assert mapped["external_id"] == "ferry.shop_order_1001" == external_id("1001")
    assert mapped["client_order_ref"] == "#1001"


def test_reference_falls_back_to_the_order_id() -> None:
    assert shop_order_to_sale_order(order(order_name=""))["client_order_ref"] == "1001"


def test_partner_from_customer_and_shipping_address() -> None:
    assert shop_order_to_sale_order(order())["partner"] == {
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "street": "1 Analytical Street",
        "street2": None,
        "city": "London",
        "zip": "N1 9GU",
        "country_code": "GB",
    }


def test_partner_name_with_only_one_name_part() -> None:
    record = order()
    record["customer"]["first_name"] = None
    assert shop_order_to_sale_order(record)["partner"]["name"] == "Lovelace"


def test_partner_name_falls_back_to_the_address_name_then_email() -> None:
    record = order()
    record["customer"].update(first_name=None, last_name=" ")
    record["shipping_address"]["name"] = "A. L."
    assert shop_order_to_sale_order(record)["partner"]["name"] == "A. L."
    record["shipping_address"] = None
    partner = shop_order_to_sale_order(record)["partner"]
    assert partner["name"] == "ada@example.com"
    assert [partner[k] for k in ("street", "street2", "city", "zip", "country_code")] == [None] * 5


def test_currency_dates_source_and_confirm() -> None:
    mapped = shop_order_to_sale_order(order())
    assert mapped["currency_code"] == "EUR"
    assert mapped["date_order"] == CREATED
    assert mapped["source_updated_at"] == UPDATED
    assert mapped["source_system"] == "shop"
    assert mapped["confirm"] is True


def test_order_lines() -> None:
    lines = shop_order_to_sale_order(order())["order_lines"]
    assert lines == [
        {
            "default_code": "MUG-001",
            "name": "Mug",
            "product_uom_qty": 2.0,
            "price_unit": Decimal("12.5000"),
        },
        {
            "default_code": "TEE.M_BLUE",
            "name": "T-shirt",
            "product_uom_qty": 1.0,
            "price_unit": Decimal("19.9900"),
        },
    ]
    assert isinstance(lines[0]["product_uom_qty"], float)
    assert isinstance(lines[0]["price_unit"], Decimal)


def test_price_is_exact_with_four_places() -> None:
    record = order()
    record["lines"][0]["unit_price"] = Decimal("0.1")
    assert shop_order_to_sale_order(record)["order_lines"][0]["price_unit"] == Decimal("0.1000")
    assert str(shop_order_to_sale_order(record)["order_lines"][0]["price_unit"]) == "0.1000"


def test_the_mapped_record_fits_the_target_schema() -> None:
    serde = SingleObjectSerde()
    mapped = shop_order_to_sale_order(order())
    data = serde.encode("odoo.sale_order.upsert", mapped)
    decoded = serde.decode(data)
    assert decoded.event_type == "odoo.sale_order.upsert"
    assert decoded.record == mapped


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"order_id": ""}, "order_id"),
        ({"currency": None}, "currency"),
        ({"lines": []}, "lines"),
        ({"customer": None}, "customer"),
        ({"created_at": None}, "created_at"),
        ({"shipping_address": "Main St"}, "shipping_address"),
    ],
)
def test_mapping_failures_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(MappingError) as caught:
        shop_order_to_sale_order(order(**change))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_a_missing_key_is_named() -> None:
    record = order()
    del record["updated_at"]
    with pytest.raises(MappingError, match="updated_at: missing") as caught:
        shop_order_to_sale_order(record)
    assert caught.value.field == "updated_at"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"sku": ""}, "lines[1].sku"),
        ({"title": None}, "lines[1].title"),
        ({"quantity": "2"}, "lines[1].quantity"),
        ({"unit_price": 1.5}, "lines[1].unit_price"),
        ({"unit_price": Decimal("1.00001")}, "lines[1].unit_price"),
        ({"unit_price": Decimal("1e15")}, "lines[1].unit_price"),
        ({"unit_price": Decimal("NaN")}, "lines[1].unit_price"),
    ],
)
def test_line_failures_name_the_field(line: dict[str, Any], field: str) -> None:
    record = order()
    record["lines"][1].update(line)
    with pytest.raises(MappingError) as caught:
        shop_order_to_sale_order(record)
    assert caught.value.field == field


def test_customer_without_email_cannot_be_a_partner() -> None:
    record = order()
    record["customer"]["email"] = None
    with pytest.raises(MappingError) as caught:
        shop_order_to_sale_order(record)
    assert caught.value.field == "customer.email"


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(MappingError) as caught:
        shop_order_to_sale_order(order(created_at=CREATED.replace(tzinfo=None)))
    assert caught.value.field == "created_at"


def test_the_flow_declares_its_types_entity_and_mapping() -> None:
    assert FLOW.source.event_type == "shop.order.created"
    assert FLOW.target.event_type == "odoo.sale_order.upsert"
    assert (FLOW.source.topic, FLOW.target.topic) == ("src.shop.orders", "sink.odoo.sale_orders")
    assert (FLOW.entity, FLOW.owner, FLOW.version_field) == (
        "sale_order",
        "odoo",
        "source_updated_at",
    )
    assert FLOW.map is shop_order_to_sale_order


def test_a_cancelled_order_is_cancelled_in_odoo_not_confirmed() -> None:
    assert (shop_order_to_sale_order(order())["confirm"], order().get("cancelled_at")) == (
        True,
        None,
    )
    mapped = shop_order_to_sale_order(order(cancelled_at=UPDATED))
    assert (mapped["confirm"], mapped["cancel"]) == (False, True)
