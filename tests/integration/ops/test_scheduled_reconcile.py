"""The sink service's scheduled reconciliation keeps ``ferry_reconcile_*`` current: a flow of
the test's own on the session broker, the sandbox Odoo, the real reconcile of Odoo sale orders."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest

from consumers.odoo.reconcile import reconcile
from consumers.odoo.system import OdooSettings
from consumers.odoo.target import OdooTarget
from ferry.metrics import ServiceMetrics
from ferry.reconcile import Job, run_every
from ferry.secrets import SecretRef
from ferry.serde import SingleObjectSerde
from ferry.topics import TopicSpec, ensure_topics
from tests.integration.odoo import emulator
from tests.integration.streams.test_orders_stream import event, produce
from tests.support.flows import shop_orders_on

pytestmark = [pytest.mark.kafka]


@pytest.fixture(scope="module")
def odoo() -> Iterator[emulator.Emulator]:
    with emulator.running("17.0") as running:
        yield running


def gauge(metrics: ServiceMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"service": "odoo-sink", **labels})


async def test_the_gauges_follow_each_run(kafka_bootstrap: str, odoo: emulator.Emulator) -> None:
    name = f"rec-{uuid.uuid4().hex[:8]}"
    flow = shop_orders_on(name)
    await ensure_topics(kafka_bootstrap, [TopicSpec.for_name(flow.source.topic, 3, 1)])
    run = uuid.uuid4().hex[:10]
    valid = [event(f"{run}-{n}") for n in range(3)]
    invalid = [event(f"{run}-bad", currency="XYZ")]
    # The latest record of a key is the one judged: a key sent twice still counts once.
    await produce(kafka_bootstrap, flow.source.topic, [*valid, *invalid, valid[0]])

    settings = OdooSettings(url=odoo.url, api_key=SecretRef("env", "RECONCILE_TEST_KEY"))
    target = OdooTarget.connect(settings, {"RECONCILE_TEST_KEY": odoo.api_key})
    # An order under a Ferry external id that no source record explains.
    partner = await target.odoo.create("res.partner", {"name": "Orphan buyer"})
    orphan = await target.odoo.create("sale.order", {"partner_id": partner})
    xmlid = await target.odoo.register_xmlid("sale.order", "ferry", f"orphan_{run}", orphan)

    metrics = ServiceMetrics("odoo-sink")
    job = Job(kafka_bootstrap, flow, SingleObjectSerde(), target)
    task = asyncio.create_task(run_every(0.2, reconcile, job, metrics))
    try:
        deadline = time.monotonic() + 60
        while gauge(metrics, "ferry_reconcile_last_run_timestamp_seconds", flow=name) is None:
            assert time.monotonic() < deadline, "no reconciliation ran"
            await asyncio.sleep(0.1)
        first = gauge(metrics, "ferry_reconcile_last_run_timestamp_seconds", flow=name)
        counts = {
            kind: gauge(metrics, "ferry_reconcile_mismatches", flow=name, kind=kind)
            for kind in ("missing", "different", "unexpected")
        }
        assert counts == {"missing": 3.0, "different": 0.0, "unexpected": 1.0}
        assert gauge(metrics, "ferry_reconcile_checked", flow=name) == 3.0

        # The orphan goes: a later run says so.
        await target.odoo.unlink("ir.model.data", [xmlid])
        while gauge(metrics, "ferry_reconcile_mismatches", flow=name, kind="unexpected") != 0:
            assert time.monotonic() < deadline, "the gauge was not brought up to date"
            await asyncio.sleep(0.1)
        later = gauge(metrics, "ferry_reconcile_last_run_timestamp_seconds", flow=name)
        assert first is not None
        assert later is not None
        assert later > first
        assert gauge(metrics, "ferry_reconcile_mismatches", flow=name, kind="missing") == 3.0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await target.aclose()


async def test_a_target_it_cannot_reconcile_ends_the_schedule(kafka_bootstrap: str) -> None:
    flow = shop_orders_on(f"rec-{uuid.uuid4().hex[:8]}")

    async def not_covered(job: Job) -> None:
        return None

    metrics = ServiceMetrics("odoo-sink")
    job = Job(kafka_bootstrap, flow, SingleObjectSerde(), None)
    await asyncio.wait_for(run_every(0.01, not_covered, job, metrics), timeout=10)
    assert gauge(metrics, "ferry_reconcile_last_run_timestamp_seconds", flow=flow.name) is None
