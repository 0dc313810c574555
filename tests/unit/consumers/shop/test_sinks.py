"""The shop sinks against an in-memory shop: set, never adjust; never backwards; the race with
a shop order between read and write."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest

from consumers.shop.client import Variant
from consumers.shop.errors import StaleQuantity
from consumers.shop.inventory import InventorySink
from consumers.shop.prices import PriceSink
from consumers.shop.target import ShopTarget
from ferry.envelope import CloudEvent
from ferry.errors import Rejected
from ferry.settings import KafkaSettings
from ferry.sink import Outcome, SinkEvent
from ferry.versions import VersionStore

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
VARIANT = Variant(
    id="gid://shopify/ProductVariant/3",
    sku="SKU-003",
    price=Decimal("39.0000"),
    product_id="gid://shopify/Product/3",
    inventory_item_id="gid://shopify/InventoryItem/3",
)


class Versions(VersionStore):
    """The store without Kafka."""

    def __init__(self) -> None:
        super().__init__(KafkaSettings(), "test")
        self.puts: list[tuple[str, datetime]] = []

    async def put(self, key: str, version: datetime) -> None:
        self.puts.append((key, version))
        held = self.get(key)
        if held is None or version > held:
            self._versions[key] = version


class Shop:
    """The client calls the sinks make, on one variant at one location."""

    def __init__(self, available: int = 10) -> None:
        self.level = available
        self.price = VARIANT.price
        self.sets: list[dict[str, Any]] = []
        self.prices: list[Decimal] = []
        self.sold_before_write: list[int] = []  # units a shop order takes before the next set

        self.item = VARIANT.inventory_item_id  # the item Shopify holds now
        self.cached: Variant | None = None
        self.lookups = 0

    async def variant_by_sku(self, sku: str) -> Variant | None:
        if sku != VARIANT.sku:
            return None
        if self.cached is None:
            self.lookups += 1
            self.cached = replace(VARIANT, price=self.price, inventory_item_id=self.item)
        return replace(self.cached, price=self.price)

    def forget_variant(self, sku: str | None = None) -> None:
        self.cached = None

    async def location_id(self, name: str | None = None) -> str:
        return "gid://shopify/Location/1"

    async def available(self, item: str, location: str) -> int:
        if item != self.item:
            raise Rejected(f"inventoryItem: no inventory item {item}")
        return self.level

    async def set_available(
        self, item: str, location: str, quantity: int, *, change_from: int | None, **kw: Any
    ) -> str | None:
        if self.sold_before_write:
            self.level -= self.sold_before_write.pop(0)
        self.sets.append({"quantity": quantity, "change_from": change_from, **kw})
        if change_from is not None and change_from != self.level:
            raise StaleQuantity("CHANGE_FROM_QUANTITY_STALE", "input.quantities.0", "stale")
        self.level = quantity
        return "gid://shopify/InventoryAdjustmentGroup/1"

    async def set_price(self, product_id: str, variant_id: str, price: Decimal) -> Decimal:
        self.prices.append(price)
        self.price = price
        return price


def target(shop: Shop) -> ShopTarget:
    return ShopTarget(cast(Any, shop))


def event(data: dict[str, Any], ident: str = "e-1") -> SinkEvent:
    envelope = CloudEvent(id=ident, source="test", type="shop.inventory.set", subject="s")
    return SinkEvent(envelope, "shop.inventory.set", data)


def level(available: int, at: datetime = T0, sku: str = "SKU-003") -> dict[str, Any]:
    return {"sku": sku, "available": available, "version": at, "source_system": "odoo"}


RECORD: Any = None


async def test_a_level_is_set_with_the_level_read_as_change_from() -> None:
    shop, versions = Shop(10), Versions()
    sink = InventorySink(target(shop), versions, topic="t", name="f")
    assert await sink.apply(event(level(7)), RECORD) is Outcome.APPLIED
    assert shop.level == 7
    [sent] = shop.sets
    assert (sent["quantity"], sent["change_from"]) == (7, 10)
    assert sent["idempotency_key"]
    assert versions.get("SKU-003") == T0


async def test_an_older_version_never_overwrites_a_newer_level() -> None:
    shop, versions = Shop(10), Versions()
    sink = InventorySink(target(shop), versions, topic="t", name="f")
    await sink.apply(event(level(7, T0 + timedelta(seconds=5)), "new"), RECORD)
    assert await sink.apply(event(level(3, T0), "old"), RECORD) is Outcome.DUPLICATE
    assert shop.level == 7
    assert len(shop.sets) == 1


async def test_a_second_change_within_the_same_second_still_applies() -> None:
    shop, versions = Shop(10), Versions()
    sink = InventorySink(target(shop), versions, topic="t", name="f")
    await sink.apply(event(level(7), "first"), RECORD)
    assert await sink.apply(event(level(6), "second"), RECORD) is Outcome.APPLIED
    assert shop.level == 6


async def test_units_sold_in_the_shop_between_read_and_write_are_taken_off() -> None:
    shop, versions = Shop(10), Versions()
    shop.sold_before_write = [2]  # an order for 2 lands between the sink's read and its write
    sink = InventorySink(target(shop), versions, topic="t", name="f")
    assert await sink.apply(event(level(9)), RECORD) is Outcome.APPLIED
    first, second = shop.sets
    assert (first["quantity"], first["change_from"]) == (9, 10)  # refused: stale
    assert (second["quantity"], second["change_from"]) == (7, 8)
    assert first["idempotency_key"] != second["idempotency_key"]
    assert shop.level == 7  # never more than Odoo can deliver: 9 free minus the 2 just sold


async def test_an_equal_level_is_recorded_without_a_write() -> None:
    shop, versions = Shop(10), Versions()
    sink = InventorySink(target(shop), versions, topic="t", name="f")
    assert await sink.apply(event(level(10)), RECORD) is Outcome.APPLIED
    assert shop.sets == []
    assert versions.get("SKU-003") == T0


async def test_the_same_event_again_uses_the_same_idempotency_key() -> None:
    keys = []
    for _ in range(2):
        shop = Shop(10)
        await InventorySink(target(shop), Versions(), topic="t", name="f").apply(
            event(level(4), "same-event"), RECORD
        )
        keys.append(shop.sets[0]["idempotency_key"])
    assert keys[0] == keys[1]


async def test_an_unknown_sku_is_dead_lettered_naming_it() -> None:
    sink = InventorySink(target(Shop()), Versions(), topic="t", name="f")
    with pytest.raises(Rejected, match="SKU-999") as caught:
        await sink.apply(event(level(1, sku="SKU-999")), RECORD)
    assert caught.value.field == "sku"


async def test_a_price_is_set_once_and_never_backwards() -> None:
    shop, versions = Shop(), Versions()
    sink = PriceSink(target(shop), versions, topic="t", name="f")
    price = {"sku": "SKU-003", "price": Decimal("41.5000"), "version": T0, "source_system": "odoo"}
    assert await sink.apply(event(price), RECORD) is Outcome.APPLIED
    older = price | {"price": Decimal("30.0000"), "version": T0 - timedelta(minutes=1)}
    assert await sink.apply(event(older), RECORD) is Outcome.DUPLICATE
    same = price | {"version": T0 + timedelta(minutes=1)}
    assert await sink.apply(event(same), RECORD) is Outcome.APPLIED
    assert shop.prices == [Decimal("41.5000")]  # the equal price was not written again


async def test_a_variant_replaced_in_the_shop_is_looked_up_afresh() -> None:
    shop, versions = Shop(10), Versions()
    sink = InventorySink(target(shop), versions, topic="t", name="f")
    await sink.apply(event(level(7), "first"), RECORD)
    shop.item = "gid://shopify/InventoryItem/30"  # the merchant recreated the variant
    assert await sink.apply(event(level(5), "second"), RECORD) is Outcome.APPLIED
    assert shop.level == 5
    assert shop.lookups == 2
