"""Orders: committed quantities, the signed orders/create webhook, and its retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

import httpx

from .conftest import LOCATION, SECRET, Api, Receiver, wait_for

ORDER = {
    "line_items": [{"sku": "SKU-001", "quantity": 2}, {"sku": "SKU-003", "quantity": 1}],
    "email": "grace.hopper@example.com",
    "customer": {"first_name": "Grace", "last_name": "Hopper", "email": "grace.hopper@example.com"},
    "shipping_address": {
        "first_name": "Grace",
        "last_name": "Hopper",
        "address1": "Rue de Rivoli 40",
        "city": "Paris",
        "zip": "75001",
        "country_code": "FR",
    },
}


def place(api: Api, order: dict[str, Any] = ORDER) -> dict[str, Any]:
    placed: dict[str, Any] = api.control("POST", "orders", order)
    return placed


def signature(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def deliveries(api: Api) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.control("GET", "webhooks")["deliveries"]
    return found


def test_an_order_commits_stock_and_delivers_a_signed_webhook(api: Api, receiver: Receiver) -> None:
    placed = place(api)
    wait_for(lambda: len(receiver.received) == 1, what="the orders/create webhook")
    headers, body = receiver.received[0]
    assert headers["X-Shopify-Topic"] == "orders/create"
    assert headers["X-Shopify-Hmac-Sha256"] == signature(body)
    assert headers["X-Shopify-Webhook-Id"] == placed["webhook_id"]
    assert headers["X-Shopify-Shop-Domain"] == "ferry-sandbox.myshopify.com"
    assert headers["X-Shopify-API-Version"] == "2026-10"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", headers["X-Shopify-Triggered-At"]
    )
    assert headers["Content-Type"] == "application/json"
    order = receiver.payloads()[0]
    assert order == placed["order"]
    assert order["name"] == "#1001"
    assert order["email"] == "grace.hopper@example.com"
    assert order["currency"] == "EUR"
    assert [(x["sku"], x["title"], x["quantity"], x["price"]) for x in order["line_items"]] == [
        ("SKU-001", "Espresso beans 1 kg", 2, "24.90"),
        ("SKU-003", "Milk frother", 1, "39.00"),
    ]
    assert (order["subtotal_price"], order["total_price"]) == ("88.80", "93.70")
    assert order["customer"]["last_name"] == "Hopper"
    assert order["shipping_address"]["city"] == "Paris"
    level = api.level("SKU-001")
    assert (level["available"], level["on_hand"], level["committed"]) == (98, 100, 2)
    assert deliveries(api)[0]["state"] == "delivered"


def test_a_sync_that_read_stock_before_the_order_is_stale(api: Api, receiver: Receiver) -> None:
    item = api.level("SKU-001")["inventory_item_id"]
    place(api)
    answer = api(
        """mutation($q: [InventoryQuantityInput!]!) {
             inventorySetQuantities(
               input: {name: "available", reason: "correction", quantities: $q}
             ) @idempotent(key: "after-order") { userErrors { code } } }""",
        {
            "q": [
                {
                    "inventoryItemId": item,
                    "locationId": LOCATION,
                    "quantity": 90,
                    "changeFromQuantity": 100,
                }
            ]
        },
    )
    assert answer["data"]["inventorySetQuantities"]["userErrors"] == [
        {"code": "CHANGE_FROM_QUANTITY_STALE"}
    ]


def test_fulfilment_takes_the_quantities_off_hand(api: Api, receiver: Receiver) -> None:
    placed = place(api)
    fulfilled = api.control("POST", f"orders/{placed['order']['id']}/fulfill")
    assert fulfilled["order"]["fulfillment_status"] == "fulfilled"
    level = api.level("SKU-001")
    assert (level["available"], level["on_hand"], level["committed"]) == (98, 98, 0)


def test_a_failed_delivery_is_retried_with_the_same_webhook_id(
    api: Api, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]
    placed = place(api)
    wait_for(lambda: len(receiver.received) == 3, what="two retries")
    ids = {headers["X-Shopify-Webhook-Id"] for headers, _ in receiver.received}
    assert ids == {placed["webhook_id"]}
    assert len({body for _, body in receiver.received}) == 1
    assert len({headers["X-Shopify-Event-Id"] for headers, _ in receiver.received}) == 1
    assert all(h["X-Shopify-Hmac-Sha256"] == signature(b) for h, b in receiver.received)
    wait_for(lambda: deliveries(api)[0]["state"] == "delivered", what="the delivery to settle")
    delivery = deliveries(api)[0]
    assert (delivery["attempts"], delivery["last_status"]) == (3, 200)


def test_an_unreachable_receiver_fails_after_the_last_retry(api: Api, receiver: Receiver) -> None:
    receiver.server.shutdown()
    receiver.server.server_close()
    place(api)
    wait_for(lambda: deliveries(api)[0]["state"] == "failed", what="the retries to run out")
    delivery = deliveries(api)[0]
    assert delivery["attempts"] == 4  # the first try and three retries
    assert delivery["last_status"] is None
    assert delivery["last_error"]


def test_an_order_beyond_the_available_stock_is_refused(api: Api, receiver: Receiver) -> None:
    refused = httpx.post(
        f"{api.shop.url}/__sandbox__/orders",
        json={"line_items": [{"sku": "SKU-002", "quantity": 101}]},
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "INVENTORY_CLAIM_FAILED"
    assert api.level("SKU-002")["committed"] == 0
    assert receiver.received == []


ORDER_CREATE = """
mutation Order($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order {
      id name email currencyCode displayFulfillmentStatus
      totalPriceSet { shopMoney { amount } }
    }
    userErrors { field code message }
  }
}"""


def test_order_create_decrements_when_asked_and_sends_the_webhook(
    api: Api, receiver: Receiver
) -> None:
    variant = api.level("SKU-004")["variant_id"]
    order = {
        "email": "alan.turing@example.com",
        "currency": "EUR",
        "lineItems": [{"variantId": variant, "quantity": 3}],
        "customer": {
            "toUpsert": {
                "email": "alan.turing@example.com",
                "firstName": "Alan",
                "lastName": "Turing",
            }
        },
        "shippingAddress": {
            "firstName": "Alan",
            "lastName": "Turing",
            "address1": "Wilmslow Road 7",
            "city": "Manchester",
            "zip": "M14 5TQ",
            "countryCode": "GB",
        },
    }
    created = api.data(
        ORDER_CREATE,
        {"order": order, "options": {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"}},
    )
    result = created["orderCreate"]
    assert result["userErrors"] == []
    assert result["order"]["name"] == "#1001"
    assert result["order"]["id"].startswith("gid://shopify/Order/")
    assert result["order"]["displayFulfillmentStatus"] == "UNFULFILLED"
    assert result["order"]["totalPriceSet"] == {"shopMoney": {"amount": "166.90"}}
    assert api.level("SKU-004")["available"] == 97
    wait_for(lambda: len(receiver.received) == 1, what="the orders/create webhook")
    body = receiver.payloads()[0]
    assert body["admin_graphql_api_id"] == result["order"]["id"]
    assert body["customer"]["first_name"] == "Alan"
    assert body["shipping_address"]["country"] == "United Kingdom"
    bypass = api.data(
        ORDER_CREATE, {"order": {**order, "lineItems": [{"sku": "SKU-004", "quantity": 1}]}}
    )
    assert bypass["orderCreate"]["order"]["name"] == "#1002"
    assert api.level("SKU-004")["available"] == 97  # BYPASS is the default, as in Shopify
    too_many = api.data(
        ORDER_CREATE,
        {
            "order": {**order, "lineItems": [{"variantId": variant, "quantity": 98}]},
            "options": {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"},
        },
    )
    assert too_many["orderCreate"]["order"] is None
    assert too_many["orderCreate"]["userErrors"][0]["code"] == "INVENTORY_CLAIM_FAILED"
