"""An Odoo stock change to the shop's level: the webhook path against polling, in one run.

Starts its own broker (or uses ``--bootstrap``) and the whole platform twice: once as
``make up`` runs it (Odoo's automation webhooks reach the gateway, the capture reads after a
debounce), once with the webhook off (the capture polls every ``interval_s``, the default
5 s): the baseline. Each time, ``--changes`` inventory adjustments are made as the user
``demo``, one after the other, and the time until the sandbox shop shows the new level is
measured. Prints p50/p99 of both and their ratio.

    python -m bench.odoo_to_shop [--changes 200] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.broker import bench_broker
from tests.support.odoo_rpc import OdooReader
from tests.support.platform import running_platform
from tests.support.stock import odoo_products, set_on_hand, shop_items

SKUS = [f"SKU-00{n}" for n in range(1, 6)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(bootstrap: str, state: Path, changes: int, *, webhook: bool) -> list[float]:
    state.mkdir(parents=True, exist_ok=True)
    config = state / "ferry.yaml"
    token = "env:FERRY_ODOO_WEBHOOK_TOKEN" if webhook else "null"
    config.write_text(
        f"systems:\n  odoo:\n    capture:\n      webhook_token: {token}\n", encoding="utf-8"
    )
    extra = {"FERRY__SYSTEMS__ODOO__CAPTURE__INTERVAL_S": "5"}
    took: list[float] = []
    with running_platform(bootstrap, state, config=config, extra_env=extra) as platform:
        key = httpx.post(f"{platform.odoo_url}/__sandbox__/users/demo/api_key").json()["key"]
        demo = OdooReader(platform.odoo_url, key, login="demo")
        products = odoo_products(demo)
        deadline = time.monotonic() + 60
        while any(shop_items(platform)[s]["available"] != 100 for s in SKUS):
            if time.monotonic() > deadline:
                raise RuntimeError("the first sync did not reach the shop")
            time.sleep(0.2)
        for n in range(changes):
            sku = SKUS[n % len(SKUS)]
            quantity = 50 + (n % 40)
            if shop_items(platform)[sku]["available"] == quantity:
                quantity += 1
            began = time.perf_counter()
            set_on_hand(demo, products[sku]["id"], float(quantity))
            while shop_items(platform)[sku]["available"] != quantity:
                if time.perf_counter() - began > 60:
                    raise RuntimeError(f"{sku} did not reach {quantity} in the shop")
                time.sleep(0.02)
            took.append(time.perf_counter() - began)
        demo.close()
    return took


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.odoo_to_shop")
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--bootstrap", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with bench_broker(args.bootstrap, root / "kafka") as bootstrap:
            webhook = measure(bootstrap, root / "webhook", args.changes, webhook=True)
            polling = measure(bootstrap, root / "polling", args.changes, webhook=False)
    for name, values in (("webhook", webhook), ("polling (5 s)", polling)):
        print(
            f"{name:>14}: {len(values)} changes, p50 {_percentile(values, 0.5):.2f} s, "
            f"p99 {_percentile(values, 0.99):.2f} s, mean {statistics.mean(values):.2f} s"
        )
    ratio = _percentile(webhook, 0.5) / _percentile(polling, 0.5)
    print(f"webhook p50 / polling p50 = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
