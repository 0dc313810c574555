"""The Odoo change capture's throughput and its Odoo calls, against a bare read of the same rows.

Starts the sandbox Odoo and a broker (or uses ``--bootstrap``), creates ``--records``
products as ``demo``, then measures in one run:

- baseline: ``search_read`` of those rows in pages of ``batch_size``, ordered by
  ``write_date, id`` (the least any capture must ask Odoo), no Kafka;
- capture: ``ferry capture odoo`` from an empty watermark until every product is on
  ``src.odoo.products`` (Kafka acknowledged), counting its Odoo RPCs.

Prints events/s, RPCs per 1,000 records and the ratio capture/baseline.

    python -m bench.capture [--records 10000] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.broker import bench_broker
from ferry.metrics import ServiceMetrics
from ferry.odoo import OdooClient
from ferry.registry import load
from producers.odoo.service import run_capture
from tests.integration.odoo.emulator import running
from tests.support.odoo_rpc import OdooReader
from tests.support.platform import free_port

BATCH = 500


class Counting(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return await super().handle_async_request(request)


def seed(url: str, records: int) -> None:
    key = httpx.post(f"{url}/__sandbox__/users/demo/api_key").json()["key"]
    demo = OdooReader(url, key, login="demo")
    for start in range(0, records, 1000):
        rows = [
            {"name": f"Bench {n}", "default_code": f"B-{n:06}", "list_price": 1 + n % 97}
            for n in range(start, min(start + 1000, records))
        ]
        demo.execute_kw("product.product", "create", [rows])
    demo.close()


async def baseline(url: str, key: str) -> tuple[float, int, int]:
    transport = Counting()
    async with httpx.AsyncClient(transport=transport, timeout=60) as http:
        odoo = OdooClient(url, "ferry", "admin", key, http=http)
        await odoo.authenticate()
        transport.calls = 0
        began, offset, rows = time.perf_counter(), 0, 0
        while True:
            page = await odoo.search_read(
                "product.product",
                [],
                ["id", "default_code", "name", "list_price", "active", "write_uid", "write_date"],
                offset=offset,
                limit=BATCH,
                order="write_date asc, id asc",
                context={"active_test": False},
            )
            rows += len(page)
            offset += BATCH
            if len(page) < BATCH:
                break
        return time.perf_counter() - began, transport.calls, rows


async def capture(
    url: str, key: str, bootstrap: str, state: Path, records: int
) -> tuple[float, int]:
    config = state / "ferry.yaml"
    names = [f.name for f in load(environ={}).flows]
    config.write_text(
        "flows:\n"
        + "".join(f"  {n}: {{enabled: false}}\n" for n in names)
        + f"systems:\n  odoo:\n    url: {url}\n"
        f"    capture: {{models: [product.product], batch_size: {BATCH}, interval_s: 0.2}}\n",
        encoding="utf-8",
    )
    env = {
        "FERRY_ODOO_API_KEY": key,
        "FERRY_ODOO_WEBHOOK_TOKEN": "bench-token-unused",
        "FERRY__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "FERRY__SERVICES__ODOO_CAPTURE__PORT": str(free_port()),
    }
    registry = load(config, environ=env)
    metrics = ServiceMetrics("odoo-capture")
    transport = Counting()
    http = httpx.AsyncClient(transport=transport, timeout=60)
    odoo = OdooClient(url, "ferry", "admin", key, http=http)
    stop = asyncio.Event()
    began = time.perf_counter()
    task = asyncio.create_task(
        run_capture(registry, environ=env, stop=stop, metrics=metrics, odoo=odoo)
    )

    def emitted() -> float:
        labels: dict[str, Any] = {"service": "odoo-capture", "topic": "src.odoo.products"}
        return metrics.registry.get_sample_value("ferry_events_out_total", labels) or 0.0

    while emitted() < records:
        if task.done():
            raise RuntimeError(f"the capture stopped: {task.result()}")
        await asyncio.sleep(0.05)
    took = time.perf_counter() - began
    calls = transport.calls
    stop.set()
    await asyncio.wait_for(task, 30)
    await http.aclose()
    return took, calls


async def run(records: int, bootstrap: str | None, root: Path) -> None:
    with running("18.0") as emulator, bench_broker(bootstrap, root / "kafka") as servers:
        seed(emulator.url, records)
        base_s, base_calls, rows = await baseline(emulator.url, emulator.api_key)
        cap_s, cap_calls = await capture(emulator.url, emulator.api_key, servers, root, rows)
    print(
        f"baseline: {rows} rows read in {base_s:.2f} s ({rows / base_s:,.0f} rows/s), "
        f"{base_calls} RPCs ({1000 * base_calls / rows:.1f} per 1,000)"
    )
    print(
        f"capture:  {rows} events on Kafka in {cap_s:.2f} s ({rows / cap_s:,.0f} events/s), "
        f"{cap_calls} RPCs ({1000 * cap_calls / rows:.1f} per 1,000, start-up included)"
    )
    print(f"capture / baseline: time {cap_s / base_s:.2f}, RPCs {cap_calls / base_calls:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capture")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--bootstrap", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.records, args.bootstrap, Path(tmp)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
