"""Odoo and the shop misbehave while stock flows from one to the other: nothing is
dead-lettered, and once they recover the shop holds Odoo's latest levels."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.support.kafka_read import read_all
from tests.support.odoo_rpc import OdooReader
from tests.support.platform import Platform
from tests.support.stock import odoo_products, set_on_hand, settled, shop_items, until

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

DLQS = ("dlq.sink.shop.inventory", "dlq.src.odoo.stock")


async def dead_letters(platform: Platform) -> int:
    return sum([len(await read_all(platform.bootstrap, topic)) for topic in DLQS])


async def post(url: str, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(url, json=body)
        assert answer.status_code == 200, answer.text


def sink_warnings(platform: Platform, last: int = 8) -> list[str]:
    """The shop sink's last WARNING and ERROR lines: what held it back."""
    text = (platform.log_dir / "shop-sink.log").read_text(errors="replace")
    lines = [line for line in text.splitlines() if "level=warning" in line or "level=error" in line]
    return lines[-last:]


def levels(platform: Platform, skus: list[str]) -> dict[str, int]:
    items = shop_items(platform)
    return {sku: items[sku]["available"] for sku in skus}


async def test_shop_down_then_back_levels_right_and_nothing_dead_lettered(
    platform: Platform,
    demo: OdooReader,
) -> None:
    products = odoo_products(demo)
    await settled(platform)
    before = await dead_letters(platform)
    await post(f"{platform.shop_url}/__sandbox__/faults", {"downtime_seconds": 6})
    for n, sku in enumerate(("SKU-001", "SKU-002", "SKU-001")):
        set_on_hand(demo, products[sku]["id"], 20.0 + n)
    wanted = {"SKU-001": 22, "SKU-002": 21}
    await until(lambda: levels(platform, list(wanted)) == wanted, "the levels after the downtime")
    await settled(platform)
    assert levels(platform, list(wanted)) == wanted
    assert await dead_letters(platform) == before


async def test_a_throttled_shop_slows_the_sink_and_nothing_is_dead_lettered(
    platform: Platform,
    demo: OdooReader,
) -> None:
    products = odoo_products(demo)
    await settled(platform)
    before = await dead_letters(platform)
    settings = f"{platform.shop_url}/__sandbox__/settings"
    await post(settings, {"maximum_available": 40, "restore_rate": 10, "fill_bucket": True})
    try:
        wanted = {}
        for n in range(12):
            sku = f"SKU-00{1 + n % 5}"
            wanted[sku] = 30 + n
            set_on_hand(demo, products[sku]["id"], float(30 + n))
        await until(
            lambda: levels(platform, list(wanted)) == wanted,
            f"every level, throttled: {wanted}",
            seen=lambda: (levels(platform, list(wanted)), sink_warnings(platform)),
        )
        await settled(platform)
        assert levels(platform, list(wanted)) == wanted
        assert await dead_letters(platform) == before
    finally:
        await post(settings, {"maximum_available": 2000, "restore_rate": 100, "fill_bucket": True})


async def test_an_expired_token_is_refreshed(platform: Platform, demo: OdooReader) -> None:
    products = odoo_products(demo)
    await settled(platform)
    before = await dead_letters(platform)
    await post(f"{platform.shop_url}/__sandbox__/tokens/expire", {})
    set_on_hand(demo, products["SKU-003"]["id"], 61.0)
    await until(lambda: levels(platform, ["SKU-003"]) == {"SKU-003": 61}, "SKU-003 at 61")
    assert await dead_letters(platform) == before


async def test_odoo_down_the_capture_waits_and_catches_up(
    platform: Platform,
    demo: OdooReader,
) -> None:
    products = odoo_products(demo)
    await settled(platform)
    readyz = f"http://127.0.0.1:{platform.ports['capture']}/readyz"
    set_on_hand(demo, products["SKU-004"]["id"], 44.0)
    await post(f"{platform.odoo_url}/__sandbox__/faults", {"downtime_seconds": 15})

    async def capture_not_ready() -> bool:
        async with httpx.AsyncClient(timeout=5) as http:
            return (await http.get(readyz)).status_code == 503

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not await capture_not_ready():
        assert loop.time() < deadline, "the capture stayed ready while Odoo was down"
        await asyncio.sleep(0.3)
    await until(lambda: levels(platform, ["SKU-004"]) == {"SKU-004": 44}, "SKU-004 at 44", 90)
