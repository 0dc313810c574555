"""Recovery through every service: a fixed dead letter replayed makes one order; a day of
orders replayed changes nothing; reconciliation finds nothing missing or different."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from consumers.odoo.reconcile import expected_orders, judge, odoo_orders
from consumers.runner import group_id
from ferry.ops.dlq import Filters, dead_letters, replay
from ferry.ops.replay import plan, replay_range
from ferry.registry import load
from producers.shop.sample import signed_request
from streams.app import APP_ID
from tests.support.kafka_read import until_no_lag
from tests.support.odoo_rpc import OdooReader
from tests.support.orders import order_ids, unique_order
from tests.support.platform import Platform
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SRC, SINK = "src.shop.orders", "sink.odoo.sale_orders"
FLOW = "shop-orders-to-odoo"


@pytest.fixture
async def producer(platform: Platform) -> AsyncIterator[AIOKafkaProducer]:
    made = AIOKafkaProducer(
        bootstrap_servers=platform.bootstrap, acks="all", enable_idempotence=True
    )
    await made.start()
    yield made
    await made.stop()


async def _send(platform: Platform, orders: list[dict[str, Any]]) -> None:
    async with httpx.AsyncClient(timeout=30.0) as http:
        for order in orders:
            body, headers = signed_request(
                order, platform.webhook_secret, delivery_id=str(uuid.uuid4())
            )
            answer = await http.post(platform.gateway_url, content=body, headers=headers)
            assert answer.status_code == 202


async def _quiet(platform: Platform) -> None:
    await until_no_lag(platform.bootstrap, APP_ID, SRC)
    await until_no_lag(platform.bootstrap, group_id(FLOW), SINK)


def _confirmed(odoo: OdooReader, names: list[str]) -> int:
    return sum(o["state"] == "sale" for o in odoo.sale_orders_by_xmlid(names).values())


async def test_a_dead_letter_replayed_after_its_cause_was_fixed_makes_exactly_one_order(
    platform: Platform, odoo: OdooReader, producer: AIOKafkaProducer
) -> None:
    [order_id] = order_ids(1)
    sku = f"SKU-R{order_id}"
    order = unique_order(order_id)
    order["line_items"][0]["sku"] = sku  # a product Odoo does not have yet
    await _send(platform, [order])
    key = f"shop:order:{order_id}"
    found: list[Any] = []

    async def dead_lettered() -> bool:
        found[:] = await dead_letters(platform.bootstrap, [f"dlq.{SINK}"], Filters(key=key))
        return bool(found)

    deadline = asyncio.get_running_loop().time() + 120
    while not await dead_lettered():
        assert asyncio.get_running_loop().time() < deadline, "the order was not dead-lettered"
        await asyncio.sleep(0.5)
    assert found[0].error["field"] == "order_lines[0].default_code"

    odoo.execute_kw(
        "product.product",
        "create",
        [{"name": "Replay mug", "default_code": sku, "list_price": 5.0}],
    )
    assert await replay(producer, found) == 1
    name = f"shop_order_{order_id}"
    await eventually(lambda: _confirmed(odoo, [name]) == 1, what="the replayed order confirmed")
    assert await replay(producer, found) == 1  # replayed again: still one order
    await _quiet(platform)
    ref = order["name"]
    assert odoo.count("sale.order", [["client_order_ref", "=", ref]]) == 1


async def test_replaying_a_day_of_orders_leaves_odoo_unchanged_and_reconciled(
    platform: Platform, odoo: OdooReader, producer: AIOKafkaProducer
) -> None:
    ids = order_ids(5)
    # The day's range: since this test began (the session's topics hold other platforms' orders).
    began = datetime.now(UTC) - timedelta(seconds=1)
    await _send(platform, [unique_order(i) for i in ids])
    names = [f"shop_order_{i}" for i in ids]
    await eventually(lambda: _confirmed(odoo, names) == len(ids), what="5 confirmed orders")
    await _quiet(platform)
    before_total = odoo.count("sale.order", [])
    before = odoo.sale_orders_by_xmlid(names)

    day = await plan(platform.bootstrap, SRC, began, None)
    assert day.records == len(ids)
    assert await replay_range(platform.bootstrap, day, producer) == day.records
    await _quiet(platform)
    assert odoo.count("sale.order", []) == before_total
    after = odoo.sale_orders_by_xmlid(names)
    assert {n: (o["state"], o["amount_total"]) for n, o in after.items()} == {
        n: (o["state"], o["amount_total"]) for n, o in before.items()
    }

    registry = load(environ=platform.env)
    flow = registry.flow(FLOW)
    expected, _ = await expected_orders(platform.bootstrap, flow, registry.serde())
    mine = {f"ferry.{n}": expected[f"ferry.{n}"] for n in names}
    system = flow.target.system
    assert system.connect is not None
    target: Any = system.connect(registry.system_settings(system), platform.env)
    try:
        found = await odoo_orders(target.odoo, sorted(mine))
    finally:
        await target.aclose()
    report = judge(FLOW, mine, found, 0, all_of_target=False)
    assert report.checked == len(ids)
    assert report.mismatches == []
