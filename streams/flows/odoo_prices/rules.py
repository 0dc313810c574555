"""``odoo.product.changed`` → ``shop.price.set``: Odoo's sales price becomes the variant's.

Rules: the product has an internal reference and a price of zero or more that fits
``decimal(18, 4)``. Mapping: an archived or deleted product says nothing about a price
(``None``: acked, not sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ferry.decimals import money
from ferry.errors import ValidationError

__all__ = ["product_to_price", "validate_product"]


def validate_product(record: Mapping[str, Any]) -> None:
    if record.get("action") != "changed":
        return  # archived or deleted: the mapping drops it
    code = record.get("default_code")
    if not isinstance(code, str) or not code.strip():
        raise ValidationError("default_code", "a product needs an internal reference (SKU)", code)
    price = record.get("list_price")
    if price is None:
        raise ValidationError("list_price", "required", None)
    if money(price, "list_price") < 0:
        raise ValidationError("list_price", "zero or more", str(price))


def product_to_price(record: Mapping[str, Any]) -> dict[str, Any] | None:
    if record.get("action") != "changed":
        return None
    price: Decimal = money(record["list_price"], "list_price")
    return {
        "sku": str(record["default_code"]).strip(),
        "price": price,
        "version": record["write_date"],
        "source_system": "odoo",
    }
