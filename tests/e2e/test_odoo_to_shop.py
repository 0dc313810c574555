"""Stock and prices from the sandbox Odoo into the sandbox shop, through every service.

Changes are made in Odoo as the user ``demo`` (a person); Ferry's own user is ``admin``.
Counts and values come from the fixed vectors below, read back from the sandbox shop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from ferry.envelope import CloudEvent
from ferry.serde import SingleObjectSerde
from tests.support.kafka_read import group_lag, read_all
from tests.support.odoo_rpc import OdooReader
from tests.support.platform import Platform

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SKUS = [f"SKU-00{n}" for n in range(1, 6)]
SERDE = SingleObjectSerde()


@pytest.fixture(scope="module")
def demo(platform: Platform) -> Iterator[OdooReader]:
    answer = httpx.post(f"{platform.odoo_url}/__sandbox__/users/demo/api_key", timeout=10).json()
    reader = OdooReader(platform.odoo_url, answer["key"], login="demo")
    yield reader
    reader.close()


def shop_items(platform: Platform) -> dict[str, dict[str, Any]]:
    answer = httpx.get(f"{platform.shop_url}/__sandbox__/inventory", timeout=10).json()
    return {item["sku"]: item for item in answer["items"]}


def odoo_products(odoo: OdooReader) -> dict[str, dict[str, Any]]:
    rows = odoo.execute_kw(
        "product.product",
        "search_read",
        [[["default_code", "in", SKUS]]],
        {
            "fields": ["default_code", "free_qty", "qty_available", "list_price"],
            "context": {"warehouse": "WH", "warehouse_id": warehouse_id(odoo)},
        },
    )
    return {r["default_code"]: r for r in rows}


def warehouse_id(odoo: OdooReader) -> int:
    [found] = odoo.execute_kw("stock.warehouse", "search", [[["code", "=", "WH"]]])
    return int(found)


def set_on_hand(odoo: OdooReader, product_id: int, quantity: float) -> None:
    """An inventory adjustment, as a person makes it in Odoo's Inventory app."""
    [stock] = odoo.execute_kw(
        "stock.warehouse", "search_read", [[["code", "=", "WH"]]], {"fields": ["lot_stock_id"]}
    )
    location = stock["lot_stock_id"][0]
    quants = odoo.execute_kw(
        "stock.quant",
        "search",
        [[["product_id", "=", product_id], ["location_id", "=", location]]],
    )
    if quants:
        odoo.execute_kw("stock.quant", "write", [quants, {"inventory_quantity": quantity}])
    else:
        quants = [
            odoo.execute_kw(
                "stock.quant",
                "create",
                [
                    {
                        "product_id": product_id,
                        "location_id": location,
                        "inventory_quantity": quantity,
                    }
                ],
            )
        ]
    odoo.execute_kw("stock.quant", "action_apply_inventory", [quants])


async def until(check: Any, what: str, timeout_s: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.3)


async def settled(platform: Platform) -> None:
    """Nothing left to read for the Odoo-to-shop stages, then a quiet period."""
    for group, topic in (
        ("ferry-streams", "src.odoo.stock"),
        ("ferry-streams", "src.odoo.products"),
        ("ferry-sink-odoo-stock-to-shop", "sink.shop.inventory"),
        ("ferry-sink-odoo-prices-to-shop", "sink.shop.prices"),
    ):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while await group_lag(platform.bootstrap, group, topic):
            assert loop.time() < deadline, f"{group} still lags on {topic}"
            await asyncio.sleep(0.3)
    await asyncio.sleep(2.0)


async def test_the_shop_holds_odoos_free_quantity_for_every_sku(
    platform: Platform, demo: OdooReader
) -> None:
    products = odoo_products(demo)
    assert sorted(products) == SKUS
    # The first poll brought every level over; then a person adjusts two products, one twice.
    changes = [("SKU-001", 40.0), ("SKU-002", 12.0), ("SKU-001", 35.0)]
    for sku, quantity in changes:
        set_on_hand(demo, products[sku]["id"], quantity)
    final = odoo_products(demo)
    assert (final["SKU-001"]["qty_available"], final["SKU-002"]["qty_available"]) == (35.0, 12.0)
    wanted = {sku: int(final[sku]["free_qty"]) for sku in SKUS}
    await until(
        lambda: {s: i["available"] for s, i in shop_items(platform).items() if s in SKUS} == wanted,
        f"the shop's levels {wanted}",
    )
    await settled(platform)
    assert {s: i["available"] for s, i in shop_items(platform).items() if s in SKUS} == wanted


async def test_prices_follow_a_person_and_ferrys_own_writes_are_echoes(
    platform: Platform, demo: OdooReader, odoo: OdooReader
) -> None:
    products = odoo_products(demo)
    demo.execute_kw(
        "product.product", "write", [[products["SKU-004"]["id"]], {"list_price": 57.25}]
    )
    before = shop_items(platform)["SKU-005"]["price"]
    odoo.execute_kw("product.product", "write", [[products["SKU-005"]["id"]], {"list_price": 1.0}])
    await until(lambda: shop_items(platform)["SKU-004"]["price"] == "57.25", "SKU-004 at 57.25")
    await settled(platform)
    items = shop_items(platform)
    assert items["SKU-004"]["price"] == "57.25"
    assert items["SKU-005"]["price"] == before  # Ferry's own write never travelled
    key = f"odoo:product:{products['SKU-005']['id']}".encode()
    after = [
        SERDE.decode(r.value).record
        for r in await read_all(platform.bootstrap, "src.odoo.products")
        if r.key == key and r.value
    ]
    assert [e for e in after if e["list_price"] is not None and float(e["list_price"]) == 1.0] == []


async def test_an_older_level_never_overwrites_a_newer_one(
    platform: Platform, demo: OdooReader
) -> None:
    await settled(platform)
    level = shop_items(platform)["SKU-001"]["available"]
    old = {
        "sku": "SKU-001",
        "available": level + 500,
        "version": datetime.now(UTC) - timedelta(days=1),
        "source_system": "odoo",
    }
    envelope = CloudEvent(
        id=str(uuid.uuid4()), source="test/replay", type="shop.inventory.set", subject="x"
    )
    producer = AIOKafkaProducer(bootstrap_servers=platform.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            "sink.shop.inventory",
            SERDE.encode("shop.inventory.set", old),
            key=b"odoo:product:replayed",
            headers=envelope.to_headers(),
        )
    finally:
        await producer.stop()
    await settled(platform)
    assert shop_items(platform)["SKU-001"]["available"] == level


async def test_a_shop_order_confirmed_in_odoo_lowers_the_shop_by_its_quantity(
    platform: Platform, demo: OdooReader
) -> None:
    await settled(platform)
    before = shop_items(platform)["SKU-003"]["available"]
    assert before == int(odoo_products(demo)["SKU-003"]["free_qty"])
    async with httpx.AsyncClient(timeout=10) as http:
        placed = await http.post(
            f"{platform.shop_url}/__sandbox__/orders",
            json={
                "line_items": [{"sku": "SKU-003", "quantity": 2}],
                "email": f"loop-{uuid.uuid4().hex[:6]}@example.com",
                "currency": "EUR",
            },
        )
    assert placed.status_code == 201, placed.text
    await until(
        lambda: int(odoo_products(demo)["SKU-003"]["free_qty"]) == before - 2,
        "Odoo to reserve the 2 units",
    )
    await settled(platform)
    assert shop_items(platform)["SKU-003"]["available"] == before - 2
