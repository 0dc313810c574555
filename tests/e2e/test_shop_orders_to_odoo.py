"""Shop orders through every service into the sandbox Odoo, counted in and out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from consumers.runner import group_id
from ferry.envelope import header
from producers.shop.sample import signed_request
from streams.app import APP_ID
from tests.support.kafka_read import until_no_lag, wait_for_keys
from tests.support.odoo_rpc import OdooReader
from tests.support.orders import order_ids, unique_order
from tests.support.platform import Platform
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


async def _post(
    platform: Platform, orders: list[dict[str, Any]], *, twice: bool = False
) -> list[httpx.Response]:
    responses = []
    async with httpx.AsyncClient(timeout=30.0) as http:
        for order in orders:
            delivery = str(uuid.uuid4())
            body, headers = signed_request(order, platform.webhook_secret, delivery_id=delivery)
            for _ in range(2 if twice else 1):
                responses.append(
                    await http.post(platform.gateway_url, content=body, headers=headers)
                )
    return responses


def _xmlids(order_ids: list[int]) -> list[str]:
    return [f"shop_order_{i}" for i in order_ids]


async def test_valid_orders_become_exactly_one_confirmed_sale_order_each(
    platform: Platform, odoo: OdooReader
) -> None:
    ids = order_ids(12)
    orders = [unique_order(i) for i in ids]
    responses = await _post(platform, orders)
    assert [r.status_code for r in responses] == [202] * len(ids)

    names = _xmlids(ids)
    await eventually(
        lambda: (
            sum(o["state"] == "sale" for o in odoo.sale_orders_by_xmlid(names).values()) == len(ids)
        ),
        what=f"{len(ids)} confirmed sale orders",
    )
    found = odoo.sale_orders_by_xmlid(names)
    assert sorted(found) == sorted(names)
    for order, name in zip(orders, names, strict=True):
        assert len(found[name]["order_line"]) == len(order["line_items"])
    # Nothing else was created for these orders.
    refs = [o["client_order_ref"] for o in found.values()]
    assert odoo.count("sale.order", [["client_order_ref", "in", refs]]) == len(ids)


async def test_invalid_orders_are_dead_lettered_with_their_reason(
    platform: Platform, odoo: OdooReader
) -> None:
    ids = order_ids(4)
    kinds = {"zero_quantity": "quantity", "unknown_currency": "currency", "missing_email": "email"}
    cases = list(kinds.items())
    orders = [unique_order(i, invalid=kind) for i, (kind, _) in zip(ids, cases, strict=False)]
    # One more: a malformed country code.
    bad_country = unique_order(ids[3])
    bad_country["shipping_address"]["country_code"] = "Germany"
    orders.append(bad_country)
    expected_field = [field for _, field in cases] + ["country_code"]
    responses = await _post(platform, orders)
    assert [r.status_code for r in responses] == [202] * len(orders)

    keys = {f"shop:order:{i}".encode(): f for i, f in zip(ids, expected_field, strict=True)}

    letters = await wait_for_keys(
        platform.bootstrap, "dlq.src.shop.orders", set(keys), count=len(orders)
    )
    assert len(letters) == len(orders)
    for letter in letters:
        field = header(letter.headers, "ferry.error.field") or ""
        message = header(letter.headers, "ferry.error.message") or ""
        assert keys[letter.key] in field, (field, message)
        assert header(letter.headers, "ferry.error.class") == "ValidationError"
        assert header(letter.headers, "ferry.error.topic") == "src.shop.orders"
        assert message, "a dead letter must say why"
        assert header(letter.headers, "ce_type") == "shop.order.created"
    # None of them reached Odoo.
    assert odoo.sale_orders_by_xmlid(_xmlids(ids)) == {}


async def test_every_webhook_sent_twice_changes_nothing(
    platform: Platform, odoo: OdooReader
) -> None:
    ids = order_ids(6)
    orders = [unique_order(i) for i in ids]
    responses = await _post(platform, orders, twice=True)
    # The same delivery again is a replay: answered 200, nothing produced.
    assert [r.status_code for r in responses] == [202, 200] * len(ids)
    assert all(r.json()["duplicate"] for r in responses[1::2])
    # The same orders as new deliveries (a shop resending): accepted, and changing nothing.
    resent = await _post(platform, orders)
    assert [r.status_code for r in resent] == [202] * len(ids)

    names = _xmlids(ids)
    await eventually(
        lambda: (
            sum(o["state"] == "sale" for o in odoo.sale_orders_by_xmlid(names).values()) == len(ids)
        ),
        what="the confirmed sale orders",
    )
    # Nothing more on its way (both stages committed all they hold), then count exactly.
    await until_no_lag(platform.bootstrap, APP_ID, "src.shop.orders")
    await until_no_lag(platform.bootstrap, group_id("shop-orders-to-odoo"), "sink.odoo.sale_orders")
    found = odoo.sale_orders_by_xmlid(names)
    assert len(found) == len(ids)
    refs = [o["client_order_ref"] for o in found.values()]
    assert odoo.count("sale.order", [["client_order_ref", "in", refs]]) == len(ids)


async def test_unknown_sku_is_dead_lettered_by_the_sink(
    platform: Platform, odoo: OdooReader
) -> None:
    ids = order_ids(2)
    good, unknown = unique_order(ids[0]), unique_order(ids[1], invalid="unknown_sku")
    responses = await _post(platform, [good, unknown])
    assert [r.status_code for r in responses] == [202, 202]

    key = f"shop:order:{ids[1]}".encode()
    letters = await wait_for_keys(platform.bootstrap, "dlq.sink.odoo.sale_orders", {key}, count=1)
    assert len(letters) == 1
    assert "default_code" in (header(letters[0].headers, "ferry.error.field") or "")
    assert "SKU-999" in (header(letters[0].headers, "ferry.error.message") or "")
    await eventually(
        lambda: len(odoo.sale_orders_by_xmlid(_xmlids(ids[:1]))) == 1, what="the good order"
    )
    assert odoo.sale_orders_by_xmlid(_xmlids(ids[1:])) == {}


async def test_an_order_updated_then_cancelled_in_the_shop_ends_cancelled_in_odoo_once(
    platform: Platform, odoo: OdooReader
) -> None:
    [order_id] = order_ids(1)
    created = unique_order(order_id)
    stamp = datetime.fromisoformat(created["updated_at"])
    updated = {
        **created,
        "note": "gift wrap",
        "updated_at": (stamp + timedelta(minutes=5)).isoformat(),
    }
    cancelled = {
        **updated,
        "updated_at": (stamp + timedelta(minutes=9)).isoformat(),
        "cancelled_at": (stamp + timedelta(minutes=9)).isoformat(),
    }
    async with httpx.AsyncClient(timeout=30.0) as http:
        for body_order, topic in (
            (created, "orders/create"),
            (updated, "orders/updated"),
            (cancelled, "orders/cancelled"),
        ):
            body, headers = signed_request(
                body_order, platform.webhook_secret, delivery_id=str(uuid.uuid4()), topic=topic
            )
            assert (
                await http.post(platform.gateway_url, content=body, headers=headers)
            ).status_code == 202
    [name] = _xmlids([order_id])
    await eventually(
        lambda: odoo.sale_orders_by_xmlid([name]).get(name, {}).get("state") == "cancel",
        what="the order cancelled in Odoo",
    )
    await asyncio.sleep(3)  # a late duplicate or a revival would show now
    found = odoo.sale_orders_by_xmlid([name])
    assert found[name]["state"] == "cancel"
    assert (
        odoo.count("sale.order", [["client_order_ref", "=", found[name]["client_order_ref"]]]) == 1
    )
