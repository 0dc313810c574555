"""A real Prometheus scrapes every service of the running platform and sees the flow's counts."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from consumers.runner import group_id
from producers.shop.sample import signed_request
from streams.app import APP_ID
from tests.fixtures.prometheus import Prometheus
from tests.support.kafka_read import until_no_lag
from tests.support.orders import unique_order
from tests.support.platform import Platform

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SINK = "sink.odoo.sale_orders"
JOBS = {"gateway": "gateway", "streams": "streams", "odoo-sink": "sink"}


def _total(prometheus: Prometheus, promql: str) -> float:
    return prometheus.query_value(promql) or 0.0


async def test_prometheus_counts_what_went_in_and_out(
    platform: Platform, prometheus: Prometheus
) -> None:
    for job, port_name in JOBS.items():
        prometheus.scrape(f"e2e-{job}", f"127.0.0.1:{platform.ports[port_name]}")
    for job in JOBS:
        await prometheus.wait_up_async(f"e2e-{job}", timeout_s=30)

    # This flow's topics only: the platform runs other flows beside it (Odoo into the shop).
    src_topic, sink_topic = 'topic="src.shop.orders"', 'topic="sink.odoo.sale_orders"'
    queries = {
        "accepted": f'sum(ferry_events_out_total{{job="e2e-gateway", {src_topic}}})',
        "mapped": f'sum(ferry_events_out_total{{job="e2e-streams", {sink_topic}}})',
        "rejected": f'sum(ferry_dlq_total{{job="e2e-streams", {src_topic}}})',
        "applied": f'sum(ferry_events_out_total{{job="e2e-odoo-sink", {sink_topic}}})',
    }
    before = {name: _total(prometheus, q) for name, q in queries.items()}

    valid, invalid = 5, 2
    base = uuid.uuid4().int % 10**12 * 1000
    orders = [unique_order(base + n) for n in range(valid)]
    orders += [unique_order(base + valid + n, invalid="zero_quantity") for n in range(invalid)]
    async with httpx.AsyncClient(timeout=30.0) as http:
        for order in orders:
            body, headers = signed_request(order, platform.webhook_secret)
            response = await http.post(platform.gateway_url, content=body, headers=headers)
            assert response.status_code == 202

    expected = {"accepted": valid + invalid, "mapped": valid, "rejected": invalid, "applied": valid}
    for name, delta in expected.items():
        target = before[name] + delta

        def reached(value: float, target: float = target) -> bool:
            return value >= target

        value = await prometheus.wait_for_async(
            f"({queries[name]}) or vector(0)", reached, timeout_s=60
        )
        assert value == target, f"{name}: {value} != {target}"
    # Nothing more arrives: both stages have committed all their topics hold, and two more
    # scrapes later every count is still exactly what went in.
    for group, topic in ((APP_ID, "src.shop.orders"), (group_id("shop-orders-to-odoo"), SINK)):
        await until_no_lag(platform.bootstrap, group, topic)
    quiet_from = time.time() + 2.0
    for job in JOBS:
        await prometheus.wait_scraped_async(f"e2e-{job}", after=quiet_from)
    for name, delta in expected.items():
        value = _total(prometheus, queries[name])
        assert value == before[name] + delta, f"{name} after a quiet period: {value}"
    ready = await prometheus.query_value_async('sum(up{job=~"e2e-.*"})')
    assert ready == len(JOBS)
