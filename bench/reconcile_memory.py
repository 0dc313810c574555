"""Peak memory of a full reconcile of N orders against the records it reads, in one run.

Run: ``python -m bench.reconcile_memory [--orders N]``.

A sink reconciles its flow on schedule (``flows.<name>.reconcile_every_s``), in its own process,
so what a run holds at its peak counts against the service's memory budget. Kafka and Odoo are
stand-ins in this process (no broker, no sandbox): the source topic is N ``shop.order.created``
records (the ``bench.stream`` order, 3 lines, made on the fly at each read), and Odoo answers
``search_read`` with N matching sale orders a chunk at a time, as the sandbox does. Measured with
``tracemalloc`` in the same run:

- **baseline**: every order's latest source record held at once (what a reconcile that keeps
  them all holds at least; the records alone, not what is decoded from them);
- **reconcile**: ``consumers.odoo.reconcile.reconcile`` of the flow, from both reads to the
  report.

It prints both peaks in MB and their ratio, and the report's counts (every order checked, no
mismatch). Nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

from aiokafka import ConsumerRecord

import ferry.reconcile
from bench.stream import _order
from consumers.odoo.reconcile import CHUNK, reconcile
from ferry.envelope import CloudEvent, deterministic_id
from ferry.reconcile import Job
from ferry.registry import load
from ferry.serde import Serde
from tests.support.odoo_orders import OdooOrders

EVENT_TYPE = "shop.order.created"
TOPIC = "src.shop.orders"


def _record(serde: Serde, i: int) -> ConsumerRecord[bytes, bytes]:
    order_id = f"bench-{i}"
    key = f"shop:order:{order_id}".encode()
    headers = CloudEvent(
        id=deterministic_id("shop", "order", order_id),
        source="ferry/gateway/shop",
        type=EVENT_TYPE,
        subject=key.decode(),
    ).to_headers()
    value = serde.encode(EVENT_TYPE, _order(order_id))
    return ConsumerRecord(
        TOPIC, i % 3, i // 3, 0, 0, key, value, None, len(key), len(value), tuple(headers)
    )


async def _measure(orders: int) -> None:
    registry = load()
    serde = registry.serde()
    flow = next(f for f in registry.enabled if f.source.event_type == EVENT_TYPE)

    async def records_of(kafka: Any, topic: str) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
        for i in range(orders):
            yield _record(serde, i)

    ferry.reconcile.records_of = records_of  # type: ignore[attr-defined,assignment]  # stand-in Kafka
    command = flow.map(serde.decode(_record(serde, 0).value).record)
    assert command is not None
    lines = [
        (str(line["default_code"]), float(line["product_uom_qty"]), float(line["price_unit"]))
        for line in command["order_lines"]
    ]
    odoo = OdooOrders(orders, lines, prefix="bench-")

    tracemalloc.start()
    held: dict[bytes, ConsumerRecord[bytes, bytes]] = {}
    async for record in records_of("", TOPIC):
        held[record.key] = record
    baseline = tracemalloc.get_traced_memory()[1]
    del held
    tracemalloc.stop()

    tracemalloc.start()
    began = time.perf_counter()
    job = Job("kafka:9092", flow, serde, SimpleNamespace(odoo=odoo))
    report = await reconcile(job)
    elapsed = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report is not None

    print(f"{orders:,} orders, {len(lines)} lines each; Odoo read {CHUNK} at a time")
    print(f"{'':<44} {'peak MB':>8}")
    print(f"{'every latest source record held (baseline)':<44} {baseline / 1e6:>8.1f}")
    print(f"{'reconcile (both reads to the report)':<44} {peak / 1e6:>8.1f}")
    print(f"ratio reconcile/baseline: {peak / baseline:.2f}x; reconcile took {elapsed:.1f} s")
    print(report.summary())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(_measure(args.orders))


if __name__ == "__main__":
    main()
