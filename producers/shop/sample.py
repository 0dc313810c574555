"""Realistic signed sample orders for the webhook gateway (``ferry shop send-sample``).

The orders use the SKUs the sandbox Odoo seeds (``SKU-001`` .. ``SKU-005``). With
``invalid=True`` they still decode (the gateway accepts them) but break a content rule, so the
stream stage dead-letters them: that is how a new user sees a dead letter with its reason.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from producers.shop.webhook import (
    DELIVERY_HEADER,
    SIGNATURE,
    SIGNATURE_HEADER,
    TOPIC_HEADER,
    WEBHOOK_TOPIC,
)

__all__ = [
    "CATALOGUE",
    "DELIVERY_HEADER",
    "TOPIC_HEADER",
    "SampleResult",
    "sample_order",
    "send_samples",
    "signed_request",
]

# SKU, title, unit price: the products the sandbox Odoo seeds.
CATALOGUE: tuple[tuple[str, str, str], ...] = (
    ("SKU-001", "Espresso beans 1 kg", "24.90"),
    ("SKU-002", "Ceramic mug", "9.50"),
    ("SKU-003", "Milk frother", "39.00"),
    ("SKU-004", "Pour-over kettle", "54.00"),
    ("SKU-005", "Paper filters (100)", "4.20"),
)

_CUSTOMERS = (
    ("Ada", "Lovelace", "Marktstraße 12", "Berlin", "10115", "BE", "DE"),
    ("Grace", "Hopper", "Rue de Rivoli 40", "Paris", "75001", None, "FR"),
    ("Alan", "Turing", "Wilmslow Road 7", "Manchester", "M14 5TQ", None, "GB"),
    ("Edsger", "Dijkstra", "Keizersgracht 88", "Amsterdam", "1015 CS", None, "NL"),
)

# Each breaks one content rule that the stream stage checks (the gateway lets them through).
_INVALID = ("unknown_sku", "zero_quantity", "unknown_currency", "missing_email")

_CENT = Decimal("0.01")


def sample_order(
    order_id: int, *, rng: random.Random | None = None, invalid: str | None = None
) -> dict[str, Any]:
    """A Shopify-style ``orders/create`` body; ``invalid`` names a content rule to break."""
    rng = rng or random.Random(order_id)
    first, last, street, city, zip_code, province, country = rng.choice(_CUSTOMERS)
    email = f"{first.lower()}.{last.lower()}@example.com"
    picked = rng.sample(CATALOGUE, k=rng.randint(1, 3))
    quantities = [rng.randint(1, 3) for _ in picked]
    subtotal = sum(
        (Decimal(price) * qty for (_, _, price), qty in zip(picked, quantities, strict=True)),
        Decimal(0),
    )
    line_items: list[dict[str, Any]] = [
        {"id": order_id * 10 + i, "sku": sku, "title": title, "quantity": qty, "price": price}
        for i, ((sku, title, price), qty) in enumerate(zip(picked, quantities, strict=True), 1)
    ]
    currency = "EUR"
    if invalid == "unknown_sku":
        line_items[0]["sku"] = "SKU-999"
    elif invalid == "zero_quantity":
        line_items[0]["quantity"] = 0
    elif invalid == "unknown_currency":
        currency = "XXY"
    elif invalid is not None and invalid != "missing_email":
        raise ValueError(f"unknown invalid kind {invalid!r}; use one of {', '.join(_INVALID)}")
    shipping = Decimal("4.90")
    tax = ((subtotal + shipping) * Decimal("0.19") / Decimal("1.19")).quantize(_CENT)
    total = subtotal + shipping
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=rng.randint(0, 60))
    stamp = created.isoformat()
    customer: dict[str, Any] = {"first_name": first, "last_name": last, "email": email}
    if invalid == "missing_email":
        customer["email"] = None
    return {
        "id": order_id,
        "name": f"#{1000 + order_id % 100_000}",
        "email": None if invalid == "missing_email" else email,
        "currency": currency,
        "created_at": stamp,
        "updated_at": stamp,
        "subtotal_price": f"{subtotal:.2f}",
        "total_tax": f"{tax:.2f}",
        "total_price": f"{total:.2f}",
        "total_shipping_price_set": {
            "shop_money": {"amount": f"{shipping:.2f}", "currency_code": currency}
        },
        "shipping_lines": [{"title": "Standard", "price": f"{shipping:.2f}"}],
        "line_items": line_items,
        "customer": customer,
        "shipping_address": {
            "name": f"{first} {last}",
            "address1": street,
            "address2": None,
            "city": city,
            "zip": zip_code,
            "province": province,
            "country_code": country,
        },
        "note": None,
        "tags": "sample, ferry",
        "taxes_included": True,
    }


def signed_request(
    order: dict[str, Any],
    secret: SecretStr | str,
    *,
    delivery_id: str | None = None,
    topic: str = WEBHOOK_TOPIC,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers a shop sends for ``order``."""
    body = json.dumps(order, separators=(",", ":")).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: SIGNATURE.sign(secret, body),
        TOPIC_HEADER: topic,
    }
    if delivery_id:
        headers[DELIVERY_HEADER] = delivery_id
    return body, headers


@dataclass(frozen=True, slots=True)
class SampleResult:
    order_id: int
    status: int
    ce_id: str | None
    error: str | None = None
    invalid: str | None = None

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


async def send_samples(
    url: str,
    secret: SecretStr | str,
    *,
    count: int = 1,
    invalid: bool = False,
    first_order_id: int | None = None,
    client: httpx.AsyncClient | None = None,
    kinds: Sequence[str] = _INVALID,
) -> list[SampleResult]:
    """POST ``count`` signed sample orders to ``url`` and collect the answers."""
    start = first_order_id if first_order_id is not None else int(time.time() * 1000) * 100
    own = client is None
    http = client or httpx.AsyncClient(timeout=httpx.Timeout(30.0))
    results = []
    try:
        for n in range(count):
            order_id = start + n
            kind = kinds[n % len(kinds)] if invalid else None
            body, headers = signed_request(
                sample_order(order_id, invalid=kind), secret, delivery_id=str(uuid.uuid4())
            )
            try:
                response = await http.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                results.append(SampleResult(order_id, 0, None, f"{type(exc).__name__}: {exc}"))
                continue
            results.append(_result(order_id, kind, response))
    finally:
        if own:
            await http.aclose()
    return results


def _result(order_id: int, kind: str | None, response: httpx.Response) -> SampleResult:
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    ce_id = answer.get("id") if response.is_success else None
    error = None if response.is_success else str(answer.get("error") or response.reason_phrase)
    return SampleResult(order_id, response.status_code, ce_id, error, kind)
