from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ferry.schemas import SchemaRegistry


@pytest.fixture(scope="session")
def registry() -> SchemaRegistry:
    return SchemaRegistry.load()


def order_v1() -> dict[str, Any]:
    """A shop.order.created v1 record with every field given."""
    return {
        "order_id": "820982911946154508",
        "order_name": "#1001",
        "customer": {"email": "jon@example.com", "first_name": "Jon", "last_name": "Snow"},
        "currency": "EUR",
        "lines": [
            {
                "line_id": "466157049",
                "sku": "IPOD-342-N",
                "title": "IPod Nano",
                "quantity": 2,
                "unit_price": Decimal("199.9900"),
            },
            {
                "line_id": None,
                "sku": "CASE-1",
                "title": "Case",
                "quantity": 1,
                "unit_price": Decimal("-0.0001"),
            },
        ],
        "shipping_address": {
            "name": "Jon Snow",
            "address1": "Hauptstr. 1",
            "address2": None,
            "city": "Berlin",
            "zip": "10115",
            "province": None,
            "country_code": "DE",
        },
        "totals": {
            "subtotal": Decimal("399.9799"),
            "tax": Decimal("76.0000"),
            "shipping": Decimal("4.9900"),
            "total": Decimal("99999999999999.9999"),
        },
        "created_at": datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=UTC),
        "updated_at": datetime(2024, 5, 1, 12, 31, 0, tzinfo=UTC),
        "source_delivery_id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    }


def order_v2() -> dict[str, Any]:
    return {
        **order_v1(),
        "note": "Leave at the door",
        "tags": ["vip", "gift"],
        "taxes_included": True,
    }


def order_v3() -> dict[str, Any]:
    """The latest shop.order.created: v2 and when the shop cancelled it."""
    return {**order_v2(), "cancelled_at": None}


def upsert_v1() -> dict[str, Any]:
    return {
        "external_id": "ferry.shop_order_820982911946154508",
        "client_order_ref": "#1001",
        "partner": {
            "email": "jon@example.com",
            "name": "Jon Snow",
            "street": "Hauptstr. 1",
            "street2": None,
            "city": "Berlin",
            "zip": "10115",
            "country_code": "DE",
        },
        "currency_code": "EUR",
        "order_lines": [
            {
                "default_code": "IPOD-342-N",
                "name": "IPod Nano",
                "product_uom_qty": 2.5,
                "price_unit": Decimal("199.99"),
            }
        ],
        "date_order": datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=UTC),
        "source_system": "shop",
        "source_updated_at": datetime(2024, 5, 1, 12, 31, 0, tzinfo=UTC),
        "confirm": True,
    }


def upsert_v2() -> dict[str, Any]:
    """The latest odoo.sale_order.upsert: v1 and whether to cancel."""
    return {**upsert_v1(), "cancel": False}
