"""The REST-webhook JSON of an order (the ``orders/create`` body), built from plain values.

Prices include 19 % VAT (``taxes_included``), computed per line and for shipping, as a
European shop would; money is a decimal string with two places; times are ISO 8601 in UTC.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .ids import gid

VAT_RATE = Decimal("0.19")
SHIPPING_PRICE = Decimal("4.90")
SHIPPING_TITLE = "Standard"
_CENT = Decimal("0.01")
COUNTRIES = {
    "AT": "Austria",
    "BE": "Belgium",
    "CH": "Switzerland",
    "DE": "Germany",
    "DK": "Denmark",
    "ES": "Spain",
    "FR": "France",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "IT": "Italy",
    "LU": "Luxembourg",
    "NL": "Netherlands",
    "PL": "Poland",
    "PT": "Portugal",
    "SE": "Sweden",
    "US": "United States",
}


@dataclass(frozen=True)
class Line:
    id: int
    variant_id: int
    product_id: int
    sku: str
    title: str
    variant_title: str
    quantity: int
    price: str


def _money(amount: Decimal) -> str:
    return str(amount.quantize(_CENT, rounding=ROUND_HALF_UP))


def _tax(gross: Decimal) -> Decimal:
    return (gross * VAT_RATE / (1 + VAT_RATE)).quantize(_CENT, rounding=ROUND_HALF_UP)


def money_set(amount: str, currency: str) -> dict[str, Any]:
    money = {"amount": amount, "currency_code": currency}
    return {"shop_money": money, "presentment_money": dict(money)}


def _tax_lines(tax: Decimal, currency: str) -> list[dict[str, Any]]:
    price = _money(tax)
    return [
        {
            "title": "VAT",
            "rate": float(VAT_RATE),
            "price": price,
            "price_set": money_set(price, currency),
        }
    ]


def customer_id(email: str | None) -> int:
    """A stable id per e-mail address, as Shopify keeps one customer per address."""
    return 91_000_000 + zlib.crc32((email or "").lower().encode()) % 1_000_000


def address(values: dict[str, Any]) -> dict[str, Any]:
    """A REST mailing address from ``first_name``, ``last_name``, ``address1``, … values."""
    first, last = values.get("first_name"), values.get("last_name")
    country_code = values.get("country_code")
    return {
        "first_name": first,
        "last_name": last,
        "name": " ".join(p for p in (first, last) if p) or None,
        "company": values.get("company"),
        "address1": values.get("address1"),
        "address2": values.get("address2"),
        "city": values.get("city"),
        "zip": values.get("zip"),
        "province": values.get("province"),
        "province_code": values.get("province_code"),
        "country": COUNTRIES.get(str(country_code), country_code),
        "country_code": country_code,
        "phone": values.get("phone"),
        "latitude": None,
        "longitude": None,
    }


def _line_item(line: Line, currency: str) -> dict[str, Any]:
    gross = Decimal(line.price) * line.quantity
    return {
        "id": line.id,
        "admin_graphql_api_id": gid("LineItem", line.id),
        "variant_id": line.variant_id,
        "product_id": line.product_id,
        "sku": line.sku,
        "title": line.title,
        "name": line.title
        if line.variant_title == "Default Title"
        else f"{line.title} - {line.variant_title}",
        "variant_title": None if line.variant_title == "Default Title" else line.variant_title,
        "vendor": "Ferry Sandbox",
        "quantity": line.quantity,
        "current_quantity": line.quantity,
        "fulfillable_quantity": line.quantity,
        "fulfillment_status": None,
        "price": line.price,
        "price_set": money_set(line.price, currency),
        "total_discount": "0.00",
        "total_discount_set": money_set("0.00", currency),
        "discount_allocations": [],
        "taxable": True,
        "requires_shipping": True,
        "gift_card": False,
        "grams": 0,
        "tax_lines": _tax_lines(_tax(gross), currency),
        "properties": [],
    }


def order_payload(
    *,
    order_id: int,
    number: int,
    created_at: str,
    lines: list[Line],
    email: str | None,
    customer: dict[str, Any],
    shipping_address: dict[str, Any] | None,
    currency: str,
    note: str | None = None,
    tags: str = "",
) -> dict[str, Any]:
    subtotal = sum((Decimal(x.price) * x.quantity for x in lines), Decimal(0))
    line_tax = sum((_tax(Decimal(x.price) * x.quantity) for x in lines), Decimal(0))
    shipping_tax = _tax(SHIPPING_PRICE)
    tax = line_tax + shipping_tax
    total = subtotal + SHIPPING_PRICE
    cid = customer_id(email)
    sums = {
        "subtotal_price": _money(subtotal),
        "total_line_items_price": _money(subtotal),
        "total_tax": _money(tax),
        "total_price": _money(total),
        "total_discounts": "0.00",
    }
    return {
        "id": order_id,
        "admin_graphql_api_id": gid("Order", order_id),
        "name": f"#{number}",
        "order_number": number,
        "number": number - 1000,
        "confirmation_number": f"SBX{number:06d}",
        "email": email,
        "contact_email": email,
        "phone": None,
        "currency": currency,
        "presentment_currency": currency,
        "created_at": created_at,
        "updated_at": created_at,
        "processed_at": created_at,
        "cancelled_at": None,
        "cancel_reason": None,
        "closed_at": None,
        "confirmed": True,
        "test": False,
        "financial_status": "paid",
        "fulfillment_status": None,
        "source_name": "web",
        "buyer_accepts_marketing": False,
        "taxes_included": True,
        "estimated_taxes": False,
        **sums,
        "current_subtotal_price": sums["subtotal_price"],
        "current_total_tax": sums["total_tax"],
        "current_total_price": sums["total_price"],
        "subtotal_price_set": money_set(sums["subtotal_price"], currency),
        "total_tax_set": money_set(sums["total_tax"], currency),
        "total_price_set": money_set(sums["total_price"], currency),
        "total_shipping_price_set": money_set(_money(SHIPPING_PRICE), currency),
        "tax_lines": _tax_lines(tax, currency),
        "shipping_lines": [
            {
                "id": order_id * 10 + 1,
                "title": SHIPPING_TITLE,
                "code": SHIPPING_TITLE,
                "source": "shopify",
                "price": _money(SHIPPING_PRICE),
                "price_set": money_set(_money(SHIPPING_PRICE), currency),
                "discounted_price": _money(SHIPPING_PRICE),
                "tax_lines": _tax_lines(shipping_tax, currency),
            }
        ],
        "line_items": [_line_item(x, currency) for x in lines],
        "customer": {
            "id": cid,
            "admin_graphql_api_id": gid("Customer", cid),
            "email": customer.get("email", email),
            "first_name": customer.get("first_name"),
            "last_name": customer.get("last_name"),
            "state": "enabled",
            "currency": currency,
            "created_at": created_at,
            "updated_at": created_at,
            "verified_email": True,
            "tax_exempt": False,
            "tags": "",
            "note": None,
        },
        "shipping_address": address(shipping_address) if shipping_address else None,
        "billing_address": address(shipping_address) if shipping_address else None,
        "note": note,
        "note_attributes": [],
        "tags": tags,
        "discount_codes": [],
        "fulfillments": [],
        "refunds": [],
    }
