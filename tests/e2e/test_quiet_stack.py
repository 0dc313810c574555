"""A quiet stack stays quiet: after one order through every stage, two idle minutes in which
no service logs an ERROR or a Traceback, and after which every service still runs.

The platform runs as ``make up`` runs it (every service of the registry, the capture on its
defaults) with faust's watchdog sharpened to fit the window, on its own state directory,
against the session's broker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from consumers.runner import group_id
from ferry.registry import load
from producers.shop.sample import signed_request
from streams.app import APP_ID
from tests.support.kafka_read import until_no_lag
from tests.support.odoo_rpc import OdooReader
from tests.support.orders import order_ids, unique_order
from tests.support.platform import Platform, logged_errors, running_platform
from tests.support.stock import SKUS, odoo_products, settled, shop_items, until
from tests.support.waiting import eventually

IDLE_S = 120.0
CHECK_EVERY_S = 5.0

# Two idle minutes, plus the start and one order.
pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(IDLE_S + 300)]

# running_platform tunes the capture for the flow tests; `make up` runs it on its defaults.
AS_MAKE_UP = {
    "FERRY__SYSTEMS__ODOO__CAPTURE__INTERVAL_S": "5",
    "FERRY__SYSTEMS__ODOO__CAPTURE__MODELS": "[]",
}
# faust's watchdog (stream_processing_timeout, broker_commit_livelock_soft_timeout) judges a
# partition only once the worker has run that long: 5 min by default, past the idle window.
# At 30 s, what a quiet stack would log after 5 min shows within the two minutes.
WATCHDOG = {"STREAM_PROCESSING_TIMEOUT": "30", "BROKER_COMMIT_LIVELOCK_SOFT_TIMEOUT": "30"}


@pytest.fixture(scope="module")
def platform(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    state_dir = tmp_path_factory.mktemp("quiet-platform")
    with running_platform(kafka_bootstrap, state_dir, extra_env=AS_MAKE_UP | WATCHDOG) as running:
        yield running


async def _caught_up(platform: Platform) -> None:
    """Every consumer group of every enabled flow has committed all its topic holds."""
    registry = load(environ=platform.env)
    groups = [(APP_ID, flow.source.topic) for flow in registry.enabled]
    groups += [(group_id(flow.name), flow.target.topic) for flow in registry.sink_flows()]
    for group, topic in groups:
        await until_no_lag(platform.bootstrap, group, topic)


def _shop_levels_if_in_step(platform: Platform, odoo: OdooReader) -> dict[str, int] | None:
    """The shop's levels, when they are Odoo's free quantities (else None)."""
    shop = {sku: item["available"] for sku, item in shop_items(platform).items() if sku in SKUS}
    free = {sku: int(product["free_qty"]) for sku, product in odoo_products(odoo).items()}
    return shop if shop == free else None


def _report(found: list[str], when: str) -> str:
    shown = "\n".join(found[:30])
    more = f"\n… and {len(found) - 30} more" if len(found) > 30 else ""
    return f"{len(found)} ERROR/Traceback line(s) {when}:\n{shown}{more}"


async def test_an_idle_stack_logs_no_error_and_keeps_running(
    platform: Platform, odoo: OdooReader
) -> None:
    await until(lambda: _shop_levels_if_in_step(platform, odoo), "the shop's first levels")
    before = _shop_levels_if_in_step(platform, odoo) or {}
    [order_id] = order_ids(1)
    order = unique_order(order_id)
    skus = {line["sku"] for line in order["line_items"]}
    body, headers = signed_request(order, platform.webhook_secret)
    async with httpx.AsyncClient(timeout=30.0) as http:
        response = await http.post(platform.gateway_url, content=body, headers=headers)
    assert response.status_code == 202, response.text
    name = f"shop_order_{order_id}"
    await eventually(
        lambda: odoo.sale_orders_by_xmlid([name]).get(name, {}).get("state") == "sale",
        what="the order confirmed in Odoo",
    )

    # The confirmation reserved stock: the capture, streams and the shop sink did work too.
    def reserved() -> bool:
        levels = _shop_levels_if_in_step(platform, odoo)
        return levels is not None and all(levels[sku] < before[sku] for sku in skus)

    await until(reserved, "the reservation in the shop's levels")
    await settled(platform)
    await _caught_up(platform)
    found = logged_errors(platform.log_dir)
    assert not found, _report(found, "while the order went through")

    began = time.monotonic()
    while (left := IDLE_S - (time.monotonic() - began)) > 0:
        await asyncio.sleep(min(CHECK_EVERY_S, left))
        idle = f"after {time.monotonic() - began:.0f} s idle"
        found = logged_errors(platform.log_dir)
        assert not found, _report(found, idle)
        assert not platform.stack.dead(), f"a service stopped {idle}: {platform.stack.dead()}"

    registry = load(environ=platform.env)
    every = sorted(spec.name for spec in registry.services(platform.log_dir.parent))
    assert sorted(platform.stack.names) == every
    assert platform.stack.dead() == []
