"""The Odoo sink killed with SIGKILL mid-run and restarted: nothing lost, nothing doubled."""

from __future__ import annotations

import signal
import uuid

import httpx
import pytest

from producers.shop.sample import signed_request
from tests.support.odoo_rpc import OdooReader
from tests.support.orders import unique_order
from tests.support.platform import Platform
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


async def test_sink_sigkilled_mid_run_loses_nothing_and_doubles_nothing(
    platform: Platform, odoo: OdooReader
) -> None:
    count = 40
    base = uuid.uuid4().int % 10**12 * 1000
    ids = [base + n for n in range(count)]
    names = [f"shop_order_{i}" for i in ids]

    async with httpx.AsyncClient(timeout=30.0) as http:
        for n, order_id in enumerate(ids):
            body, headers = signed_request(
                unique_order(order_id), platform.webhook_secret, delivery_id=str(uuid.uuid4())
            )
            response = await http.post(platform.gateway_url, content=body, headers=headers)
            assert response.status_code == 202
            if n == count // 4:
                # Let the sink get going, then kill it in the middle of its work.
                await eventually(
                    lambda n=n: bool(odoo.sale_orders_by_xmlid(names[:n])),  # type: ignore[misc]
                    timeout_s=30,
                    interval_s=0.05,
                    what="the sink's first orders",
                )
                platform.stack.kill("odoo-sink", signal.SIGKILL)
        applied_before_restart = len(odoo.sale_orders_by_xmlid(names))
        assert applied_before_restart < count, "the sink finished before it could be killed"
        platform.stack.restart("odoo-sink")

    def all_confirmed() -> bool:
        found = odoo.sale_orders_by_xmlid(names)
        return len(found) == count and all(o["state"] == "sale" for o in found.values())

    await eventually(all_confirmed, timeout_s=120, what=f"{count} confirmed orders")
    found = odoo.sale_orders_by_xmlid(names)
    assert len(found) == count
    assert all(o["state"] == "sale" for o in found.values())
    refs = [o["client_order_ref"] for o in found.values()]
    assert odoo.count("sale.order", [["client_order_ref", "in", refs]]) == count
