"""Draining a backlog of sale orders into Odoo: one ``apply`` per order against the batch path.

Starts its own broker (or uses ``--bootstrap``). Each leg gets a fresh sandbox Odoo (a
process of its own, in memory) and a fresh topic of the ``sink.odoo.sale_orders`` shape, on
which ``--orders`` commands (10,000) are produced before the sink starts: sample shop orders
taken through the shop-orders flow (the webhook's conversion, the Avro round trip, the flow's
mapping), Avro-encoded as the stream stage writes them. Then a ``SinkRunner`` with the flow's
sale order sink drains it:

- **per event** (the baseline): ``batch_size=1``, one ``apply`` per order;
- **batched**: the flow's default ``batch_size`` (a partition's queued orders at once).

The clock runs from the runner's partition assignment until every order was applied. Prints,
for each, the time to drain, orders/s and Odoo calls per order (``ferry_target_calls_total``),
checks that Odoo holds every order once and confirmed, and prints the ratios.

    python -m bench.odoo_backlog [--orders 10000] [--batch-size 500] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.broker import bench_broker
from consumers.odoo.sink import sale_order_sink
from consumers.odoo.target import OdooTarget
from consumers.runner import SinkRunner, group_id
from ferry.envelope import CloudEvent, Headers, deterministic_id
from ferry.flow import Flow, SinkContext
from ferry.kafka import make_consumer, make_producer
from ferry.metrics import ServiceMetrics
from ferry.odoo import OdooClient
from ferry.serde import SingleObjectSerde
from ferry.settings import FlowSettings, KafkaSettings
from ferry.topics import TopicSpec, ensure_topics
from producers.shop import webhook
from tests.integration.odoo.emulator import running
from tests.support.flows import shop_orders_on
from tests.support.odoo_rpc import OdooReader
from tests.support.orders import order_ids, unique_order

PARTITIONS = 3
Record = tuple[bytes, bytes, Headers]


@dataclass(frozen=True)
class Drained:
    label: str
    orders: int
    seconds: float
    calls: float

    @property
    def per_second(self) -> float:
        return self.orders / self.seconds

    @property
    def calls_per_order(self) -> float:
        return self.calls / self.orders


def backlog(flow: Flow, count: int) -> list[Record]:
    """``count`` ``odoo.sale_order.upsert`` records as the shop-orders flow writes them."""
    serde = SingleObjectSerde()
    target = flow.target.event_type
    records: list[Record] = []
    for order_id in order_ids(count):
        converted = webhook.convert_order(unique_order(order_id))
        shop = serde.decode(serde.encode(flow.source.event_type, converted.record)).record
        command = flow.map(shop)
        assert command is not None
        envelope = CloudEvent(
            id=deterministic_id("bench", converted.key),
            source=f"ferry/streams/{flow.name}",
            type=target,
            subject=converted.key,
        )
        records.append(
            (converted.key.encode(), serde.encode(target, command), envelope.to_headers())
        )
    return records


async def produce(bootstrap: str, flow: Flow, records: Sequence[Record]) -> None:
    topics = [TopicSpec(flow.target.topic, PARTITIONS), TopicSpec(flow.target_dlq, PARTITIONS)]
    await ensure_topics(bootstrap, topics)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = [
            await producer.send(flow.target.topic, value, key=key, headers=headers)
            for key, value, headers in records
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def handled(metrics: ServiceMetrics, topic: str) -> float:
    """Records of ``topic`` the runner finished: applied, duplicates, dead letters."""
    total = 0.0
    for counter in (metrics.events_out, metrics.duplicates, metrics.dlq):
        for family in counter.collect():
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("topic") == topic:
                    total += sample.value
    return total


def calls(metrics: ServiceMetrics) -> float:
    return sum(
        sample.value
        for family in metrics.target_calls.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


async def drain(bootstrap: str, flow: Flow, count: int, batch_size: int, label: str) -> Drained:
    """Run the flow's sink over its topic until ``count`` records are handled."""
    with running("18.0") as odoo:
        await produce(bootstrap, flow, backlog(flow, count))
        metrics = ServiceMetrics("odoo-sink")
        client = OdooClient(odoo.url, "ferry", "admin", odoo.api_key, timeout=120)
        target = OdooTarget(client)
        await target.check_credentials()
        versions: Any = None  # the sale order sink keeps its versions in Odoo
        sink = sale_order_sink(SinkContext(flow, target, versions, metrics))
        kafka = KafkaSettings(bootstrap_servers=bootstrap)
        runner = SinkRunner(
            sink,
            make_consumer(kafka, group_id=group_id(flow.name), client_id=f"bench-{label}"),
            make_producer(kafka, client_id=f"bench-{label}"),
            serde=SingleObjectSerde(),
            metrics=metrics,
            batch_size=batch_size,
        )
        task = asyncio.create_task(runner.run())
        try:
            await until(lambda: bool(runner.assigned), task)
            began = time.perf_counter()
            await until(lambda: handled(metrics, flow.target.topic) >= count, task)
            seconds = time.perf_counter() - began
        finally:
            runner.stop()
            await task
            await target.aclose()
        check_odoo(odoo.url, odoo.api_key, count)
    return Drained(label, count, seconds, calls(metrics))


async def until(done: Callable[[], bool], runner: asyncio.Task[None]) -> None:
    """Poll ``done`` every 10 ms; raise the runner's error if it stops first."""
    while not done():
        if runner.done():
            await runner
            raise SystemExit("the runner stopped")
        await asyncio.sleep(0.01)


def check_odoo(url: str, key: str, count: int) -> None:
    """Odoo holds every order once, confirmed."""
    reader = OdooReader(url, key)
    try:
        ours = [["x_ferry_version", "=like", "ferry.shop_order_%"]]
        total = reader.count("sale.order", ours)
        confirmed = reader.count("sale.order", [*ours, ["state", "=", "sale"]])
    finally:
        reader.close()
    if (total, confirmed) != (count, count):
        raise SystemExit(f"Odoo holds {total} orders, {confirmed} confirmed; expected {count}")


def report(legs: Sequence[Drained]) -> str:
    baseline = legs[0]
    lines = [f"Odoo sink backlog: {baseline.orders:,} orders on {PARTITIONS} partitions"]
    for leg in legs:
        lines.append(
            f"  {leg.label:<26} drained in {leg.seconds:8.2f} s  {leg.per_second:9,.0f} orders/s"
            f"  {leg.calls_per_order:6.3f} Odoo calls/order"
        )
    best = legs[-1]
    lines.append(
        f"ratio batched / per event: x{best.per_second / baseline.per_second:,.1f} orders/s, "
        f"x{baseline.calls_per_order / best.calls_per_order:,.0f} fewer Odoo calls per order"
    )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    run = uuid.uuid4().hex[:8]
    sizes = {"per event": 1, "batched": args.batch_size}
    legs: list[Drained] = []
    with (
        tempfile.TemporaryDirectory(prefix="ferry-bench-") as tmp,
        bench_broker(args.bootstrap, Path(tmp) / "kafka") as bootstrap,
    ):
        for n, (name, size) in enumerate(sizes.items()):
            flow = shop_orders_on(f"backlog-{run}-{n}")  # a fresh topic and group
            label = f"{name} (batch_size={size})"
            legs.append(await drain(bootstrap, flow, args.orders, size, label))
    print(report(legs))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.odoo_backlog")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=FlowSettings().batch_size)
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
