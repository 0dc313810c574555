"""``shop.order.created`` -> ``odoo.sale_order.upsert``: a shop order as an Odoo command.

Pure: no I/O. The record is the decoded (reader-shaped) Avro record; the result is a record of
``schemas/odoo.sale_order.upsert`` ready for the serde. Run :func:`validate_order` first: the
mapping trusts the rules it checks and only names what it cannot map (:class:`MappingError`
with ``field``).

============================  ===============================================================
target                        source
============================  ===============================================================
``external_id``               ``ferry.shop_order_<order_id>``
``client_order_ref``          ``order_name`` (``order_id`` when the name is empty)
``partner.email``             ``customer.email``
``partner.name``              first + last name; else the shipping address's name; else email
``partner.street`` ...        ``shipping_address`` address1, address2, city, zip, country_code
                              (all null for an order that ships nothing)
``currency_code``             ``currency``
``order_lines[i]``            ``default_code`` = sku, ``name`` = title, ``product_uom_qty`` =
                              quantity, ``price_unit`` = unit_price (exact ``Decimal``, 4 places)
``date_order``                ``created_at``
``source_system``             ``shop``
``source_updated_at``         ``updated_at`` (the sink's version guard compares it)
``confirm``                   ``True`` unless cancelled: a paid shop order is a sale order
``cancel``                    ``cancelled_at`` is set (``orders/cancelled``)
============================  ===============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from ferry.decimals import money
from ferry.errors import MappingError, ValidationError

__all__ = [
    "SOURCE_SYSTEM",
    "external_id",
    "shop_order_to_sale_order",
]

SOURCE_SYSTEM = "shop"
EXTERNAL_ID_MODULE = "ferry"


def external_id(order_id: str) -> str:
    """The Odoo external id (``module.name``) of a shop order."""
    return f"{EXTERNAL_ID_MODULE}.shop_order_{order_id}"


def _get(record: Mapping[str, Any], name: str, where: str) -> Any:
    try:
        return record[name]
    except (KeyError, TypeError):
        raise MappingError(f"{where}: missing in the source record", field=where) from None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _string(record: Mapping[str, Any], name: str, where: str) -> str:
    value = _text(_get(record, name, where))
    if value is None:
        raise MappingError(f"{where}: a non-empty string is needed to map it", field=where)
    return value


def _timestamp(record: Mapping[str, Any], name: str) -> datetime:
    value = _get(record, name, name)
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise MappingError(f"{name}: a timezone-aware timestamp is needed (got {value!r})", name)
    return value


def _price(value: Any, where: str) -> Decimal:
    try:
        return money(value, where)
    except ValidationError as exc:
        raise MappingError(f"{where}: {exc.rule} (got {exc.value!r})", field=where) from None


def _partner(record: Mapping[str, Any]) -> dict[str, Any]:
    customer = _get(record, "customer", "customer")
    if not isinstance(customer, Mapping):
        raise MappingError("customer: a customer record is needed", field="customer")
    email = _string(customer, "email", "customer.email")
    address = record.get("shipping_address")
    if address is not None and not isinstance(address, Mapping):
        raise MappingError("shipping_address: not an address record", field="shipping_address")
    full_name = " ".join(
        part
        for part in (_text(customer.get("first_name")), _text(customer.get("last_name")))
        if part
    )
    name = full_name or (_text(address.get("name")) if address else None) or email
    if address is None:
        return {
            "email": email,
            "name": name,
            "street": None,
            "street2": None,
            "city": None,
            "zip": None,
            "country_code": None,
        }
    return {
        "email": email,
        "name": name,
        "street": _text(address.get("address1")),
        "street2": _text(address.get("address2")),
        "city": _text(address.get("city")),
        "zip": _text(address.get("zip")),
        "country_code": _text(address.get("country_code")),
    }


def _line(line: Any, i: int) -> dict[str, Any]:
    """Line ``i``; its field paths (``lines[i].sku``) are spelled only for an error."""
    if type(line) is not dict and not isinstance(line, Mapping):
        raise MappingError(f"lines[{i}]: not a line record", field=f"lines[{i}]")
    sku, title, quantity = line.get("sku"), line.get("title"), line.get("quantity")
    price = line.get("unit_price")
    if type(sku) is str and type(title) is str and type(quantity) is int and price is not None:
        sku, title = sku.strip(), title.strip()
        if sku and title:  # the common case, checked at once
            return {
                "default_code": sku,
                "name": title,
                "product_uom_qty": float(quantity),
                "price_unit": _price(price, f"lines[{i}].unit_price"),
            }
    where = f"lines[{i}]"
    quantity = _get(line, "quantity", f"{where}.quantity")
    if not isinstance(quantity, int | float) or isinstance(quantity, bool):
        raise MappingError(
            f"{where}.quantity: a number is needed (got {quantity!r})",
            field=f"{where}.quantity",
        )
    return {
        "default_code": _string(line, "sku", f"{where}.sku"),
        "name": _string(line, "title", f"{where}.title"),
        "product_uom_qty": float(quantity),
        "price_unit": _price(
            _get(line, "unit_price", f"{where}.unit_price"), f"{where}.unit_price"
        ),
    }


def _lines(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    lines = _get(record, "lines", "lines")
    if not isinstance(lines, list) or not lines:
        raise MappingError("lines: at least one order line is needed", field="lines")
    return [_line(line, i) for i, line in enumerate(lines)]


def shop_order_to_sale_order(record: Mapping[str, Any]) -> dict[str, Any]:
    """Map a decoded ``shop.order.created`` record to an ``odoo.sale_order.upsert`` record."""
    order_id = _string(record, "order_id", "order_id")
    return {
        "external_id": external_id(order_id),
        "client_order_ref": _text(record.get("order_name")) or order_id,
        "partner": _partner(record),
        "currency_code": _string(record, "currency", "currency"),
        "order_lines": _lines(record),
        "date_order": _timestamp(record, "created_at"),
        "source_system": SOURCE_SYSTEM,
        "source_updated_at": _timestamp(record, "updated_at"),
        # A paid order is a sale order, not a quotation; a cancelled one is cancelled in Odoo.
        "confirm": record.get("cancelled_at") is None,
        "cancel": record.get("cancelled_at") is not None,
    }
