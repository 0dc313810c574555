"""Orders placed in the sandbox (a control route, or the ``orderCreate`` mutation).

An order commits its quantities at the shop's location, which lowers ``available`` but not
``on_hand``; fulfilling it takes them off ``on_hand`` (and out of ``committed``), as Shopify
does. ``orderCreate`` bypasses inventory unless asked to decrement, as Shopify's does. Each
new order sends an ``orders/create`` webhook after its transaction has committed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .order_payload import Line, order_payload
from .store import Delivery, Level, Store, Variant
from .webhooks import WebhookSender

ORDER_ID_BASE = 6_100_000_000
LINE_ID_BASE = 13_600_000_000
FIRST_ORDER_NUMBER = 1001
TOPIC_CREATE = "orders/create"
DEFAULT_CUSTOMER = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada.lovelace@example.com",
}
DEFAULT_ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "address1": "Marktstraße 12",
    "city": "Berlin",
    "zip": "10115",
    "province": "Berlin",
    "province_code": "BE",
    "country_code": "DE",
}


class OrderError(Exception):
    def __init__(self, code: str, field: list[str] | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class LineRequest:
    quantity: int
    sku: str | None = None
    variant_id: int | None = None


@dataclass(frozen=True)
class NewOrder:
    lines: Sequence[LineRequest]
    email: str | None = None
    customer: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_CUSTOMER))
    shipping_address: dict[str, Any] | None = field(default_factory=lambda: dict(DEFAULT_ADDRESS))
    currency: str = "EUR"
    note: str | None = None
    tags: str = ""
    commit_inventory: bool = True
    obey_policy: bool = True  # refuse a line that wants more than is available


class Orders:
    def __init__(
        self,
        store: Store,
        webhooks: WebhookSender,
        location_id: Callable[[], int],
        now: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.webhooks = webhooks
        self._location_id = location_id
        self._now = now

    def _variant(self, index: int, line: LineRequest) -> Variant:
        path = ["order", "lineItems", str(index)]
        if line.quantity <= 0:
            raise OrderError("INVALID", [*path, "quantity"], "Quantity must be greater than 0.")
        variant = None
        if line.variant_id is not None:
            variant = self.store.variant(line.variant_id)
        elif line.sku:
            variant = self.store.variant_by_sku(line.sku)
        if variant is None:
            raise OrderError("INVALID", [*path, "variantId"], "Product variant does not exist.")
        return variant

    def place(self, order: NewOrder) -> tuple[dict[str, Any], Delivery | None]:
        if not order.lines:
            raise OrderError("INVALID", ["order", "lineItems"], "Line items can't be blank.")
        moment = self._now()
        stamp = moment.isoformat(timespec="seconds")
        with self.store.transaction():
            variants = [self._variant(i, line) for i, line in enumerate(order.lines)]
            if order.commit_inventory:
                self._commit(variants, order)
            order_id = ORDER_ID_BASE + self.store.next_value("order")
            number = self.store.next_value("order_number", FIRST_ORDER_NUMBER)
            lines = [
                Line(
                    id=LINE_ID_BASE + self.store.next_value("line_item"),
                    variant_id=v.id,
                    product_id=v.product_id,
                    sku=v.sku,
                    title=v.product_title,
                    variant_title=v.title,
                    quantity=line.quantity,
                    price=v.price,
                )
                for v, line in zip(variants, order.lines, strict=True)
            ]
            customer = dict(order.customer)
            email = order.email or customer.get("email")
            if order.email:  # the buyer's address: the customer's too, as in Shopify
                customer["email"] = order.email
            payload = order_payload(
                order_id=order_id,
                number=number,
                created_at=stamp,
                lines=lines,
                email=email,
                customer=customer,
                shipping_address=order.shipping_address,
                currency=order.currency,
                note=order.note,
                tags=order.tags,
            )
            self.store.add_order(order_id, payload, order.commit_inventory)
        return payload, self.webhooks.enqueue(TOPIC_CREATE, payload, moment)

    def _commit(self, variants: list[Variant], order: NewOrder) -> None:
        wanted: Counter[int] = Counter()
        by_item: dict[int, Variant] = {}
        for variant, line in zip(variants, order.lines, strict=True):
            wanted[variant.inventory_item_id] += line.quantity
            by_item[variant.inventory_item_id] = variant
        location = self._location_id()
        for item_id, quantity in wanted.items():
            level = self.store.level(item_id, location) or Level(item_id, location, 0, 0)
            if order.obey_policy and level.available < quantity:
                raise OrderError(
                    "INVENTORY_CLAIM_FAILED",
                    ["order", "lineItems"],
                    f"{by_item[item_id].sku}: {level.available} available, {quantity} ordered.",
                )
            self.store.put_level(
                Level(item_id, location, level.on_hand, level.committed + quantity)
            )

    def fulfill(self, order_id: int) -> dict[str, Any]:
        """Ship every line: on_hand and committed drop by the quantities (if committed)."""
        with self.store.transaction():
            stored = self.store.order(order_id)
            if stored is None:
                raise OrderError("NOT_FOUND", ["id"], f"Order {order_id} does not exist.")
            if stored.fulfilled:
                raise OrderError("INVALID", ["id"], f"Order {order_id} is already fulfilled.")
            payload = stored.payload
            location = self._location_id()
            for item in payload["line_items"]:
                variant = self.store.variant(int(item["variant_id"]))
                if variant is not None and stored.committed:
                    level = self.store.level(variant.inventory_item_id, location)
                    if level is not None:
                        quantity = int(item["quantity"])
                        self.store.put_level(
                            Level(
                                level.inventory_item_id,
                                location,
                                level.on_hand - quantity,
                                max(0, level.committed - quantity),
                            )
                        )
                item["fulfillment_status"] = "fulfilled"
                item["fulfillable_quantity"] = 0
            payload["fulfillment_status"] = "fulfilled"
            payload["updated_at"] = self._now().isoformat(timespec="seconds")
            self.store.mark_fulfilled(order_id, payload)
        return payload
