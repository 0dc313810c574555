"""``ferry status``: what ``ferry up`` runs, as its supervisor last wrote it, probed now."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from ferry.supervisor import read_status

LAG = "ferry_consumer_lag"


def _probe(port: int, client: httpx.Client) -> tuple[str, str]:
    """(ready, lag) of the service on ``port``: yes/no/-, the sum of its consumer lag."""
    try:
        answer = client.get(f"http://127.0.0.1:{port}/readyz").status_code
        ready = {200: "yes", 404: "-"}.get(answer, "no")  # 404: a sandbox, no readiness page
    except httpx.HTTPError:
        return "no", "-"
    try:
        text = client.get(f"http://127.0.0.1:{port}/metrics").text
    except httpx.HTTPError:
        return ready, "-"
    values = [
        float(line.rpartition(" ")[2]) for line in text.splitlines() if line.startswith(LAG + "{")
    ]
    return ready, f"{sum(values):.0f}" if values else "-"


def _uptime(service: dict[str, Any]) -> str:
    if service["state"] != "running":
        return "-"
    seconds = int(time.time() - float(service["started_at"]))
    return (
        f"{seconds // 3600}h{seconds // 60 % 60:02d}m"
        if seconds >= 3600
        else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def show(path: Path) -> int:
    data = read_status(path)
    if data is None:
        print("ferry up is not running (start it with: make up)")
        return 1
    table = Table("service", "state", "pid", "uptime", "restarts", "last exit", "ready", "lag")
    with httpx.Client(timeout=2.0) as client:
        for service in data["services"]:
            ready, lag = _probe(int(service["port"]), client)
            code = service.get("last_exit_code")
            table.add_row(
                service["name"],
                service["state"],
                str(service["pid"]),
                _uptime(service),
                str(service["restarts"]),
                "-" if code is None else str(code),
                ready,
                lag,
            )
    Console().print(table)
    return 0
