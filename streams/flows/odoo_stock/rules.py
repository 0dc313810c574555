"""``odoo.product.stock`` → ``shop.inventory.set``: what can be sold becomes the shop's level.

Rules: the product has an internal reference (the SKU the shop knows it by); the quantities are
finite. Mapping: ``available`` is Odoo's ``free_qty`` (on hand minus reserved) rounded down
to a whole unit and never below zero; the version is the newest quant's ``write_date``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ferry.errors import ValidationError

__all__ = ["stock_to_inventory", "validate_stock"]


def validate_stock(record: Mapping[str, Any]) -> None:
    code = record.get("default_code")
    if not isinstance(code, str) or not code.strip():
        raise ValidationError("default_code", "a product needs an internal reference (SKU)", code)
    for name in ("free_qty", "qty_available"):
        value = record.get(name)
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValidationError(name, "a finite quantity", value)


def stock_to_inventory(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "sku": str(record["default_code"]).strip(),
        "available": max(0, math.floor(record["free_qty"])),
        "version": record["write_date"],
        "source_system": "odoo",
    }
