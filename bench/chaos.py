"""Chaos at volume: shop orders through the whole platform while every Ferry service is SIGKILLed
again and again and ``ferry up``'s supervisor restarts it.

Starts its own Kafka broker (or uses ``--bootstrap``) and the whole platform on free ports, with
the supervisor of ``ferry up`` watching it. Sends ``--orders`` signed shop orders at ``--rate``
per second from a few connections, each retried (the same delivery id, as a shop retries a
webhook) until the gateway answers 2xx. Meanwhile each Ferry service (gateway, streams, Odoo
sink, Odoo capture, shop sink, console) is SIGKILLed ``--kills`` times at random moments of the
sending window; the supervisor starts it again (1 s, then 2 s, 4 s... of backoff). At 30 % of
the window the sandbox Odoo goes down for ``--odoo-down`` seconds (60: connections refused); at
50 % the sandbox shop answers 429 to everything for ``--shop-429`` seconds (60), which the shop
sink meets when it pushes the customers the capture saw change in Odoo.

At the end it waits until every accepted order is a confirmed sale order in the sandbox Odoo,
then prints: orders sent, accepted and retried; every kill and how long until the service was
back (ready); lost (accepted, not confirmed), doubled (more than one sale order for one
reference) and dead-lettered (records on the flow's dead-letter topics: none of these orders
is invalid, so any is a transient cause dead-lettered). Exits non-zero on any of the three.

With ``--brokers 3`` it starts a 3-node cluster (replication factor 3, min ISR 2) and at 40 %
of the window SIGKILLs one broker, chosen by the seed, for ``--broker-down`` seconds (30).

    python -m bench.chaos [--orders 5000] [--rate 50] [--kills 5] [--seed N]
                          [--odoo-down 60] [--shop-429 60] [--max-seconds 900]
                          [--bootstrap HOST:PORT | --brokers 3 [--broker-down 30]]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.broker import bench_broker, bench_cluster
from bench.e2e_throughput import _requests, check, wait_confirmed
from bench.soak import rss_mb
from ferry.ops.reading import records_of
from ferry.supervisor import Supervisor
from infra.kafka import KafkaCluster
from tests.support.odoo_rpc import OdooReader
from tests.support.platform import Platform, running_platform

FERRY_SERVICES = ("gateway", "streams", "odoo-sink", "odoo-capture", "shop-sink", "console")
DEAD_LETTER_TOPICS = ("dlq.src.shop.orders", "dlq.sink.odoo.sale_orders")
CONNECTIONS = 8
SAMPLE_EVERY_S = 5.0  # RSS of every service
BUDGET_MB = 150.0  # per Ferry service under load
# When (monotonic), what (shown), what to do.
Fault = tuple[float, str, Callable[[], None]]


def sandbox_fault(url: str, plan: dict[str, object] | None) -> Callable[[], None]:
    """POST ``plan`` to a sandbox's faults URL (None: clear its faults)."""

    def act() -> None:
        if plan is None:
            httpx.delete(url, timeout=5).raise_for_status()
        else:
            httpx.post(url, json=plan, timeout=5).raise_for_status()

    return act


def broker_fault(cluster: KafkaCluster, node: int, down_s: float) -> Callable[[], None]:
    """SIGKILL ``node``; start it again after ``down_s`` (in a thread of its own: a start
    waits until the cluster lists the node again) and say how long that took."""

    def restart() -> None:
        time.sleep(down_s)
        began = time.monotonic()
        try:
            cluster.start_node(node)
        except Exception as exc:  # shown, and the run's counts say what it cost
            print(f"  broker {node} did not start again: {exc}", flush=True)
            return
        print(
            f"  broker {node} back: listed again {time.monotonic() - began:.1f} s after its start",
            flush=True,
        )

    def act() -> None:
        cluster.kill_node(node)
        threading.Thread(target=restart, name=f"broker-{node}", daemon=True).start()

    return act


@dataclass
class Sending:
    accepted: list[str] = field(default_factory=list)
    retries: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # answers that never turned 2xx
    began: float = 0.0
    ended: float = 0.0


async def send(url: str, requests: list[tuple[str, bytes, dict[str, str]]], rate: float) -> Sending:
    """POST each request at ``rate`` per second; retry one until 2xx (for up to 2 minutes)."""
    sending = Sending(began=time.monotonic())
    queue: asyncio.Queue[tuple[int, tuple[str, bytes, dict[str, str]]]] = asyncio.Queue()

    async def feed() -> None:
        for n, request in enumerate(requests):
            await queue.put((n, request))
            ahead = (n + 1) / rate - (time.monotonic() - sending.began)
            if ahead > 0:
                await asyncio.sleep(ahead)

    async def worker(http: httpx.AsyncClient) -> None:
        while True:
            _, (ref, body, headers) = await queue.get()
            deadline = time.monotonic() + 120
            answer = ""
            while time.monotonic() < deadline:
                try:
                    response = await http.post(url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    answer = f"no answer: {type(exc).__name__}"
                else:
                    if response.status_code < 300:
                        sending.accepted.append(ref)
                        answer = ""
                        break
                    answer = f"{response.status_code}: {response.text[:80]}"
                    if response.status_code < 500 and response.status_code != 429:
                        break  # refused for good: not retried
                sending.retries += 1
                await asyncio.sleep(0.5)
            if answer:
                sending.refused[answer] = sending.refused.get(answer, 0) + 1
            queue.task_done()

    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as http:
        workers = [asyncio.create_task(worker(http)) for _ in range(CONNECTIONS)]
        await feed()
        await queue.join()
        for task in workers:
            task.cancel()
    sending.ended = time.monotonic()
    return sending


@dataclass
class Kill:
    service: str
    at: float  # monotonic
    back_after_s: float | None = None  # until the supervisor had it ready again


class Chaos:
    """One thread that ticks the supervisor and kills services on schedule, so the stack is
    never touched from two threads at once."""

    def __init__(
        self,
        platform: Platform,
        schedule: list[tuple[float, str]],
        faults: Sequence[Fault] = (),
    ) -> None:
        self.stack = platform.stack
        self.schedule = sorted(schedule)
        self.faults = sorted(faults, key=lambda f: f[0])  # (when, label, url, plan or None: clear)
        self.kills: list[Kill] = []
        self.lines: list[str] = []
        self.peak_mb: dict[str, float] = {}  # each service's highest RSS sampled, any process
        self.supervisor = Supervisor(self.stack, report=self._report)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    def _report(self, line: str) -> None:
        now = time.monotonic()
        self.lines.append(line)
        print(f"  supervisor: {line}", flush=True)
        name = line.split(" ", 1)[0]
        if " restarted " in line:
            for kill in self.kills:
                if kill.service == name and kill.back_after_s is None:
                    kill.back_after_s = now - kill.at

    def _sample(self) -> None:
        for name in self.stack.names:
            try:
                mb = rss_mb(self.stack.pid(name))
            except (KeyError, LookupError):
                continue
            if mb is not None and mb > self.peak_mb.get(name, 0.0):
                self.peak_mb[name] = mb

    def _run(self) -> None:
        next_sample = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_sample:
                self._sample()
                next_sample = now + SAMPLE_EVERY_S
            due = [item for item in self.schedule if item[0] <= now]
            for item in due:
                self.schedule.remove(item)
                name = item[1]
                if self.supervisor.services[name].state != "running" or (
                    self.stack.exit_code(name) is not None
                ):
                    self.schedule.append((now + 1.0, name))  # down already: a second later
                    continue
                self.stack.kill(name)
                self.kills.append(Kill(name, time.monotonic()))
                print(f"  SIGKILL {name}", flush=True)
            while self.faults and self.faults[0][0] <= now:
                _, label, act = self.faults.pop(0)
                try:
                    act()
                except Exception as exc:  # a fault that could not be set is said, not fatal
                    print(f"  fault {label}: could not be set: {exc}", flush=True)
                else:
                    print(f"  fault: {label}", flush=True)
            self.supervisor.tick()
            time.sleep(0.2)

    def __enter__(self) -> Chaos:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


async def dead_letters(platform: Platform, refs: set[str]) -> int:
    """Records on the flow's dead-letter topics for the orders of this run."""
    count = 0
    for topic in DEAD_LETTER_TOPICS:
        async for record in records_of(platform.bootstrap, topic, timeout_s=30):
            if any(ref.encode() in (record.value or b"") for ref in refs):
                count += 1
    return count


@dataclass(frozen=True)
class Outcome:
    accepted: int
    kills: dict[str, int]  # service -> SIGKILLs done
    lost: int
    doubled: int
    dead_lettered: int
    confirmed: bool


def run(
    platform: Platform,
    orders: int,
    rate: float,
    kills: int,
    seed: int,
    max_s: float,
    *,
    odoo_down_s: float = 0.0,
    shop_429_s: float = 0.0,
    cluster: KafkaCluster | None = None,
    broker_down_s: float = 0.0,
) -> Outcome:
    rng = random.Random(seed)
    run_id = uuid.uuid4().hex[:8]
    base = uuid.uuid4().int % 10**9 * 10**6
    requests = _requests(run_id, base, orders, platform.webhook_secret)
    window = orders / rate
    start = time.monotonic()
    schedule = [
        (start + rng.uniform(0.1, 0.8) * window, name)
        for name in FERRY_SERVICES
        for _ in range(kills)
    ]
    faults: list[Fault] = []
    odoo_faults, shop_faults = (
        f"{platform.odoo_url}/__sandbox__/faults",
        f"{platform.shop_url}/__sandbox__/faults",
    )
    if odoo_down_s:
        faults.append((start + 0.3 * window, f"Odoo down for {odoo_down_s:g} s",
                       sandbox_fault(odoo_faults, {"downtime_seconds": odoo_down_s})))  # fmt: skip
    if shop_429_s:
        at = start + 0.5 * window
        faults.append((at, f"the shop answers 429 for {shop_429_s:g} s",
                       sandbox_fault(shop_faults, {"error_status": 429})))  # fmt: skip
        faults.append((at + shop_429_s, "the shop answers again", sandbox_fault(shop_faults, None)))
    broker = ""
    if cluster is not None and broker_down_s and len(cluster.nodes) > 1:
        node = rng.choice([n.node_id for n in cluster.nodes])
        broker = f"; broker {node} of {len(cluster.nodes)} SIGKILLed for {broker_down_s:g} s"
        faults.append((start + 0.4 * window, f"SIGKILL broker {node}",
                       broker_fault(cluster, node, broker_down_s)))  # fmt: skip
    print(
        f"{orders:,} orders at {rate:g}/s ({window:.0f} s); {kills} SIGKILLs per service; "
        f"Odoo down {odoo_down_s:g} s; the shop answering 429 for {shop_429_s:g} s{broker}"
    )
    with Chaos(platform, schedule, faults) as chaos:
        sending = asyncio.run(send(platform.gateway_url, requests, rate))
        odoo = OdooReader(platform.odoo_url, platform.odoo_api_key)
        try:
            done = wait_confirmed(odoo, sending.accepted, time.perf_counter() + max_s)
            recovered_s = time.monotonic() - sending.ended
            lost, doubled = check(odoo, sending.accepted, [ref for ref, _, _ in requests])
        finally:
            odoo.close()
    dead = asyncio.run(dead_letters(platform, {ref for ref, _, _ in requests}))
    print(
        f"\nsent {orders:,}, accepted {len(sending.accepted):,} "
        f"({sending.retries:,} retries after a failed answer), refused for good: "
        f"{sending.refused or 'none'}"
    )
    print(f"{len(chaos.kills)} of {len(schedule)} kills done (the rest fell after the end):")
    for service in FERRY_SERVICES:
        backs = [k.back_after_s for k in chaos.kills if k.service == service]
        shown = ", ".join(f"{b:.1f}" if b is not None else "not back" for b in backs)
        print(f"  {service:<13} back after (s): {shown}")
    print(
        f"all accepted orders confirmed: {'yes' if done else 'NO'}, "
        f"{recovered_s:.1f} s after the last was sent"
    )
    print(f"lost {len(lost)}, doubled {len(doubled)}, dead-lettered {dead}")
    print(f"peak RSS (MB, sampled every {SAMPLE_EVERY_S:g} s; budget {BUDGET_MB:g} for Ferry's):")
    for name, mb in sorted(chaos.peak_mb.items()):
        verdict = "n/a" if name.endswith("-sandbox") else "ok" if mb <= BUDGET_MB else "OVER"
        print(f"  {name:<13} {mb:6.0f}  {verdict}")
    done_kills = {name: sum(k.service == name for k in chaos.kills) for name in FERRY_SERVICES}
    return Outcome(len(sending.accepted), done_kills, len(lost), len(doubled), dead, done)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos")
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=50.0, help="orders per second")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs per service")
    parser.add_argument("--seed", type=int, default=None, help="the kill schedule's seed")
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--odoo-down", type=float, default=60.0, help="seconds Odoo is down")
    parser.add_argument("--shop-429", type=float, default=60.0, help="seconds the shop answers 429")
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    parser.add_argument(
        "--brokers", type=int, choices=(1, 3), default=1, help="nodes of its own cluster"
    )
    parser.add_argument(
        "--broker-down", type=float, default=30.0, help="seconds one of 3 brokers is down"
    )
    parser.add_argument("--keep-logs", type=Path, help="copy the services' logs here at the end")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed}")
    with tempfile.TemporaryDirectory(prefix="ferry-bench-chaos-") as tmp, ExitStack() as stack:
        state = Path(tmp)
        cluster: KafkaCluster | None = None
        extra: dict[str, str] = {}
        if args.brokers > 1 and not args.bootstrap:
            cluster = stack.enter_context(bench_cluster(args.brokers, state / "kafka"))
            bootstrap = cluster.bootstrap_servers
            extra["FERRY__KAFKA__REPLICATION_FACTOR"] = str(args.brokers)
        else:
            bootstrap = stack.enter_context(bench_broker(args.bootstrap, state / "kafka"))
        platform = stack.enter_context(running_platform(bootstrap, state, extra_env=extra))
        outcome = run(
            platform,
            args.orders,
            args.rate,
            args.kills,
            seed,
            args.max_seconds,
            odoo_down_s=args.odoo_down,
            shop_429_s=args.shop_429,
            cluster=cluster,
            broker_down_s=args.broker_down,
        )
        if args.keep_logs:
            shutil.copytree(platform.log_dir, args.keep_logs, dirs_exist_ok=True)
            print(f"logs: {args.keep_logs}")
    return 1 if outcome.lost or outcome.doubled or outcome.dead_lettered else 0


if __name__ == "__main__":
    raise SystemExit(main())
