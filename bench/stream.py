"""Events/s of the stream stage: Ferry's faust worker against three other ways to do the job.

Run: ``python -m bench.stream [--bootstrap HOST:PORT] [--events K] [--rounds R] [--legs abcd]
[--profile FILE]`` (without ``--bootstrap`` it starts its own single-node broker from
``infra.kafka``; ``--profile`` runs the first round's faust worker under cProfile).

Every leg is a worker process of its own, started and warmed up (``WARM_UP`` events through it)
before its clock starts, and all are measured the same way on the same broker in the same run:
K pre-encoded ``shop.order.created`` events are produced to a fresh input topic of 3
partitions, and the clock runs from the first produce until K records were read from the leg's
output topic. Every output is sent with acks=all and its input committed only after Kafka
acknowledged it.

- **a** raw aiokafka passthrough (:mod:`bench.stream_legs.aiokafka_loop` ``--copy``): consume
  in batches, copy key, value and headers unchanged; the floor of the broker and the client.
- **b** the same aiokafka loop through ``FlowProcessor.process``: the job done by hand.
- **c** quixstreams (:mod:`bench.stream_legs.quix`) through ``FlowProcessor.process``; skipped
  with a note when quixstreams is not installed (the ``bench`` extra).
- **d** Ferry's stream stage: ``python -m streams`` on the bench flow: decode, validate,
  ownership, map, encode (Avro in and out), the change-only table, send, ack each event only
  after Kafka acknowledged its output.

b, c and d run the same flow (declared in a ``ferry.yaml`` of the run). The legs run in
``--rounds`` interleaved rounds (a b c d, then d c b a, ...), each on fresh topics and events.
It prints events/s per leg and round, each worker's CPU time per event (from ``/proc``: on a
shared machine the events/s move with whatever else runs, the CPU per event much less) and
the ratios d/b and d/c. Figures only: nothing here asserts a rate.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.broker import bench_broker
from bench.stream_legs.flow import config_text, topics_of
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


async def _count(
    bootstrap: str, topic: str, expected: int, timeout_s: float, partitions: int = 3
) -> float:
    """Read ``topic`` from the beginning until ``expected`` records; return when that was."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
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


LEGS = {
    "a": "raw aiokafka passthrough (copy bytes)",
    "b": "aiokafka batches + FlowProcessor",
    "c": "quixstreams + FlowProcessor",
    "d": "Ferry faust stream stage",
}
WARM_UP = 50  # events through each worker before its clock starts
T = TypeVar("T")


async def _measure(
    bootstrap: str,
    source: str,
    target: str,
    events: Sequence[Event],
    before: int = 0,
    partitions: int = 3,
) -> float:
    """Events/s from the first produce of ``events`` until the target holds ``before`` + them."""
    counting = asyncio.create_task(_count(bootstrap, target, before + len(events), 300, partitions))
    await asyncio.sleep(0.5)  # the counting consumer is assigned
    began = time.monotonic()
    await _produce(bootstrap, source, events)
    done = await counting
    return len(events) / (done - began)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; else None)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


async def _guarded(process: subprocess.Popen[bytes], log: Path, work: Coroutine[Any, Any, T]) -> T:
    """Await ``work``; fail at once with the worker's log if the worker exits meanwhile."""
    task = asyncio.create_task(work)
    while True:
        done, _ = await asyncio.wait({task}, timeout=0.5)
        if done:
            return task.result()
        if process.poll() is not None:
            task.cancel()
            raise RuntimeError(f"the worker exited ({process.returncode}):\n{_tail(log)}")


@dataclass(frozen=True)
class Topics:
    flow: str  # the bench flow of this leg and round
    source: str
    target: str

    @classmethod
    def of(cls, flow: str) -> Topics:
        return cls(flow, *topics_of(flow))


def _command(leg: str, bootstrap: str, topics: Topics, config: Path, work: Path) -> list[str]:
    common = [
        *("--bootstrap", bootstrap, "--source", topics.source, "--target", topics.target),
        *("--group", f"{topics.flow}-{leg}"),
    ]
    flow = ["--config", str(config), "--flow", topics.flow]
    if leg == "a":
        return [sys.executable, "-m", "bench.stream_legs.aiokafka_loop", *common, "--copy"]
    if leg == "b":
        return [sys.executable, "-m", "bench.stream_legs.aiokafka_loop", *common, *flow]
    if leg == "c":
        state = ["--state-dir", str(work / "state")]
        return [sys.executable, "-m", "bench.stream_legs.quix", *common, *flow, *state]
    raise ValueError(leg)


def _start(
    leg: str, bootstrap: str, topics: Topics, config: Path, work: Path, profile: Path | None
) -> subprocess.Popen[bytes]:
    """Start leg ``leg``'s worker in ``work``; for the faust worker, wait until it is ready."""
    work.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    if leg == "d":
        port = free_ports(1)[0]
        env |= {
            "FERRY__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "FERRY__SERVICES__STREAMS__PORT": str(port),
            "FERRY__STREAMS__APP_ID": f"{topics.flow}-streams",
        }
        profiler = ["-m", "cProfile", "-o", str(profile.resolve())] if profile is not None else []
        command = [
            sys.executable,
            *profiler,
            *("-m", "streams", "--config", str(config), "--log-level", "warning"),
        ]
    else:
        command = _command(leg, bootstrap, topics, config, work)
    log = work / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    if leg != "d":
        return process
    began = time.monotonic()
    while time.monotonic() - began < 90:
        if process.poll() is not None:
            raise RuntimeError(f"the streams worker exited:\n{_tail(log)}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the streams worker was not ready in 90 s:\n{_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class Measured:
    rate: float  # events/s
    cpu: float | None  # the worker's CPU seconds per event


async def bench_leg(
    leg: str,
    bootstrap: str,
    events: Sequence[Event],
    warm: Sequence[Event],
    name: str,
    tmp: Path,
    profile: Path | None = None,
) -> Measured:
    """One leg on fresh topics: start its worker, warm it up, then time ``events`` through it."""
    topics = Topics.of(name)
    await ensure_topics(bootstrap, [TopicSpec(topics.source), TopicSpec(topics.target)])
    work = tmp / name
    config = tmp / f"{name}.yaml"
    config.write_text(config_text(name), encoding="utf-8")
    process = await asyncio.to_thread(_start, leg, bootstrap, topics, config, work, profile)
    log = work / "worker.log"
    try:
        await _guarded(process, log, _measure(bootstrap, topics.source, topics.target, warm))
        cpu_before = _cpu_seconds(process.pid)
        rate = await _guarded(
            process,
            log,
            _measure(bootstrap, topics.source, topics.target, events, before=len(warm)),
        )
        cpu_after = _cpu_seconds(process.pid)
    finally:
        await asyncio.to_thread(_stop, process)
    cpu = None
    if cpu_before is not None and cpu_after is not None:
        cpu = (cpu_after - cpu_before) / len(events)
    return Measured(rate, cpu)


def _report(count: int, rounds: int, legs: str, results: dict[str, list[Measured]]) -> None:
    print(f"events: {count} per leg and round, {WARM_UP} more before each clock starts")
    header = "".join(f"{f'round {r + 1} ev/s':>15}" for r in range(rounds))
    cpu_header = "".join(f"{f'r{r + 1} CPU µs/ev':>14}" for r in range(rounds))
    print(f"{'leg':<42}{header}{cpu_header}")
    for leg in legs:
        measured = results.get(leg)
        if not measured:
            print(f"{leg}  {LEGS[leg]:<39}{'skipped':>15}")
            continue
        rates = "".join(f"{m.rate:>15.0f}" for m in measured)
        cpus = "".join(
            f"{m.cpu * 1e6:>14.0f}" if m.cpu is not None else f"{'-':>14}" for m in measured
        )
        print(f"{leg}  {LEGS[leg]:<39}{rates}{cpus}")
    d = results.get("d")
    for other, goal in (("b", 0.6), ("c", 0.5)):
        them = results.get(other)
        if not d or not them:
            continue
        ratios = ", ".join(f"{x.rate / y.rate:.2f}" for x, y in zip(d, them, strict=True))
        best = max(m.rate for m in d) / max(m.rate for m in them)
        print(f"ratio d/{other}: {ratios} by round, {best:.2f} best/best (the goal: >= {goal})")


async def run(
    bootstrap: str,
    count: int,
    tmp: Path,
    *,
    rounds: int = 2,
    legs: str = "abcd",
    profile: Path | None = None,
) -> None:
    requested = legs
    if "c" in legs and importlib.util.find_spec("quixstreams") is None:
        print("note: leg c skipped: quixstreams is not installed (make bench installs it)")
        legs = legs.replace("c", "")
    run_id = uuid.uuid4().hex[:8]
    names = {(leg, r): f"bench{run_id}{leg}{r}" for leg in legs for r in range(rounds)}
    # Fresh events for every leg and round (the faust stage's change-only table would skip
    # events it has seen), all made before any clock runs.
    events = {key: make_events(count, name) for key, name in names.items()}
    warm = {key: make_events(WARM_UP, f"{name}w") for key, name in names.items()}
    results: dict[str, list[Measured]] = {}
    for r in range(rounds):
        for leg in legs if r % 2 == 0 else legs[::-1]:
            leg_profile = profile if leg == "d" and r == 0 else None
            measured = await bench_leg(
                leg, bootstrap, events[leg, r], warm[leg, r], names[leg, r], tmp, leg_profile
            )
            cpu = f", {measured.cpu * 1e6:.0f} µs CPU/event" if measured.cpu is not None else ""
            print(f"round {r + 1} {leg} {LEGS[leg]}: {measured.rate:.0f} events/s{cpu}", flush=True)
            results.setdefault(leg, []).append(measured)
    print()
    _report(count, rounds, requested, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    parser.add_argument("--events", type=int, default=5000, help="events per leg and round")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds")
    parser.add_argument("--legs", default="abcd", help="which legs, of abcd")
    parser.add_argument(
        "--profile",
        type=Path,
        help="run the first round's streams worker under cProfile, write its stats to this "
        "file (read them with python -m pstats; profiling slows the worker down)",
    )
    args = parser.parse_args()
    legs = "".join(k for k in LEGS if k in args.legs)
    # Just after a topic is created its partitions may lack a leader for a moment: a counting
    # consumer retries (and a count that never ends times out), so each retry's error is noise.
    logging.getLogger("aiokafka.consumer.fetcher").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="ferry-bench-stream-") as name:
        tmp = Path(name)
        with bench_broker(args.bootstrap, tmp / "kafka") as bootstrap:
            asyncio.run(
                run(
                    bootstrap, args.events, tmp, rounds=args.rounds, legs=legs, profile=args.profile
                )
            )


if __name__ == "__main__":
    main()
