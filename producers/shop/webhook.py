"""A Shopify-style ``orders/create`` webhook as a ``shop.order.created`` record.

The conversion is pure: JSON in, the Avro record, its key and its CloudEvent out. It rejects
only what cannot become the record (a missing id, a quantity that is not a 32-bit integer, a
price that is not a strict decimal within ``decimal(18, 4)``, a timestamp that is not RFC 3339
with an offset between 1970 and 9999, text with a lone surrogate), raising
:class:`ferry.errors.ValidationError` that names the webhook's own field path
(``line_items[0].quantity``) and the rule, and never another exception, whatever the JSON.
Content rules (a known currency, a positive quantity, an e-mail present, the country and SKU
formats) belong to the stream stage, which dead-letters what breaks them; the gateway lets
such orders through unchanged.

Money is :class:`decimal.Decimal` at the schema's scale (4 places); timestamps are aware
datetimes in UTC. The gateway parses the body so that JSON numbers with a fraction
arrive as ``Decimal`` rather than ``float``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ferry.decimals import DECIMAL_SYNTAX_RULE, money, parse_decimal
from ferry.envelope import CloudEvent, child_traceparent, deterministic_id, new_traceparent
from ferry.errors import ValidationError
from ferry.flow import Converted
from ferry.timefmt import format_timestamp, parse_strict_timestamp
from ferry.topics import entity_key, src
from producers.gateway.signature import HmacSha256Base64

__all__ = [
    "ALIASES",
    "CE_SOURCE",
    "DELIVERY_HEADER",
    "EVENT_TYPE",
    "SIGNATURE",
    "SIGNATURE_HEADER",
    "TOPIC",
    "TOPIC_HEADER",
    "WEBHOOK_PATH",
    "WEBHOOK_TOPIC",
    "WEBHOOK_TOPICS",
    "convert_order",
    "order_event_id",
    "order_record",
]

EVENT_TYPE = "shop.order.created"
TOPIC = src("shop", "orders")
CE_SOURCE = "ferry/gateway/shop"
WEBHOOK_TOPIC = "orders/create"
# One order's life: each is the whole order as the shop holds it, a newer updated_at each time.
WEBHOOK_TOPICS = (WEBHOOK_TOPIC, "orders/updated", "orders/cancelled")
WEBHOOK_PATH = "/webhooks/shop"
# Shopify's header names; Ferry's first ones (X-Shop-*) stay accepted as aliases.
SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
DELIVERY_HEADER = "X-Shopify-Webhook-Id"
ALIASES = {
    SIGNATURE_HEADER: "X-Shop-Hmac-Sha256",
    TOPIC_HEADER: "X-Shop-Topic",
    DELIVERY_HEADER: "X-Shop-Webhook-Id",
}
SIGNATURE = HmacSha256Base64((SIGNATURE_HEADER, ALIASES[SIGNATURE_HEADER]))

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
UNICODE_RULE = "valid Unicode (no lone surrogates)"


def convert_order(
    payload: Any,
    *,
    delivery_id: str | None = None,
    traceparent: str | None = None,
    now: datetime | None = None,
) -> Converted:
    """The record, key and envelope of one ``orders/create`` webhook.

    ``traceparent`` (the request's W3C header) continues the caller's trace when it is valid.
    """
    record = order_record(payload, delivery_id=delivery_id)
    key = entity_key("shop", "order", record["order_id"])
    event = CloudEvent(
        id=order_event_id(record["order_id"], record["updated_at"], delivery_id),
        source=CE_SOURCE,
        type=EVENT_TYPE,
        subject=key,
        time=now or datetime.now(UTC),
        traceparent=child_traceparent(traceparent) if traceparent else new_traceparent(),
    )
    return Converted(record=record, key=key, event=event)


def order_event_id(order_id: str, updated_at: datetime, delivery_id: str | None) -> str:
    """``ce_id``: from the delivery id when the shop sent one, else from order and version."""
    if delivery_id:
        return deterministic_id("shop", delivery_id)
    return deterministic_id("shop", "order", order_id, format_timestamp(updated_at))


def order_record(payload: Any, *, delivery_id: str | None = None) -> dict[str, Any]:
    """The ``shop.order.created`` record of a webhook body (already parsed JSON)."""
    order = _object(payload, "$")
    customer = _optional_object(order.get("customer"), "customer") or {}
    email = _optional_str(customer.get("email"), "customer.email")
    if email is None:
        email = _optional_str(order.get("email"), "email")
    items = _list(order.get("line_items"), "line_items")
    return {
        "order_id": _id(order.get("id"), "id"),
        "order_name": _str(order.get("name"), "name"),
        "customer": {
            "email": email,
            "first_name": _optional_str(customer.get("first_name"), "customer.first_name"),
            "last_name": _optional_str(customer.get("last_name"), "customer.last_name"),
        },
        "currency": _str(order.get("currency"), "currency"),
        "lines": [_line(item, f"line_items[{i}]") for i, item in enumerate(items)],
        "shipping_address": _address(order.get("shipping_address"), "shipping_address"),
        "totals": {
            "subtotal": _money(order.get("subtotal_price"), "subtotal_price"),
            "tax": _money(order.get("total_tax"), "total_tax"),
            "shipping": _shipping(order),
            "total": _money(order.get("total_price"), "total_price"),
        },
        "created_at": _timestamp(order.get("created_at"), "created_at"),
        "updated_at": _timestamp(order.get("updated_at"), "updated_at"),
        "source_delivery_id": delivery_id or "",
        "note": _optional_str(order.get("note"), "note"),
        "tags": _tags(order.get("tags"), "tags"),
        "taxes_included": _bool(order.get("taxes_included"), "taxes_included"),
        "cancelled_at": _optional_timestamp(order.get("cancelled_at"), "cancelled_at"),
    }


def _line(value: Any, path: str) -> dict[str, Any]:
    item = _object(value, path)
    line_id = item.get("id")
    return {
        "line_id": None if line_id is None else _id(line_id, f"{path}.id"),
        # A custom line item has no SKU (null): the stream's SKU rule judges it, not decoding.
        "sku": _optional_str(item.get("sku"), f"{path}.sku") or "",
        "title": _str(item.get("title"), f"{path}.title"),
        "quantity": _int32(item.get("quantity"), f"{path}.quantity"),
        "unit_price": _money(item.get("price"), f"{path}.price"),
    }


def _address(value: Any, path: str) -> dict[str, Any] | None:
    address = _optional_object(value, path)
    if address is None:
        return None
    name = _optional_str(address.get("name"), f"{path}.name")
    if name is None:
        parts = [_optional_str(address.get(k), f"{path}.{k}") for k in ("first_name", "last_name")]
        name = " ".join(p for p in parts if p) or None
    if name is None:
        raise ValidationError(f"{path}.name", "required", None)
    return {
        "name": name,
        "address1": _str(address.get("address1"), f"{path}.address1"),
        "address2": _optional_str(address.get("address2"), f"{path}.address2"),
        "city": _str(address.get("city"), f"{path}.city"),
        "zip": _optional_str(address.get("zip"), f"{path}.zip"),
        "province": _optional_str(address.get("province"), f"{path}.province"),
        "country_code": _str(address.get("country_code"), f"{path}.country_code"),
    }


def _shipping(order: Mapping[str, Any]) -> Decimal:
    """``total_shipping_price_set.shop_money.amount``, else the sum of ``shipping_lines``."""
    price_set = order.get("total_shipping_price_set")
    if price_set is not None:
        path = "total_shipping_price_set"
        shop_money = _object(_object(price_set, path).get("shop_money"), f"{path}.shop_money")
        return _money(shop_money.get("amount"), f"{path}.shop_money.amount")
    lines = order.get("shipping_lines")
    if lines is None:
        return money(Decimal(0), "shipping_lines")
    total = Decimal(0)
    for i, line in enumerate(_list(lines, "shipping_lines")):
        path = f"shipping_lines[{i}]"
        total += _money(_object(line, path).get("price"), f"{path}.price")
    return money(total, "shipping_lines")


# -- field readers: each names the field and the rule it broke -----------------------------


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        raise ValidationError(path, "required", None)
    if not isinstance(value, Mapping):
        raise ValidationError(path, "object", _shown(value))
    return value


def _optional_object(value: Any, path: str) -> Mapping[str, Any] | None:
    return None if value is None else _object(value, path)


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        raise ValidationError(path, "required", None)
    if not isinstance(value, list):
        raise ValidationError(path, "list", _shown(value))
    return value


def _str(value: Any, path: str) -> str:
    if value is None:
        raise ValidationError(path, "required", None)
    if not isinstance(value, str):
        raise ValidationError(path, "string", _shown(value))
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(path, UNICODE_RULE, _shown(value)) from None
    return value


def _optional_str(value: Any, path: str) -> str | None:
    return None if value is None else _str(value, path)


def _id(value: Any, path: str) -> str:
    """Shops use 64-bit integers or strings (UUIDs) as ids; the record keeps a string."""
    if value is None or value == "":
        raise ValidationError(path, "required", value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(path, "integer or string id", _shown(value))
    if isinstance(value, str):
        return _str(value, path)
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValidationError(path, "64-bit integer id", _shown(value))
    return str(value)


def _int32(value: Any, path: str) -> int:
    if value is None:
        raise ValidationError(path, "required", None)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(path, "integer", _shown(value))
    if not _INT32[0] <= value <= _INT32[1]:
        raise ValidationError(path, "32-bit integer", _shown(value))
    return value


def _money(value: Any, path: str) -> Decimal:
    """A decimal string (``"19.99"``, read strictly: :func:`ferry.decimals.parse_decimal`); an
    integer or a JSON number (a ``Decimal`` from the gateway's parser) is accepted too."""
    if value is None:
        raise ValidationError(path, "required", None)
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValidationError(path, DECIMAL_SYNTAX_RULE, _shown(value))
    if isinstance(value, str):
        amount = parse_decimal(value, path)
    elif isinstance(value, int):
        amount = Decimal(value)
    else:
        amount = value
    if not amount.is_finite():
        raise ValidationError(path, DECIMAL_SYNTAX_RULE, _shown(value))
    return money(amount, path)


def _timestamp(value: Any, path: str) -> datetime:
    moment = parse_strict_timestamp(_str(value, path), path)
    # Avro keeps milliseconds; truncate here so the record equals what a reader decodes.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _optional_timestamp(value: Any, path: str) -> datetime | None:
    return None if value is None else _timestamp(value, path)


def _bool(value: Any, path: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise ValidationError(path, "must be true or false", _shown(value))


def _tags(value: Any, path: str) -> list[str]:
    """Shopify sends ``"a, b"``; a list of strings is accepted too."""
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip() for t in _str(value, path).split(",") if t.strip()]
    items = _list(value, path)
    return [_str(t, f"{path}[{i}]") for i, t in enumerate(items)]


def _shown(value: Any) -> Any:
    """The offending value for an error message: scalars as they are (long ones cut),
    containers by type."""
    if isinstance(value, Mapping):
        return "<object>"
    if isinstance(value, list):
        return "<list>"
    if isinstance(value, str) and len(value) > 64:
        return value[:61] + "..."
    if isinstance(value, int) and value.bit_length() > 200:  # repr() fails past 4,300 digits
        return f"<an integer of {value.bit_length()} bits>"
    if isinstance(value, Decimal) and len(str(value)) > 64:
        return str(value)[:61] + "..."
    return value
