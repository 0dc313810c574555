"""Write throughput of the Odoo emulator over JSON-RPC: one call per record (the baseline)
against ``create`` with a list and ``load`` with external ids, all in one run.

Run: ``python -m bench.odoo_emulator [--records N] [--batch B] [--data-dir DIR]``. The server
runs in this process (uvicorn in a thread, like the tests), so client and server share the
machine's cores; with ``--data-dir`` every call also commits to SQLite.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from sandbox.odoo import EmulatorConfig, RunningEmulator


class Client:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=60)

    def execute_kw(self, model: str, method: str, args: list[Any]) -> Any:
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {
                "service": "object",
                "method": "execute_kw",
                "args": ["ferry", 2, "admin", model, method, args, {}],
            },
        }
        reply = self.http.post("/jsonrpc", json=body).json()
        if "error" in reply:
            raise RuntimeError(reply["error"]["data"]["message"])
        return reply.get("result")


def partner(i: int, run: str) -> dict[str, Any]:
    return {"name": f"Bench {run} {i}", "email": f"bench{i}@{run}.example", "ref": f"{run}-{i}"}


def timed(label: str, records: int, func: Callable[[], None]) -> float:
    start = time.perf_counter()
    func()
    rate = records / (time.perf_counter() - start)
    print(f"{label:<38} {rate:>10,.0f} records/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--single", type=int, default=1000, help="records for the baseline")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        with RunningEmulator(EmulatorConfig(data_dir=data_dir)) as server:
            client = Client(server.url)
            n, batch = args.records, args.batch
            print(
                f"Odoo emulator at {server.url}, SQLite in {data_dir.name}/, "
                f"{n} records, batches of {batch}"
            )

            def single() -> None:
                for i in range(args.single):
                    client.execute_kw("res.partner", "create", [partner(i, "one")])

            def batched() -> None:
                for start in range(0, n, batch):
                    vals = [partner(i, "many") for i in range(start, start + batch)]
                    client.execute_kw("res.partner", "create", [vals])

            def load(run: str) -> Callable[[], None]:
                def go() -> None:
                    for start in range(0, n, batch):
                        rows = [
                            [f"ferry.bench_{i}", f"Bench {run} {i}", f"b{i}@{run}.example"]
                            for i in range(start, start + batch)
                        ]
                        result = client.execute_kw(
                            "res.partner", "load", [["id", "name", "email"], rows]
                        )
                        if result["ids"] is False:
                            raise RuntimeError(result["messages"][:3])

                return go

            baseline = timed("create, one call per record", args.single, single)
            many = timed(f"create, list of {batch} per call", n, batched)
            loaded = timed(f"load (insert), {batch} rows per call", n, load("new"))
            upserted = timed(f"load (update), {batch} rows per call", n, load("again"))
            print(f"ratio batched create / one per call: {many / baseline:.1f}x")
            print(f"ratio load insert / one per call:    {loaded / baseline:.1f}x")
            print(f"ratio load update / one per call:    {upserted / baseline:.1f}x")


if __name__ == "__main__":
    main()
