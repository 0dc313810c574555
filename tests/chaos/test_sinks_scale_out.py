"""Two instances of the Odoo sink in one group on a 6-partition topic; one is SIGKILLed in the
middle of the backlog and started again. Every order reaches Odoo once: counted by reference,
confirmed, none doubled, none dead-lettered, both instances end with lag 0.
"""

from __future__ import annotations

import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from ferry.envelope import CloudEvent, deterministic_id
from ferry.topics import TopicSpec, ensure_topics
from tests.integration.consumers.test_odoo_sink import ROOT, Odoo, batch, make_sink, odoo, refs  # noqa: F401 (fixtures)
from tests.integration.streams.test_orders_stream import only_flow
from tests.support.flows import topics_of
from tests.support.waiting import eventually
from tests.unit.consumers.fakes import encode

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

PARTITIONS = 6
ORDERS = 600


async def produce(bootstrap: str, topic: str, commands: list[dict[str, Any]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        futures = []
        for data in commands:
            key = f"shop:order:{data['external_id'].rsplit('_', 1)[1]}".encode()
            envelope = CloudEvent(
                id=deterministic_id("test", data["external_id"]),
                source="ferry/streams/test",
                type="odoo.sale_order.upsert",
                subject=key.decode(),
            )
            futures.append(
                await producer.send(topic, encode(data), key=key, headers=envelope.to_headers())
            )
        for future in futures:
            await future
    finally:
        await producer.stop()


async def test_two_sinks_one_killed_mid_backlog_every_order_once(
    kafka_bootstrap: str,
    odoo: Odoo,  # noqa: F811
    make_sink: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    name = f"sinks-{uuid.uuid4().hex[:8]}"
    _, topic = topics_of(name)
    await ensure_topics(
        kafka_bootstrap,
        [TopicSpec(t, PARTITIONS) for t in (topic, f"retry.{topic}", f"dlq.{topic}")],
    )
    config = tmp_path / "ferry.yaml"
    config.write_text(
        f"kafka:\n  partitions: {PARTITIONS}\nflows:\n{only_flow(name)}    batch_size: 10\n",
        encoding="utf-8",
    )

    def sink() -> Any:
        made = make_sink()
        made.env["FERRY_CONFIG"] = str(config)
        made.env["PYTHONPATH"] = str(ROOT)  # the flow copy is declared in tests.support.flows
        made.start()
        return made

    orders = batch(ORDERS)
    odoo.faults(latency_ms=100)  # every call slow: the backlog is still there at the kill
    first = sink()
    first.wait_ready()
    await produce(kafka_bootstrap, topic, orders)
    await eventually(
        lambda: first.metric("ferry_events_in_total") > 0, timeout_s=60, what="the first's work"
    )
    second = sink()
    second.wait_ready()
    await eventually(
        lambda: second.metric("ferry_events_in_total") > 0, timeout_s=60, what="a handover"
    )
    done_at_kill = odoo.confirmed(refs(orders))
    assert first.kill(signal.SIGKILL) == -signal.SIGKILL
    assert done_at_kill < ORDERS, "the backlog was done before the kill"
    again = sink()
    again.wait_ready()
    odoo.clear_faults()
    await eventually(
        lambda: odoo.confirmed(refs(orders)) == ORDERS, timeout_s=180, what=f"{ORDERS} orders"
    )
    await eventually(
        lambda: second.metric("ferry_consumer_lag") == again.metric("ferry_consumer_lag") == 0,
        timeout_s=60,
        what="both sinks caught up",
    )
    created = odoo.orders(refs(orders))
    dead = second.metric("ferry_dlq_total") + again.metric("ferry_dlq_total")
    print(
        f"\n{ORDERS} orders on {PARTITIONS} partitions, 2 sinks, one SIGKILLed after "
        f"{done_at_kill} were confirmed: {created} sale orders, {dead:.0f} dead-lettered"
    )
    assert created == ORDERS  # one sale order each, none doubled
    assert dead == 0
    assert second.kill(signal.SIGTERM) == 0
    assert again.kill(signal.SIGTERM) == 0
