"""A valid decoded ``shop.order.created`` record to start each test from."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
UPDATED = datetime(2026, 3, 1, 9, 45, tzinfo=UTC)

_ORDER: dict[str, Any] = {
    "order_id": "1001",
    "order_name": "#1001",
    "customer": {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
    "currency": "EUR",
    "lines": [
        {
            "line_id": "l1",
            "sku": "MUG-001",
            "title": "Mug",
            "quantity": 2,
            "unit_price": Decimal("12.5000"),
        },
        {
            "line_id": None,
            "sku": "TEE.M_BLUE",
            "title": "T-shirt",
            "quantity": 1,
            "unit_price": Decimal("19.9900"),
        },
    ],
    "shipping_address": {
        "name": "Ada Lovelace",
        "address1": "1 Analytical Street",
        "address2": None,
        "city": "London",
        "zip": "N1 9GU",
        "province": None,
        "country_code": "GB",
    },
    "totals": {
        "subtotal": Decimal("44.9900"),
        "tax": Decimal("8.5500"),
        "shipping": Decimal("4.9000"),
        "total": Decimal("58.4400"),
    },
    "created_at": CREATED,
    "updated_at": UPDATED,
    "source_delivery_id": "d-1001",
    "note": None,
    "tags": [],
    "taxes_included": False,
}


def order(**changes: Any) -> dict[str, Any]:
    """A deep copy of the valid order with top-level ``changes`` applied."""
    record = copy.deepcopy(_ORDER)
    record.update(changes)
    return record
