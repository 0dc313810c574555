"""Orders: the REST webhook body, its totals, the inventory it commits, and the catalogue."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from producers.shop.sample import CATALOGUE as SAMPLE_CATALOGUE
from producers.shop.webhook import order_record
from sandbox.shop.order_payload import Line, order_payload
from sandbox.shop.orders import LineRequest, NewOrder, OrderError, Orders
from sandbox.shop.seed import CATALOGUE, LOCATION_ID, seed
from sandbox.shop.store import Delivery, Store
from sandbox.shop.webhooks import WebhookSender, sign, triggered_at

NOW = datetime(2026, 10, 5, 10, 31, 42, tzinfo=UTC)


def payload() -> dict[str, Any]:
    return order_payload(
        order_id=6100000001,
        number=1001,
        created_at=NOW.isoformat(),
        lines=[
            Line(
                13600000001,
                82000001,
                81000001,
                "SKU-001",
                "Espresso beans 1 kg",
                "Default Title",
                2,
                "24.90",
            ),
            Line(
                13600000002,
                82000002,
                81000002,
                "SKU-002",
                "Ceramic mug",
                "Default Title",
                1,
                "9.50",
            ),
        ],
        email="grace.hopper@example.com",
        customer={
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "grace.hopper@example.com",
        },
        shipping_address={
            "first_name": "Grace",
            "last_name": "Hopper",
            "address1": "Rue de Rivoli 40",
            "city": "Paris",
            "zip": "75001",
            "country_code": "FR",
        },
        currency="EUR",
    )


def test_the_catalogue_is_the_sample_orders_catalogue() -> None:
    assert CATALOGUE == SAMPLE_CATALOGUE


def test_the_payload_has_shopifys_rest_shape_and_consistent_totals() -> None:
    order = payload()
    assert order["name"] == "#1001"
    assert order["order_number"] == 1001
    assert order["admin_graphql_api_id"] == "gid://shopify/Order/6100000001"
    assert [(x["sku"], x["quantity"], x["price"]) for x in order["line_items"]] == [
        ("SKU-001", 2, "24.90"),
        ("SKU-002", 1, "9.50"),
    ]
    assert order["subtotal_price"] == "59.30"
    assert order["total_price"] == "64.20"  # shipping 4.90 included
    line_tax = sum(Decimal(x["tax_lines"][0]["price"]) for x in order["line_items"])
    shipping_tax = Decimal(order["shipping_lines"][0]["tax_lines"][0]["price"])
    assert Decimal(order["total_tax"]) == line_tax + shipping_tax
    assert order["taxes_included"] is True
    assert order["customer"]["first_name"] == "Grace"
    assert order["shipping_address"]["country"] == "France"
    assert order["shipping_address"]["name"] == "Grace Hopper"


def test_ferrys_gateway_converter_reads_the_payload() -> None:
    record = order_record(payload(), delivery_id="d-1")
    assert record["order_id"] == "6100000001"
    assert record["order_name"] == "#1001"
    assert record["customer"]["email"] == "grace.hopper@example.com"
    assert [line["sku"] for line in record["lines"]] == ["SKU-001", "SKU-002"]
    assert record["totals"]["shipping"] == Decimal("4.90")


def test_signatures_are_base64_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"id":1}'
    expected = base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
    assert sign("s3cret", body) == expected
    assert triggered_at(NOW) == "2026-10-05T10:31:42.000000000Z"


class Sent(WebhookSender):
    def __init__(self, store: Store) -> None:
        super().__init__(
            store,
            lambda: "secret",
            shop_domain="s.myshopify.com",
            api_version="2026-10",
            url="http://hook",
        )


def shop() -> tuple[Store, Orders]:
    store = Store()
    seed(store, NOW.isoformat())
    return store, Orders(store, Sent(store), lambda: LOCATION_ID, lambda: NOW)


def test_an_order_commits_its_quantities_and_queues_one_delivery() -> None:
    store, orders = shop()
    order, delivery = orders.place(
        NewOrder([LineRequest(3, sku="SKU-001"), LineRequest(2, sku="SKU-001")])
    )
    level = store.level(83000001, LOCATION_ID)
    assert level is not None
    assert (level.available, level.on_hand, level.committed) == (95, 100, 5)
    assert isinstance(delivery, Delivery)
    assert delivery.topic == "orders/create"
    assert delivery.state == "pending"
    assert store.deliveries() == [delivery]
    headers = orders.webhooks.headers(delivery)
    assert headers["X-Shopify-Hmac-Sha256"] == sign("secret", delivery.body)
    assert headers["X-Shopify-Webhook-Id"] == delivery.webhook_id
    fulfilled = orders.fulfill(order["id"])
    level = store.level(83000001, LOCATION_ID)
    assert level is not None
    assert (level.available, level.on_hand, level.committed) == (95, 95, 0)
    assert fulfilled["fulfillment_status"] == "fulfilled"
    with pytest.raises(OrderError, match="already fulfilled"):
        orders.fulfill(order["id"])


def test_an_order_beyond_the_available_quantity_is_refused_and_changes_nothing() -> None:
    store, orders = shop()
    with pytest.raises(OrderError) as caught:
        orders.place(NewOrder([LineRequest(1, sku="SKU-002"), LineRequest(101, sku="SKU-001")]))
    assert caught.value.code == "INVENTORY_CLAIM_FAILED"
    level = store.level(83000002, LOCATION_ID)
    assert level is not None
    assert level.committed == 0
    assert store.orders() == []
    assert store.deliveries() == []


def test_unknown_skus_and_bad_quantities_are_refused() -> None:
    _, orders = shop()
    with pytest.raises(OrderError, match="does not exist"):
        orders.place(NewOrder([LineRequest(1, sku="SKU-999")]))
    with pytest.raises(OrderError, match="greater than 0"):
        orders.place(NewOrder([LineRequest(0, sku="SKU-001")]))
