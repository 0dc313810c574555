"""``python -m bench``: every benchmark in turn; each prints its figures and its ratio."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    "serde",
    "processing",
    "odoo_emulator",
    "odoo_scale",
    "odoo_client",
    "odoo_backlog",
    "stream",
    "scaling",
    "e2e_latency",
    "e2e_throughput",
    "capture",
    "odoo_to_shop",
    "gateway",
)


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== bench.{name}", flush=True)
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"])
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
