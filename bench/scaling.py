"""Scale-out of the stream stage: events/s with 1, 2 and 3 streams workers in one group, and how
long the outputs pause while a worker joins and when one is killed.

Run: ``python -m bench.scaling [--bootstrap HOST:PORT] [--events K] [--workers 1,2,3]
[--rate R] [--seconds S]`` (without ``--bootstrap`` it starts its own single-node broker).

Throughput: for each worker count, a fresh flow on 6-partition topics; the workers (``python -m
streams``, one consumer group) are started and all ready, warmed up, then K events are produced
and the clock runs until the target holds K outputs (as ``bench.stream`` leg d). The CPU per
event is summed over the workers. On a machine with fewer cores than workers + broker the
workers share the cores: the figure shows what a worker count costs here, not what it would
give on more cores.

Rebalance pause: two workers take a steady R events/s; a third joins a third of the way through
S seconds, and one of the first two is SIGKILLed at two thirds. A consumer of the target notes
when (and on which partition) each output arrives; the longest gap after each fault, between any
outputs and within one partition, is the pause it caused (a killed worker's partitions wait for
the group's session timeout, ``streams.session_timeout_s``, while the others go on).
Every event must arrive (counted by key). Figures only: nothing here asserts a rate.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Sequence
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.broker import bench_broker
from bench.stream import (
    WARM_UP,
    Event,
    Topics,
    _cpu_seconds,
    _measure,
    _produce,
    _start,
    _stop,
    make_events,
)
from bench.stream_legs.flow import config_text
from ferry.ops.reading import records_of
from ferry.topics import TopicSpec, ensure_topics

PARTITIONS = 6


async def _flow(bootstrap: str, name: str, tmp: Path) -> tuple[Topics, Path]:
    topics = Topics.of(name)
    await ensure_topics(
        bootstrap,
        [TopicSpec(t, PARTITIONS) for t in (topics.source, topics.target, f"dlq.{topics.source}")],
    )
    config = tmp / f"{name}.yaml"
    config.write_text(f"kafka:\n  partitions: {PARTITIONS}\n" + config_text(name), encoding="utf-8")
    return topics, config


def _start_workers(
    count: int, bootstrap: str, topics: Topics, config: Path, tmp: Path
) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` workers of one group, one after the other (each until it is ready)."""
    return [
        _start("d", bootstrap, topics, config, tmp / f"{topics.flow}-w{i}", None)
        for i in range(count)
    ]


async def throughput(
    bootstrap: str, workers: int, count: int, tmp: Path
) -> tuple[float, float | None]:
    """(events/s, CPU seconds per event over all workers) with ``workers`` workers."""
    name = f"scale{uuid.uuid4().hex[:8]}n{workers}"
    topics, config = await _flow(bootstrap, name, tmp)
    warm = make_events(WARM_UP * 4, f"{name}w")
    events = make_events(count, name)
    processes = await asyncio.to_thread(_start_workers, workers, bootstrap, topics, config, tmp)
    try:
        await _explained(
            bootstrap,
            topics,
            _measure(bootstrap, topics.source, topics.target, warm, partitions=PARTITIONS),
        )
        before = [_cpu_seconds(p.pid) for p in processes]
        rate = await _explained(
            bootstrap,
            topics,
            _measure(bootstrap, topics.source, topics.target, events, len(warm), PARTITIONS),
        )
        after = [_cpu_seconds(p.pid) for p in processes]
    finally:
        for process in processes:
            await asyncio.to_thread(_stop, process)
    used = 0.0
    for start, end in zip(before, after, strict=True):
        if start is None or end is None:
            return rate, None
        used += end - start
    return rate, used / count


async def _explained(bootstrap: str, topics: Topics, measuring: Awaitable[float]) -> float:
    """``measuring``; when it times out, say what the source, target and dead-letter topics
    hold, key by key, before the error goes on."""
    try:
        return await measuring
    except TimeoutError:
        held = {}
        for topic in (topics.source, topics.target, f"dlq.{topics.source}"):
            held[topic] = [
                (r.partition, r.offset, r.key) async for r in records_of(bootstrap, topic)
            ]
        done = {key for _, _, key in held[topics.target]}
        missing = [(p, o, k) for p, o, k in held[topics.source] if k not in done]
        print(f"not on {topics.target}: {missing[:20]} ({len(missing)} in all)")
        print(f"on dlq.{topics.source}: {held[f'dlq.{topics.source}'][:20]}")
        raise


async def _arrivals(
    bootstrap: str, topic: str, keys: set[bytes], arrived: dict[bytes, tuple[int, float]]
) -> None:
    """Note when (and on which partition) each output of ``keys`` first arrives on ``topic``
    (until cancelled)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while True:
            batch = await consumer.getmany(timeout_ms=100, max_records=10_000)
            now = time.monotonic()
            for records in batch.values():
                for record in records:
                    if record.key in keys:
                        arrived.setdefault(record.key, (record.partition, now))
    finally:
        await consumer.stop()


def _longest_gap(times: Sequence[float], start: float, end: float) -> float:
    inside = sorted(t for t in times if start <= t <= end)
    points = [start, *inside]
    return max((b - a for a, b in itertools.pairwise(points)), default=end - start)


async def rebalance_pause(bootstrap: str, rate: int, seconds: float, tmp: Path) -> None:
    name = f"pause{uuid.uuid4().hex[:8]}"
    topics, config = await _flow(bootstrap, name, tmp)
    events = make_events(int(rate * seconds), name)
    keys = {key for key, _, _ in events}
    arrived: dict[bytes, tuple[int, float]] = {}
    processes = await asyncio.to_thread(_start_workers, 2, bootstrap, topics, config, tmp)
    watching = asyncio.create_task(_arrivals(bootstrap, topics.target, keys, arrived))
    marks: dict[str, float] = {}

    async def faults() -> None:
        await asyncio.sleep(seconds / 3)
        marks["join"] = time.monotonic()
        processes.append(
            await asyncio.to_thread(
                _start, "d", bootstrap, topics, config, tmp / f"{name}-joiner", None
            )
        )
        await asyncio.sleep(max(0.0, marks["join"] + seconds / 3 - time.monotonic()))
        marks["kill"] = time.monotonic()
        processes[0].send_signal(signal.SIGKILL)

    try:
        began = time.monotonic()
        faulting = asyncio.create_task(faults())
        chunk: list[Event] = []
        for n, item in enumerate(events, 1):
            chunk.append(item)
            if len(chunk) == 50:
                await _produce(bootstrap, topics.source, chunk)
                chunk = []
                ahead = n / rate - (time.monotonic() - began)
                if ahead > 0:
                    await asyncio.sleep(ahead)
        if chunk:
            await _produce(bootstrap, topics.source, chunk)
        await faulting
        deadline = time.monotonic() + 120
        while len(arrived) < len(keys) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)  # the watcher fills ``arrived``
    finally:
        watching.cancel()
        for process in processes:
            if process.poll() is None:
                await asyncio.to_thread(_stop, process)
    times = [t for _, t in arrived.values()]
    end = max(times, default=marks["kill"])
    windows = {
        "steady with 2 workers": (began + 2, marks["join"]),
        "while a 3rd joins": (marks["join"], marks["kill"]),
        "after one is SIGKILLed": (marks["kill"], end),
    }
    print(f"rebalance pause at {rate} events/s, {PARTITIONS} partitions (longest gap, s):")
    print(f"{'':<26}{'all outputs':>12}{'one partition':>15}")
    for label, (start, stop) in windows.items():
        every = _longest_gap(times, start, stop)
        worst = max(
            _longest_gap([t for p, t in arrived.values() if p == partition], start, stop)
            for partition in range(PARTITIONS)
        )
        print(f"{label:<26}{every:>12.2f}{worst:>15.2f}")
    print(f"{len(arrived)} of {len(keys)} events arrived ({len(keys) - len(arrived)} missing)")


async def run(
    bootstrap: str, counts: Sequence[int], events: int, rate: int, seconds: float, tmp: Path
) -> None:
    base: float | None = None
    for workers in counts:
        measured, cpu = await throughput(bootstrap, workers, events, tmp)
        base = base or measured
        cpu_text = f", {cpu * 1e6:.0f} µs CPU/event (all workers)" if cpu is not None else ""
        print(
            f"{workers} worker(s), {PARTITIONS} partitions: {measured:.0f} events/s "
            f"({measured / base:.2f}x the first){cpu_text}",
            flush=True,
        )
    print(f"this machine has {os.cpu_count()} cores, shared by the workers and the broker")
    await rebalance_pause(bootstrap, rate, seconds, tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    parser.add_argument("--events", type=int, default=10_000, help="events per worker count")
    parser.add_argument("--workers", default="1,2,3", help="worker counts to measure")
    parser.add_argument("--rate", type=int, default=400, help="events/s in the pause test")
    parser.add_argument("--seconds", type=float, default=45.0, help="length of the pause test")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",") if n]
    logging.getLogger("aiokafka.consumer.fetcher").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="ferry-bench-scaling-") as name:
        tmp = Path(name)
        with bench_broker(args.bootstrap, tmp / "kafka") as bootstrap:
            asyncio.run(run(bootstrap, counts, args.events, args.rate, args.seconds, tmp))


if __name__ == "__main__":
    main()
