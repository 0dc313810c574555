"""The rules and mappings of the flows from Odoo to the shop, on fixed vectors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ferry.errors import ValidationError
from streams.flows.odoo_prices.rules import product_to_price, validate_product
from streams.flows.odoo_stock.rules import stock_to_inventory, validate_stock

AT = datetime(2026, 11, 2, 10, 0, 5, tzinfo=UTC)


def stock(**changes: Any) -> dict[str, Any]:
    record = {
        "product_id": 3,
        "default_code": "SKU-003",
        "warehouse": "WH",
        "free_qty": 7.5,
        "qty_available": 9.0,
        "write_uid": 6,
        "write_date": AT,
    }
    return record | changes


def product(**changes: Any) -> dict[str, Any]:
    record = {
        "product_id": 3,
        "action": "changed",
        "default_code": "SKU-003",
        "name": "Milk frother",
        "list_price": Decimal("39.0000"),
        "active": True,
        "write_uid": 6,
        "write_date": AT,
    }
    return record | changes


@pytest.mark.parametrize(
    ("free", "available"), [(7.5, 7), (0.0, 0), (-2.0, 0), (12.0, 12), (0.999, 0)]
)
def test_the_shop_gets_the_whole_free_quantity_never_below_zero(
    free: float, available: int
) -> None:
    validate_stock(stock(free_qty=free))
    assert stock_to_inventory(stock(free_qty=free)) == {
        "sku": "SKU-003",
        "available": available,
        "version": AT,
        "source_system": "odoo",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"default_code": None}, "default_code"),
        ({"default_code": "  "}, "default_code"),
        ({"free_qty": float("nan")}, "free_qty"),
        ({"qty_available": float("inf")}, "qty_available"),
    ],
)
def test_stock_rules_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_stock(stock(**change))
    assert caught.value.field == field


def test_a_changed_product_sets_its_price() -> None:
    validate_product(product())
    assert product_to_price(product()) == {
        "sku": "SKU-003",
        "price": Decimal("39.0000"),
        "version": AT,
        "source_system": "odoo",
    }


@pytest.mark.parametrize("action", ["archived", "deleted"])
def test_an_archived_or_deleted_product_says_nothing_about_a_price(action: str) -> None:
    record = product(action=action, default_code=None, list_price=None)
    validate_product(record)
    assert product_to_price(record) is None


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"default_code": ""}, "default_code", "a product needs an internal reference (SKU)"),
        ({"list_price": None}, "list_price", "required"),
        ({"list_price": Decimal("-1")}, "list_price", "zero or more"),
        ({"list_price": Decimal("1.00001")}, "list_price", "at most 4 decimal places"),
    ],
)
def test_price_rules_name_field_and_rule(change: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_product(product(**change))
    assert (caught.value.field, caught.value.rule) == (field, rule)
