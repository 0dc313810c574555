"""Stock in the sandbox Odoo and levels in the sandbox shop, for the tests of flows between them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.kafka_read import group_lag
from tests.support.odoo_rpc import OdooReader
from tests.support.platform import Platform

__all__ = ["SKUS", "odoo_products", "set_on_hand", "settled", "shop_items", "until", "warehouse_id"]

SKUS = [f"SKU-00{n}" for n in range(1, 6)]


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


async def until(
    check: Any, what: str, timeout_s: float = 60.0, *, seen: Callable[[], object] | None = None
) -> None:
    """Wait until ``check()`` is true; on timeout the error shows ``seen()`` (what was there)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        if loop.time() > deadline:
            shown = f"; seen instead: {seen()}" if seen is not None else ""
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}{shown}")
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
