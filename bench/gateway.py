"""The gateway's ingress speed against a bare server, in one run on one broker.

Starts its own Kafka broker (or uses ``--bootstrap``), the gateway (``ferry gateway``, as in
production: uvicorn, the acks=all idempotent producer) and, as the baseline, a bare
Starlette app on uvicorn that answers 202 to every POST without doing anything. Then, from
``--connections`` concurrent connections, ``--requests`` each of:

- the baseline: POSTs of a signed order to the bare server;
- signed shop webhooks (``POST /webhooks/shop``), each a new order;
- publish calls (``POST /v1/events``), each a new order from a connected app;

and prints accepted/s, p50 and p99 per leg, and each leg's rate as a ratio of the bare server's
(the goal: 0.5 or more). Then it sends webhooks paced at half the rate it measured and prints
their p99 (the goal: 20 ms or less). Every 202 of the gateway still waited for Kafka's ack.

    python -m bench.gateway [--requests 2000] [--connections 32] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bench.broker import bench_broker
from ferry import dotenv
from ferry.apps import AppAdmin, resolve_pepper
from ferry.registry import load
from infra.kafka.ports import free_ports
from producers.shop.sample import sample_order, signed_request
from producers.shop.webhook import order_record

ROOT = Path(__file__).resolve().parents[1]
BARE_APP = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def accept(request):
    await request.body()
    return JSONResponse({"ids": ["bare"]}, status_code=202)
app = Starlette(routes=[Route("/{path:path}", accept, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""

Request = tuple[str, bytes, dict[str, str]]


@dataclass
class Leg:
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def accepted(self) -> int:
        return self.statuses[202]

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def drive(
    name: str, url: str, requests: list[Request], connections: int, pace_per_s: float | None = None
) -> Leg:
    """Send every request from ``connections`` workers (paced overall if ``pace_per_s``)."""
    leg = Leg(name)
    queue = list(reversed(requests))
    started = time.perf_counter()
    sent = 0

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal sent
        while queue:
            path, body, headers = queue.pop()
            if pace_per_s:
                due = started + sent / pace_per_s
                sent += 1
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
            began = time.perf_counter()
            response = await http.post(path, content=body, headers=headers)
            leg.latencies.append(time.perf_counter() - began)
            leg.statuses[response.status_code] += 1

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as http:
        await asyncio.gather(*(worker(http) for _ in range(connections)))
    leg.seconds = time.perf_counter() - started
    return leg


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def webhooks(count: int, secret: str, base: int) -> list[Request]:
    out = []
    for n in range(count):
        body, headers = signed_request(sample_order(base + n), secret, delivery_id=f"d-{base + n}")
        out.append(("/webhooks/shop", body, headers))
    return out


def publishes(count: int, key: str, base: int) -> list[Request]:
    out = []
    for n in range(count):
        record = _json(order_record(sample_order(base + n), delivery_id=f"p-{base + n}"))
        event = {
            "specversion": "1.0",
            "id": f"p-{base + n}",
            "source": "bench/pos",
            "type": "shop.order.created",
            "data": record,
        }
        headers = {"authorization": f"Bearer {key}", "content-type": "application/cloudevents+json"}
        out.append(("/v1/events", json.dumps(event).encode(), headers))
    return out


def _wait_http(
    url: str, ok: Callable[[httpx.Response], bool], what: str, timeout_s: float = 60
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if ok(httpx.get(url, timeout=2)):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not become ready in {timeout_s:.0f} s")


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def app_key(env: dict[str, str]) -> str:
    settings = load(environ=env).settings
    pepper = resolve_pepper(settings.apps, env)
    async with AppAdmin(settings.kafka, settings.apps, pepper) as admin:
        existing = admin.directory.get("bench")
        if existing is not None and not existing.revoked:
            _, key = await admin.rotate("bench", grace_s=0)
        else:
            _, key = await admin.create("bench", ["shop.order.created"], 1_000_000)
    return key


def report(leg: Leg, bare: Leg | None) -> None:
    ratio = f"  ratio to bare {leg.rate / bare.rate:.2f}" if bare and bare.rate else ""
    other = {s: c for s, c in leg.statuses.items() if s != 202}
    print(
        f"{leg.name:<18} {leg.accepted:>6} accepted in {leg.seconds:6.2f} s = {leg.rate:7.1f}/s  "
        f"p50 {leg.percentile(0.5):6.1f} ms  p99 {leg.percentile(0.99):6.1f} ms{ratio}"
        + (f"  other answers {other}" if other else "")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--bootstrap")
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="ferry-bench-gateway-") as tmp,
        bench_broker(options.bootstrap, Path(tmp) / "kafka") as bootstrap,
    ):
        gateway_port, bare_port = free_ports(2)
        env = {
            **os.environ,
            **dotenv.generate(),
            "FERRY__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "FERRY__SERVICES__GATEWAY__PORT": str(gateway_port),
        }
        env.pop("FERRY_CONFIG", None)
        secret = env["FERRY_SHOP_WEBHOOK_SECRET"]
        gateway_url, bare_url = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{bare_port}"
        with (
            process([sys.executable, "-m", "ferry.cli", "gateway"], env, Path(tmp) / "gateway.log"),
            process([sys.executable, "-c", BARE_APP, str(bare_port)], env, Path(tmp) / "bare.log"),
        ):
            _wait_http(f"{gateway_url}/readyz", lambda r: r.status_code == 200, "the gateway")
            _wait_http(f"{bare_url}/", lambda r: r.status_code == 405, "the bare server")
            key = asyncio.run(app_key(env))
            probe = publishes(1, key, 10**9)
            _wait_http(gateway_url + "/v1/openapi.json", lambda r: r.status_code == 200, "openapi")
            deadline = time.monotonic() + 60
            while (
                httpx.post(
                    gateway_url + probe[0][0], content=probe[0][1], headers=probe[0][2]
                ).status_code
                != 202
            ):
                if time.monotonic() > deadline:
                    raise SystemExit("the publish API did not accept the probe event")
                time.sleep(0.25)
            n, c = options.requests, options.connections
            # Warm-up (not counted): connections, caches, the producer's batches.
            asyncio.run(drive("warm-up", gateway_url, webhooks(200, secret, 5 * 10**8), c))
            bare_requests = [(f"/bare{p}", b, h) for p, b, h in webhooks(n, secret, 10**8)]
            bare = asyncio.run(drive("bare server", bare_url, bare_requests, c))
            hooks = asyncio.run(drive("webhooks", gateway_url, webhooks(n, secret, 2 * 10**8), c))
            published = asyncio.run(
                drive("publish API", gateway_url, publishes(n, key, 3 * 10**8), c)
            )
            half = hooks.rate / 2
            paced = asyncio.run(
                drive(
                    f"webhooks @{half:.0f}/s",
                    gateway_url,
                    webhooks(max(n // 2, 100), secret, 4 * 10**8),
                    c,
                    half,
                )
            )
        print(f"\n{n} requests per leg, {c} connections, one broker\n")
        report(bare, None)
        for leg in (hooks, published, paced):
            report(leg, bare)
        print(
            f"\nwebhooks at half their saturating rate: p99 {paced.percentile(0.99):.1f} ms "
            "(goal: 20 ms or less)"
        )
        lost = [leg.name for leg in (hooks, published, paced) if leg.accepted != len(leg.latencies)]
        if lost:
            print(f"not every request was accepted: {', '.join(lost)}")
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
