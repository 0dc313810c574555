"""Shop orders per second through the whole platform: does the Odoo sink keep up with the gateway?

Starts its own Kafka broker (or uses ``--bootstrap``) and the whole platform, warms the path up
with a few orders (until they are confirmed; not counted), then sends ``--orders`` signed shop
orders, each unique to the run (its own id and order name, so its own ``client_order_ref``),
from ``--connections`` concurrent connections, as fast as the gateway answers. Measured, from
the first POST:

- the baseline, the gateway: orders answered 202 per second until the last 202 (with the p50
  and p99 answer time, and every other answer by status);
- the Odoo sink: accepted orders per second until the sandbox Odoo holds every one of them as
  a confirmed sale order (``search_count`` on ``client_order_ref`` and ``state = sale``,
  polled every 0.5 s up to ``--max-seconds``);
- the Odoo calls per order: the sink's ``ferry_target_calls_total`` over the measured orders.

The ratio confirmed/s / accepted/s says whether the sink keeps up (the goal: 0.9 or more).
Exits non-zero when an accepted order is lost (not confirmed in time) or doubled (more than one
sale order for its reference), not on the ratio.

    python -m bench.e2e_throughput [--orders 5000] [--connections 32] [--max-seconds 600]
                                   [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.broker import bench_broker
from producers.shop.sample import sample_order, signed_request
from tests.support.odoo_rpc import OdooReader
from tests.support.platform import Platform, logged_errors, running_platform

WARM_UP = 5  # orders sent (and confirmed) before the clock starts
CHUNK = 500  # references per ``in`` domain
POLL_S = 0.5


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclass
class Sent:
    began: float = 0.0  # the first POST
    last_accepted: float = 0.0  # the last 202
    accepted: list[str] = field(default_factory=list)  # client_order_ref of each 202
    answer_s: list[float] = field(default_factory=list)  # of the 202s
    refused: Counter[str] = field(default_factory=Counter)  # "<status>: <error>" -> count


@dataclass
class Result:
    orders: int
    connections: int
    sent: Sent
    confirmed_at: float | None  # seconds from the first POST; None when not all in time
    lost: list[str]
    doubled: dict[str, int]
    calls: float
    errors: list[str]
    max_seconds: float


def _requests(
    run: str, base: int, count: int, secret: str
) -> list[tuple[str, bytes, dict[str, str]]]:
    """``count`` signed orders: (client_order_ref, body, headers)."""
    signed = []
    for n in range(count):
        order = sample_order(base + n)
        order["name"] = f"#{run}-{n:06}"
        body, headers = signed_request(order, secret, delivery_id=str(uuid.uuid4()))
        signed.append((order["name"], body, headers))
    return signed


async def send(
    url: str, requests: list[tuple[str, bytes, dict[str, str]]], connections: int
) -> Sent:
    """POST every request from ``connections`` workers over one queue."""
    sent = Sent()
    queue: asyncio.Queue[tuple[str, bytes, dict[str, str]]] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async def worker(http: httpx.AsyncClient) -> None:
        while True:
            try:
                ref, body, headers = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            began = time.perf_counter()
            try:
                response = await http.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                sent.refused[f"no answer: {type(exc).__name__}"] += 1
                continue
            answered = time.perf_counter()
            if response.status_code == 202:
                sent.accepted.append(ref)
                sent.answer_s.append(answered - began)
                sent.last_accepted = max(sent.last_accepted, answered)
            else:
                sent.refused[f"{response.status_code}: {response.text[:120]}"] += 1

    async with httpx.AsyncClient(timeout=60.0, limits=limits) as http:
        # one connection opened ahead, so the clock does not start with a cold pool
        await http.get(url.rsplit("/webhooks/", 1)[0] + "/healthz")
        sent.began = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(connections)))
    return sent


def wait_confirmed(odoo: OdooReader, refs: list[str], deadline: float) -> bool:
    """Poll until every chunk of ``refs`` is confirmed in Odoo; False at the deadline."""
    pending = list(_chunks(refs))
    while True:
        pending = [
            chunk
            for chunk in pending
            if odoo.count("sale.order", [["client_order_ref", "in", chunk], ["state", "=", "sale"]])
            < len(chunk)
        ]
        if not pending:
            return True
        if time.perf_counter() > deadline:
            return False
        time.sleep(POLL_S)


def check(
    odoo: OdooReader, accepted: list[str], sent: list[str]
) -> tuple[list[str], dict[str, int]]:
    """The accepted references without a confirmed sale order (lost), and the references of
    every order sent with more than one sale order (doubled)."""
    total = sum(odoo.count("sale.order", [["client_order_ref", "in", c]]) for c in _chunks(sent))
    confirmed = sum(
        odoo.count("sale.order", [["client_order_ref", "in", c], ["state", "=", "sale"]])
        for c in _chunks(accepted)
    )
    if total == confirmed == len(accepted):
        return [], {}
    orders: Counter[str] = Counter()
    sold: set[str] = set()
    for chunk in _chunks(sent):
        rows: list[dict[str, Any]] = odoo.execute_kw(
            "sale.order",
            "search_read",
            [[["client_order_ref", "in", chunk]]],
            {"fields": ["client_order_ref", "state"]},
        )
        for row in rows:
            orders[row["client_order_ref"]] += 1
            if row["state"] == "sale":
                sold.add(row["client_order_ref"])
    lost = [ref for ref in accepted if ref not in sold]
    doubled = {ref: n for ref, n in orders.items() if n > 1}
    return lost, doubled


def sink_metric(platform: Platform, name: str, timeout_s: float = 10.0) -> float:
    """The Odoo sink's metric ``name``, summed over its series."""
    url = f"http://127.0.0.1:{platform.ports['sink']}/metrics"
    text = httpx.get(url, timeout=timeout_s).text
    total = 0.0
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.split("{", 1)[0] == name:
            total += float(value)
    return total


def target_calls(platform: Platform) -> float:
    """The Odoo sink's ``ferry_target_calls_total``, summed over its series."""
    return sink_metric(platform, "ferry_target_calls_total")


def measure(
    bootstrap: str, state: Path, orders: int, connections: int, max_seconds: float
) -> Result:
    run = uuid.uuid4().hex[:8]
    base = uuid.uuid4().int % 10**9 * 10**6
    with running_platform(bootstrap, state) as platform:
        odoo = OdooReader(platform.odoo_url, platform.odoo_api_key)
        try:
            secret = platform.webhook_secret
            warm = _requests(f"W{run}", base, WARM_UP, secret)
            warmed = asyncio.run(send(platform.gateway_url, warm, 1))
            if len(warmed.accepted) != WARM_UP:
                raise SystemExit(f"warm-up refused: {dict(warmed.refused)}")
            if not wait_confirmed(odoo, warmed.accepted, time.perf_counter() + 120):
                raise SystemExit("the warm-up orders were not confirmed within 120 s")
            calls_before = target_calls(platform)

            requests = _requests(run, base + WARM_UP, orders, secret)
            sent = asyncio.run(send(platform.gateway_url, requests, connections))
            done = wait_confirmed(odoo, sent.accepted, sent.began + max_seconds)
            confirmed_at = time.perf_counter() - sent.began if done else None
            lost, doubled = check(odoo, sent.accepted, [ref for ref, _, _ in requests])
            calls = target_calls(platform) - calls_before
        finally:
            odoo.close()
        errors = logged_errors(platform.log_dir)
    return Result(
        orders, connections, sent, confirmed_at, lost, doubled, calls, errors, max_seconds
    )


def report(result: Result) -> list[str]:
    sent = result.sent
    accepted = len(sent.accepted)
    lines = [
        f"orders sent:                  {result.orders:,} from {result.connections} connections"
    ]
    if not accepted:
        lines.append("no order was accepted")
    else:
        gateway_s = sent.last_accepted - sent.began
        per_s = accepted / gateway_s
        lines.append(
            f"gateway (baseline)  accepted  {accepted:6,} in {gateway_s:7.2f} s "
            f"{per_s:8,.1f} orders/s   answer p50 {_percentile(sent.answer_s, 0.5) * 1000:6.1f} ms"
            f"   p99 {_percentile(sent.answer_s, 0.99) * 1000:6.1f} ms"
        )
        if result.confirmed_at is None:
            lines.append(
                f"odoo sink           confirmed: not every order within {result.max_seconds:g} s"
                " (--max-seconds)"
            )
        else:
            confirmed_s = accepted / result.confirmed_at
            lines.append(
                f"odoo sink           confirmed {accepted:6,} in {result.confirmed_at:7.2f} s "
                f"{confirmed_s:8,.1f} orders/s"
            )
    for answer, count in sorted(sent.refused.items()):
        lines.append(f"not accepted: {count:,} x {answer}")
    lines.append(
        f"odoo calls per order:         {result.calls / result.orders:.2f}"
        f" (ferry_target_calls_total {result.calls:,.0f} / {result.orders:,})"
    )
    if result.lost:
        lines.append(f"LOST: {len(result.lost):,} orders, e.g. {', '.join(result.lost[:5])}")
    if result.doubled:
        some = ", ".join(f"{ref} x{n}" for ref, n in list(result.doubled.items())[:5])
        lines.append(f"DOUBLED: {len(result.doubled):,} orders, e.g. {some}")
    if result.errors:
        lines.append(f"errors logged by the services: {len(result.errors)}, the first:")
        lines.append(f"  {result.errors[0]}")
    if accepted and result.confirmed_at is not None:
        # (accepted / confirmed_at) / (accepted / gateway time)
        ratio = (sent.last_accepted - sent.began) / result.confirmed_at
        verdict = "the sink keeps up" if ratio >= 0.9 else "the sink falls behind"
        lines.append(f"ratio confirmed/s / accepted/s: {ratio:.2f} (goal >= 0.9: {verdict})")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e_throughput")
    parser.add_argument("--orders", type=int, default=5_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=600.0,
        help="how long after the first POST to wait for every order in Odoo",
    )
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ferry-bench-") as tmp:
        state = Path(tmp)
        with bench_broker(args.bootstrap, state / "kafka") as bootstrap:
            result = measure(bootstrap, state, args.orders, args.connections, args.max_seconds)
    print("\n".join(report(result)), flush=True)
    return 1 if result.lost or result.doubled else 0


if __name__ == "__main__":
    raise SystemExit(main())
