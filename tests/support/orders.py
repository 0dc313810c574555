"""Sample orders with ids and names unique to one test run, so counts never mix runs."""

from __future__ import annotations

import uuid
from typing import Any

from producers.shop.sample import sample_order


def order_ids(count: int) -> list[int]:
    base = uuid.uuid4().int % 10**12 * 1000
    return [base + n for n in range(count)]


def unique_order(order_id: int, *, invalid: str | None = None) -> dict[str, Any]:
    """``producers.shop.sample.sample_order`` with the order name (Odoo's reference) unique too."""
    order = sample_order(order_id, invalid=invalid)
    order["name"] = f"#{order_id}"
    return order
