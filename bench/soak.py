"""A steady-rate soak of the whole platform: memory (RSS) of every service and the sink's lag over
time, then every order counted.

Starts its own Kafka broker (or uses ``--bootstrap``) and the whole platform (``ferry up``'s
services on free ports), then sends signed shop orders at ``--rate`` per second for
``--minutes`` minutes. Every ``--every`` seconds it samples each service's resident memory (RSS,
from ``/proc``) and the Odoo sink's ``ferry_consumer_lag``. At the end it waits until every
accepted order is a confirmed sale order in the sandbox Odoo, and prints:

- a table of the samples (minutes, RSS per service in MB, the sink's lag);
- per service: the peak RSS against the budget (``--budget-mb``, 150; none for the sandbox
  Odoo and shop, stand-ins that hold every record in memory) and its growth, the mean RSS of
  the last quarter of the run over the mean of the second quarter (the first quarter is
  warm-up: caches, pools and interned schemas fill then); a steady service stays near 1.0;
- the lag at the end and its peak; orders lost (not confirmed) or doubled.

Exits non-zero when an order is lost or doubled, not on the figures.

    python -m bench.soak [--minutes 30] [--rate 20] [--every 10] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.broker import bench_broker
from bench.e2e_throughput import _requests, check, send, sink_metric, wait_confirmed
from tests.support.odoo_rpc import OdooReader
from tests.support.platform import Platform, logged_errors, running_platform

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MB (Linux ``/proc``), None if it is gone."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * PAGE / 1e6


def sink_lag(platform: Platform) -> float | None:
    try:
        return sink_metric(platform, "ferry_consumer_lag", timeout_s=5.0)
    except httpx.HTTPError:
        return None


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def soak(platform: Platform, minutes: float, rate: float, every: float, budget_mb: float) -> int:
    stack = platform.stack
    names = stack.names
    pids = {name: stack.pid(name) for name in names}
    run = uuid.uuid4().hex[:8]
    base = uuid.uuid4().int % 10**9 * 10**6
    total = max(1, round(minutes * 60 * rate))
    requests = _requests(run, base, total, platform.webhook_secret)
    samples: list[tuple[float, dict[str, float | None], float | None]] = []
    accepted: list[str] = []

    async def drive() -> None:
        began = time.perf_counter()
        next_sample = began
        chunk = max(1, round(rate))  # one second's orders at a time
        for start in range(0, total, chunk):
            sent = await send(platform.gateway_url, requests[start : start + chunk], 4)
            accepted.extend(sent.accepted)
            now = time.perf_counter()
            if now >= next_sample:
                rss = {name: rss_mb(pid) for name, pid in pids.items()}
                lag = await asyncio.to_thread(sink_lag, platform)
                samples.append(((now - began) / 60, rss, lag))
                row = "  ".join(f"{name} {mb or 0:5.0f}" for name, mb in rss.items())
                print(f"{(now - began) / 60:6.1f} min  {row}  lag {lag}", flush=True)
                next_sample += every
            ahead = (start + chunk) / rate - (time.perf_counter() - began)
            if ahead > 0:
                await asyncio.sleep(ahead)

    asyncio.run(drive())
    odoo = OdooReader(platform.odoo_url, platform.odoo_api_key)
    try:
        wait_confirmed(odoo, accepted, time.perf_counter() + 300)
        lost, doubled = check(odoo, accepted, [ref for ref, _, _ in requests])
    finally:
        odoo.close()
    print(f"\n{len(accepted):,} of {total:,} orders accepted at {rate:g}/s over {minutes:g} min")
    quarter = max(1, len(samples) // 4)
    print(f"{'service':<12}{'peak MB':>9}{'budget':>8}{'growth':>8}")
    for name in names:
        series = [s[1][name] for s in samples]
        values = [v for v in series if v is not None]
        peak = max(values, default=float("nan"))
        second = _mean([v for v in series[quarter : 2 * quarter] if v is not None])
        last = _mean([v for v in series[-quarter:] if v is not None])
        verdict = "ok" if peak <= budget_mb else "OVER"
        if name.endswith("-sandbox"):  # a stand-in for Odoo or the shop: its data grows
            verdict = "n/a"
        print(f"{name:<12}{peak:>9.0f}{verdict:>8}{last / second:>8.2f}")
    lags = [s[2] for s in samples if s[2] is not None]
    print(f"sink lag: peak {max(lags, default=float('nan')):.0f}, at the end {sink_lag(platform)}")
    print(f"lost {len(lost)}, doubled {len(doubled)}")
    errors = logged_errors(platform.log_dir)
    if errors:
        print(f"errors logged by the services: {len(errors)}, the first: {errors[0]}")
    return 1 if lost or doubled else 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=20.0, help="orders per second")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--budget-mb", type=float, default=150.0)
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ferry-bench-soak-") as tmp:
        state = Path(tmp)
        with (
            bench_broker(args.bootstrap, state / "kafka") as bootstrap,
            running_platform(bootstrap, state) as platform,
        ):
            return soak(platform, args.minutes, args.rate, args.every, args.budget_mb)


if __name__ == "__main__":
    raise SystemExit(main())
