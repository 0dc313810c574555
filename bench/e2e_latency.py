"""Webhook to confirmed sale order: how long one signed order takes through every service.

Starts its own Kafka broker (or uses ``--bootstrap``) and the whole platform, sends orders one at
a time, and measures from the POST until the sandbox Odoo holds the confirmed sale order. The
baseline, measured in the same run, is the gateway's own answer time (POST until Kafka
acknowledged): the ratio says how much of the end-to-end time the downstream stages add.

    python -m bench.e2e_latency [--orders 30] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.broker import bench_broker
from producers.shop.sample import sample_order, signed_request
from tests.support.odoo_rpc import OdooReader
from tests.support.platform import running_platform


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(bootstrap: str, orders: int, state: Path) -> tuple[list[float], list[float]]:
    accepted: list[float] = []
    confirmed: list[float] = []
    with running_platform(bootstrap, state) as platform, httpx.Client(timeout=30.0) as http:
        odoo = OdooReader(platform.odoo_url, platform.odoo_api_key)
        base = uuid.uuid4().int % 10**12 * 1000
        for n in range(orders + 3):  # the first three warm the path up and are not counted
            order_id = base + n
            body, headers = signed_request(
                sample_order(order_id), platform.webhook_secret, delivery_id=str(uuid.uuid4())
            )
            began = time.perf_counter()
            response = http.post(platform.gateway_url, content=body, headers=headers)
            answered = time.perf_counter()
            response.raise_for_status()
            name = f"shop_order_{order_id}"
            deadline = began + 30
            while True:
                found = odoo.sale_orders_by_xmlid([name]).get(name)
                if found and found["state"] == "sale":
                    break
                if time.perf_counter() > deadline:
                    raise SystemExit(f"order {order_id} was not confirmed within 30 s")
                time.sleep(0.005)
            done = time.perf_counter()
            if n >= 3:
                accepted.append(answered - began)
                confirmed.append(done - began)
        odoo.close()
    return accepted, confirmed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ferry-bench-") as tmp:
        state = Path(tmp)
        with bench_broker(args.bootstrap, state / "kafka") as bootstrap:
            accepted, confirmed = measure(bootstrap, args.orders, state)
    p50_a, p50_c = statistics.median(accepted), statistics.median(confirmed)
    print(f"orders measured:                 {len(confirmed)}")
    print(
        f"gateway answer (baseline)  p50 {p50_a * 1000:7.1f} ms   "
        f"p95 {_percentile(accepted, 0.95) * 1000:7.1f} ms"
    )
    print(
        f"webhook -> confirmed order p50 {p50_c * 1000:7.1f} ms   "
        f"p95 {_percentile(confirmed, 0.95) * 1000:7.1f} ms   "
        f"max {max(confirmed) * 1000:7.1f} ms"
    )
    print(f"ratio end-to-end / gateway answer (p50): {p50_c / p50_a:.1f}x")


if __name__ == "__main__":
    main()
