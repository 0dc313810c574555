"""Stock and prices from the sandbox Odoo into the sandbox shop, through every service.

Changes are made in Odoo as the user ``demo`` (a person); Ferry's own user is ``admin``.
Counts and values come from the fixed vectors below, read back from the sandbox shop.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from ferry.envelope import CloudEvent
from ferry.serde import SingleObjectSerde
from tests.support.kafka_read import read_all
from tests.support.odoo_rpc import OdooReader
from tests.support.platform import Platform, logged_errors
from tests.support.stock import SKUS, odoo_products, set_on_hand, settled, shop_items, until

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SERDE = SingleObjectSerde()


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


async def test_partners_ferry_creates_are_echoes_a_persons_edit_is_news(
    platform: Platform, demo: OdooReader, odoo: OdooReader
) -> None:
    email = f"echo-{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient(timeout=10) as http:
        placed = await http.post(
            f"{platform.shop_url}/__sandbox__/orders",
            json={"line_items": [{"sku": "SKU-005", "quantity": 1}], "email": email},
        )
    assert placed.status_code == 201, placed.text
    await until(
        lambda: odoo.count("res.partner", [["email", "=", email]]) == 1, "Ferry's partner in Odoo"
    )
    [partner] = odoo.execute_kw("res.partner", "search", [[["email", "=", email]]])
    key = f"odoo:partner:{partner}".encode()

    async def events() -> list[dict[str, Any]]:
        # By key and e-mail: other Odoo instances of the session write the same topic.
        found = [
            SERDE.decode(r.value).record
            for r in await read_all(platform.bootstrap, "src.odoo.partners")
            if r.key == key and r.value
        ]
        return [e for e in found if e["email"] == email]

    await settled(platform)
    assert await events() == []  # written by Ferry: never captured back
    demo.execute_kw("res.partner", "write", [[partner], {"phone": "+49 30 1234567"}])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not await events():
        assert loop.time() < deadline, "the person's edit was not captured"
        await asyncio.sleep(0.3)
    await settled(platform)
    [edited] = await events()
    assert (edited["partner_id"], edited["email"]) == (partner, email)


def test_no_service_logged_an_error_or_a_traceback(platform: Platform) -> None:
    """Last in this module: everything above ran on this platform, and nothing went wrong."""
    found = logged_errors(platform.log_dir)
    assert not found, "\n".join(found[:20])
