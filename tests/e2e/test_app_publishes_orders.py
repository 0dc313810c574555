"""A connected app (a point-of-sale, say) publishes orders through the publish API: they become
confirmed sale orders in Odoo exactly as webhooks do, once each, whatever the repeats."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from consumers.runner import group_id
from ferry.apps import AppAdmin, resolve_pepper
from ferry.registry import load
from producers.shop.webhook import order_record
from streams.app import APP_ID
from tests.support.kafka_read import until_no_lag
from tests.support.odoo_rpc import OdooReader
from tests.support.orders import order_ids, unique_order
from tests.support.platform import Platform
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

TYPE = "shop.order.created"
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def pos_order(order_id: int) -> dict[str, Any]:
    """An order as the point-of-sale publishes it: the shop.order.created record in JSON."""
    record: dict[str, Any] = _json(
        order_record(unique_order(order_id), delivery_id=f"pos-{order_id}")
    )
    return record


def event(order_id: int) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"pos-{order_id}",
        "source": "pos/store-7",
        "type": TYPE,
        "data": pos_order(order_id),
    }


@pytest.fixture(scope="module")
async def pos_key(platform: Platform) -> str:
    registry = load(environ=platform.env)
    settings = registry.settings
    pepper = resolve_pepper(settings.apps, platform.env)
    async with AppAdmin(settings.kafka, settings.apps, pepper) as admin:
        existing = admin.directory.get("pos")
        if existing is not None and not existing.revoked:
            _, key = await admin.rotate("pos", grace_s=0)
        else:
            _, key = await admin.create("pos", [TYPE], 1000)
    await _until_serving(platform, key)
    return key


async def _until_serving(platform: Platform, key: str, timeout_s: float = 60.0) -> None:
    """Until the publish API has read the apps (it answers 503 before) and knows ``key``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with httpx.AsyncClient(base_url=_base(platform), timeout=10.0) as http:
        while True:
            answer = await _publish(http, key, [], BATCH)  # an empty batch: 400 once serving
            if answer.status_code == 400:
                return
            assert loop.time() < deadline, f"publish API not serving: {answer.status_code}"
            await asyncio.sleep(0.25)


def _base(platform: Platform) -> str:
    return platform.gateway_url.split("/webhooks/")[0]


async def _publish(http: httpx.AsyncClient, key: str, body: Any, media: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}", "content-type": media}
    return await http.post("/v1/events", content=json.dumps(body).encode(), headers=headers)


async def test_published_orders_become_one_confirmed_sale_order_each(
    platform: Platform, odoo: OdooReader, pos_key: str
) -> None:
    ids = order_ids(10)
    singles, batched = ids[:4], ids[4:]
    events = {order_id: event(order_id) for order_id in ids}
    async with httpx.AsyncClient(base_url=_base(platform), timeout=30.0) as http:
        answers = []
        for order_id in singles:
            answers.append(await _publish(http, pos_key, events[order_id], STRUCTURED))
        batch = await _publish(http, pos_key, [events[i] for i in batched], BATCH)
        # Repeats, one by one and as a batch: the first answers again, nothing produced.
        repeat = await _publish(http, pos_key, events[singles[0]], STRUCTURED)
        repeat_batch = await _publish(http, pos_key, list(events.values()), BATCH)
        changed = dict(events[singles[1]], subject="another")
        conflict = await _publish(http, pos_key, changed, STRUCTURED)
    assert [a.status_code for a in answers] == [202] * len(singles)
    assert batch.status_code == 207
    assert batch.json()["accepted"] == len(batched)
    assert repeat.status_code == 202
    assert repeat.headers["idempotent-replayed"] == "true"
    assert repeat_batch.json()["accepted"] == len(ids), repeat_batch.text
    assert conflict.status_code == 422  # the same source and id, another body

    names = [f"shop_order_{i}" for i in ids]
    await eventually(
        lambda: (
            sum(o["state"] == "sale" for o in odoo.sale_orders_by_xmlid(names).values()) == len(ids)
        ),
        what=f"{len(ids)} confirmed sale orders",
    )
    # Nothing more is on its way (both stages committed all), then count exactly.
    await until_no_lag(platform.bootstrap, APP_ID, "src.shop.orders")
    await until_no_lag(platform.bootstrap, group_id("shop-orders-to-odoo"), "sink.odoo.sale_orders")
    found = odoo.sale_orders_by_xmlid(names)
    refs = [o["client_order_ref"] for o in found.values()]
    assert sorted(found) == sorted(names)
    assert odoo.count("sale.order", [["client_order_ref", "in", refs]]) == len(ids)


async def test_an_app_is_refused_what_it_was_not_granted_and_a_wrong_key_is_401(
    platform: Platform, pos_key: str
) -> None:
    async with httpx.AsyncClient(base_url=_base(platform), timeout=30.0) as http:
        wrong = await _publish(http, pos_key + "x", event(1), STRUCTURED)
        other_type = dict(event(2), type="odoo.product.changed")
        refused = await _publish(http, pos_key, other_type, STRUCTURED)
        spec = await http.get("/v1/openapi.json")
    assert wrong.status_code == 401
    assert pos_key not in wrong.text
    assert refused.status_code in (403, 404)
    assert spec.status_code == 200
    assert TYPE.replace(".", "_") in spec.json()["components"]["schemas"]
