"""Events/s of the stream stage through the real faust worker against a raw aiokafka passthrough.

Run: ``python -m bench.stream [--bootstrap HOST:PORT] [--events K] [--profile FILE]`` (without
``--bootstrap`` it starts its own single-node broker from ``infra.kafka``; ``--profile`` runs the
worker under cProfile). Both legs run on the same broker in the
same run and are measured the same way: K pre-encoded ``shop.order.created`` events are produced
to a fresh input topic, and the clock runs from the first produce until K records were read from
the leg's output topic.

- **streams**: ``python -m streams`` (a separate process, started and ready before the clock
  starts) on a private flow: decode, validate, ownership, map, encode (Avro in and out), send with
  acks=all and ack each event only after Kafka acknowledged its output.
- **passthrough** (baseline): an aiokafka consumer -> producer loop in this process that copies
  key, value and headers unchanged, acks=all, commits after its sends were acknowledged.

It also prints the worker's CPU time per event (from ``/proc``): on a shared machine the
events/s move with whatever else runs, the CPU per event much less.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.broker import bench_broker
from ferry.envelope import CloudEvent, Headers, deterministic_id
from ferry.serde import SingleObjectSerde
from ferry.topics import TopicSpec, ensure_topics
from infra.kafka import free_ports

ROOT = Path(__file__).resolve().parent.parent
Event = tuple[bytes, bytes, Headers]


def _order(order_id: str) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    return {
        "order_id": order_id,
        "order_name": f"#{order_id[-6:]}",
        "customer": {"email": "jon@example.com", "first_name": "Jon", "last_name": "Snow"},
        "currency": "EUR",
        "lines": [
            {
                "line_id": None,
                "sku": f"SKU-{i:04d}",
                "title": f"Product {i}",
                "quantity": i + 1,
                "unit_price": Decimal("19.9900"),
            }
            for i in range(3)
        ],
        "shipping_address": {
            "name": "Jon Snow",
            "address1": "1 Wall Street",
            "address2": None,
            "city": "Winterfell",
            "zip": "12345",
            "province": None,
            "country_code": "GB",
        },
        "totals": {
            "subtotal": Decimal("119.9400"),
            "tax": Decimal("22.7900"),
            "shipping": Decimal("4.9000"),
            "total": Decimal("147.6300"),
        },
        "created_at": now,
        "updated_at": now,
        "source_delivery_id": f"d-{order_id}",
        "note": None,
        "tags": [],
    }


def make_events(count: int, run: str) -> list[Event]:
    serde = SingleObjectSerde()
    events = []
    for i in range(count):
        order_id = f"{run}-{i}"
        key = f"shop:order:{order_id}".encode()
        headers = CloudEvent(
            id=deterministic_id("shop", "order", order_id),
            source="ferry/gateway/shop",
            type="shop.order.created",
            subject=key.decode(),
        ).to_headers()
        events.append((key, serde.encode("shop.order.created", _order(order_id)), headers))
    return events


async def _produce(bootstrap: str, topic: str, events: Sequence[Event]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value, key=key, headers=headers)
            for key, value, headers in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _count(bootstrap: str, topic: str, expected: int, timeout_s: float) -> float:
    """Read ``topic`` from the beginning until ``expected`` records; return when that was."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(3)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen = 0
        deadline = time.monotonic() + timeout_s
        while seen < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: {seen} of {expected} records in {timeout_s} s")
            batch = await consumer.getmany(timeout_ms=200, max_records=10_000)
            seen += sum(len(records) for records in batch.values())
        return time.monotonic()
    finally:
        await consumer.stop()


async def _measure(bootstrap: str, source: str, target: str, events: Sequence[Event]) -> float:
    counting = asyncio.create_task(_count(bootstrap, target, len(events), 300))
    await asyncio.sleep(0.5)  # the counting consumer is assigned
    began = time.monotonic()
    await _produce(bootstrap, source, events)
    done = await counting
    return len(events) / (done - began)


async def _passthrough(bootstrap: str, source: str, target: str, stop: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"bench-passthrough-{source}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=500)
            futures = [
                await producer.send(target, r.value, key=r.key, headers=list(r.headers))
                for records in batch.values()
                for r in records
            ]
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


async def bench_passthrough(bootstrap: str, events: Sequence[Event], run: str) -> float:
    source, target = f"bench.passthrough.{run}.in", f"bench.passthrough.{run}.out"
    await ensure_topics(bootstrap, [TopicSpec(source), TopicSpec(target)])
    stop = asyncio.Event()
    loop = asyncio.create_task(_passthrough(bootstrap, source, target, stop))
    await asyncio.sleep(3.0)  # joined its group
    try:
        return await _measure(bootstrap, source, target, events)
    finally:
        stop.set()
        await loop


Started = tuple[subprocess.Popen[bytes], float]


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; else None)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_streams(bootstrap: str, config: Path, log: Path, profile: Path | None) -> Started:
    port = free_ports(1)[0]
    env = {
        **os.environ,
        "FERRY__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "FERRY__SERVICES__STREAMS__PORT": str(port),
    }
    profiler = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
    began = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                *profiler,
                *("-m", "streams", "--config", str(config), "--log-level", "warning"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    while time.monotonic() - began < 90:
        if process.poll() is not None:
            raise RuntimeError(f"the streams worker exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process, time.monotonic() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the streams worker was not ready in 90 s:\n{log.read_text()[-3000:]}")


async def bench_streams(
    bootstrap: str, events: Sequence[Event], run: str, tmp: Path, profile: Path | None = None
) -> float:
    source, target = f"src.bench{run}.orders", f"sink.odoo.bench_{run}"
    config = tmp / "ferry.yaml"
    config.write_text(
        "flows:\n"
        f"  - name: bench-{run}\n"
        f"    source: {source}\n"
        "    mapping: shop_order_to_sale_order\n"
        f"    target: {target}\n",
        encoding="utf-8",
    )
    process, startup = await asyncio.to_thread(
        _start_streams, bootstrap, config, tmp / "w.log", profile
    )
    print(f"streams worker start-up (process start -> /readyz 200): {startup:.2f} s")
    try:
        cpu_before = _cpu_seconds(process.pid)
        rate = await _measure(bootstrap, source, target, events)
        cpu_after = _cpu_seconds(process.pid)
        if cpu_before is not None and cpu_after is not None:
            per_event = (cpu_after - cpu_before) / len(events) * 1000
            print(f"streams worker CPU per event (user+sys): {per_event:.2f} ms")
        return rate
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 30)


async def run(bootstrap: str, count: int, tmp: Path, profile: Path | None = None) -> None:
    run_id = uuid.uuid4().hex[:8]
    events = make_events(count, run_id)
    raw = await bench_passthrough(bootstrap, events, run_id)
    streams = await bench_streams(bootstrap, events, run_id, tmp, profile)
    print(f"events:                               {count}")
    print(f"raw aiokafka passthrough (baseline):  {raw:9.0f} events/s")
    print(f"faust stream stage (Avro->Avro):      {streams:9.0f} events/s")
    print(f"ratio stream stage / passthrough:     {streams / raw:9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument(
        "--profile",
        type=Path,
        help="run the streams worker under cProfile, write its stats to this file "
        "(read them with python -m pstats; profiling slows the worker down)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ferry-bench-stream-") as name:
        tmp = Path(name)
        with bench_broker(args.bootstrap, tmp / "kafka") as bootstrap:
            asyncio.run(run(bootstrap, args.events, tmp, args.profile))


if __name__ == "__main__":
    main()
