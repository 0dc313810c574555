"""Per-event cost of the stream stage's processing against bare fastavro, in one run.

Run: ``python -m bench.processing [--seconds S] [--rounds R] [--profile]``.

- **baseline**: what the processing cannot avoid: ``fastavro.schemaless_reader`` of the source
  record's Avro body and ``fastavro.schemaless_writer`` of the mapped target record, with the
  parsed schemas, into ``BytesIO``.
- **process**: ``FlowProcessor.process`` of the same ``shop.order.created`` event (the one
  ``bench.stream`` sends), with the processor built from the real flow registry as the streams
  app builds it: decode, envelope, validation, ownership, mapping, version check, encode, the
  derived envelope and the change-only digest.

Both are measured in the same run, interleaved over ``--rounds`` rounds; each figure is the
best round's, as wall time and as CPU time (``time.process_time``) per event. ``--profile``
adds a cProfile top 15 of ``process``. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections.abc import Callable
from typing import Any

import fastavro

from bench.stream import make_events
from bench.stream_legs.flow import build_processor
from ferry.registry import load
from streams.app import SERVICE
from streams.processor import Output

EVENT_TYPE = "shop.order.created"
_HEADER = 10  # single-object encoding: 2 magic bytes and an 8-byte fingerprint


def _measure(fn: Callable[[], object], seconds: float) -> tuple[float, float]:
    """(wall, CPU) seconds per call of ``fn``, over about ``seconds``."""
    count, batch = 0, 200
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds:
        for _ in range(batch):
            fn()
        count += batch
    return (time.perf_counter() - wall0) / count, (time.process_time() - cpu0) / count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per leg and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--profile", action="store_true", help="cProfile top 15 of process")
    args = parser.parse_args(argv)

    registry = load()
    serde = registry.serde()
    flow = next(f for f in registry.enabled if f.source.event_type == EVENT_TYPE)
    processor = build_processor(registry, flow, serde)
    key, value, headers = make_events(1, "bench")[0]

    source = serde.registry.latest(EVENT_TYPE).parsed
    target = serde.registry.latest(flow.target.event_type).parsed
    record = serde.decode(value).record
    mapped = flow.map(record)
    body = value[_HEADER:]

    def baseline() -> object:
        fastavro.schemaless_writer(io.BytesIO(), target, mapped)
        return fastavro.schemaless_reader(io.BytesIO(body), source, None)

    def process() -> object:
        return processor.process(key, value, headers)

    outcome = process()
    if not isinstance(outcome, Output):
        raise SystemExit(f"the bench event is not processed into an output: {outcome!r}")
    for _ in range(500):  # warm caches
        baseline()
        process()

    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.rounds):
        for name, fn in (("baseline", baseline), ("process", process)):
            wall, cpu = _measure(fn, args.seconds)
            old = best.get(name)
            best[name] = (min(wall, old[0]), min(cpu, old[1])) if old else (wall, cpu)

    lines = len(record["lines"])
    print(f"event: {EVENT_TYPE} -> {flow.target.event_type}, {lines} lines, {len(value)} B in")
    print(f"flow: {flow.name} (service {SERVICE}); best of {args.rounds} interleaved rounds")
    print(f"{'':<38} {'wall µs/event':>14} {'CPU µs/event':>13}")
    rows = [
        ("bare fastavro decode+encode (baseline)", best["baseline"]),
        ("FlowProcessor.process", best["process"]),
    ]
    for name, (wall, cpu) in rows:
        print(f"{name:<38} {wall * 1e6:>14.1f} {cpu * 1e6:>13.1f}")
    (bw, bc), (pw, pc) = best["baseline"], best["process"]
    print(f"ratio process/baseline: wall {pw / bw:.2f}x, CPU {pc / bc:.2f}x")

    if args.profile:
        _profile(process)


def _profile(fn: Callable[[], Any], calls: int = 20_000) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    print(f"\ncProfile of {calls} calls of process, top 15 by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
