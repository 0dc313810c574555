"""The Odoo sink as a process, against the real broker and the sandbox Odoo as a process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ferry.envelope import CloudEvent, deterministic_id
from ferry.topics import TopicSpec, ensure_topics
from infra.kafka.ports import free_ports
from tests.support.odoo_rpc import OdooReader
from tests.support.waiting import eventually
from tests.unit.consumers.fakes import command, encode

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
TOPIC = "sink.odoo.sale_orders"
DLQ = f"dlq.{TOPIC}"


def free_port() -> int:
    return free_ports(1)[0]


def wait_http(check: Any, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up in {timeout_s} s")


@dataclass
class Odoo:
    url: str
    key: str
    port: int
    data_dir: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [sys.executable, "-m", "sandbox.odoo", "--port", str(self.port)]
        argv += ["--api-key", self.key, "--data-dir", str(self.data_dir)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        body = {"jsonrpc": "2.0", "method": "call", "id": 1}
        body["params"] = {"service": "common", "method": "version", "args": []}
        wait_http(
            lambda: httpx.post(f"{self.url}/jsonrpc", json=body, timeout=1).status_code == 200,
            "the sandbox Odoo",
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def faults(self, **plan: Any) -> None:
        httpx.post(f"{self.url}/__sandbox__/faults", json=plan, timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.url}/__sandbox__/faults", timeout=5).raise_for_status()

    def confirmed(self, refs: list[str]) -> int:
        reader = OdooReader(self.url, self.key)
        try:
            return reader.count(
                "sale.order", [["client_order_ref", "in", refs], ["state", "=", "sale"]]
            )
        finally:
            reader.close()

    def currencies(self, refs: list[str]) -> dict[str, str]:
        """The currency code of each confirmed order, by reference (Odoo computes
        ``sale.order.currency_id`` from the order's pricelist)."""
        reader = OdooReader(self.url, self.key)
        try:
            rows = reader.execute_kw(
                "sale.order",
                "search_read",
                [[["client_order_ref", "in", refs], ["state", "=", "sale"]]],
                {"fields": ["client_order_ref", "currency_id"]},
            )
        finally:
            reader.close()
        return {str(r["client_order_ref"]): str(r["currency_id"][1]) for r in rows}

    def orders(self, refs: list[str]) -> int:
        reader = OdooReader(self.url, self.key)
        try:
            return reader.count("sale.order", [["client_order_ref", "in", refs]])
        finally:
            reader.close()


@pytest.fixture
def odoo(tmp_path: Path) -> Iterator[Odoo]:
    port = free_port()
    server = Odoo(
        f"http://127.0.0.1:{port}",
        secrets.token_hex(20),
        port,
        tmp_path / "odoo",
        tmp_path / "odoo.log",
    )
    server.start()
    yield server
    server.stop()


@dataclass
class SinkProcess:
    env: dict[str, str]
    cwd: Path
    log: Path
    metrics_url: str
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ferry.cli", "sink", "odoo"],
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        wait_http(
            lambda: (
                httpx.get(self.metrics_url.replace("/metrics", "/readyz"), timeout=1).status_code
                == 200
            ),
            "the Odoo sink",
            timeout_s=60,
        )

    def metric(self, name: str, **labels: str) -> float:
        """The sum of ``name`` over its series carrying ``labels``."""
        text = httpx.get(self.metrics_url, timeout=5).text
        wanted = [f'{key}="{value}"' for key, value in labels.items()]
        total = 0.0
        for line in text.splitlines():
            series, _, value = line.rpartition(" ")
            if series.startswith(name + "{") and all(w in series for w in wanted):
                total += float(value)
        return total

    def kill(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill(signal.SIGTERM)


@pytest.fixture
def make_sink(kafka_bootstrap: str, odoo: Odoo, tmp_path: Path) -> Iterator[Any]:
    started: list[SinkProcess] = []

    def make(**extra: str) -> SinkProcess:
        port = free_port()  # each sink its own ops port: two may run at once
        env = {
            **os.environ,
            "FERRY__KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
            "FERRY__SYSTEMS__ODOO__URL": odoo.url,
            "FERRY_ODOO_API_KEY": odoo.key,
            "FERRY__SERVICES__ODOO_SINK__PORT": str(port),
            "FERRY__RETRY__BASE_DELAY_S": "0.1",
            "FERRY__RETRY__MAX_DELAY_S": "0.5",
            "FERRY_SCHEMAS_DIR": str(ROOT / "schemas"),
            **extra,
        }
        env.pop("FERRY_CONFIG", None)
        log = tmp_path / f"sink-{len(started)}.log"
        sink = SinkProcess(env, tmp_path, log, f"http://127.0.0.1:{port}/metrics")
        started.append(sink)
        return sink

    yield make
    for sink in started:
        sink.stop()


async def produce(
    bootstrap: str, commands: list[dict[str, Any]], partition: int | None = None
) -> None:
    """The commands, keyed by shop order (into ``partition`` if given)."""
    await ensure_topics(bootstrap, [TopicSpec(TOPIC, 3), TopicSpec(DLQ, 3)])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for data in commands:
            key = f"shop:order:{data['external_id'].rsplit('_', 1)[1]}".encode()
            envelope = CloudEvent(
                id=deterministic_id("test", data["external_id"]),
                source="ferry/streams/shop-orders-to-odoo",
                type="odoo.sale_order.upsert",
                subject=key.decode(),
            )
            await producer.send_and_wait(
                TOPIC, encode(data), key=key, partition=partition, headers=envelope.to_headers()
            )
    finally:
        await producer.stop()


async def dead_letters(bootstrap: str, key: bytes) -> list[Any]:
    """The records of the DLQ with ``key``, read from the beginning to the current end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(DLQ, p) for p in range(3)]  # created with 3 partitions
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: list[Any] = []
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.extend(r for r in records if r.key == key)
        return found
    finally:
        # aiokafka 0.14: a group-less consumer's stop() re-raises the CancelledError of its own
        # cancelled background task (NoGroupCoordinator.close awaits it unguarded).
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


def batch(n: int, **over: Any) -> list[dict[str, Any]]:
    """``n`` commands with order ids unique to this test run."""
    base = uuid.uuid4().int % 10**9 * 1000
    skus = ("SKU-001", "SKU-002", "SKU-003", "SKU-004", "SKU-005")
    return [command(base + i, skus=(skus[i % 5], skus[(i + 1) % 5]), **over) for i in range(n)]


def refs(commands: list[dict[str, Any]]) -> list[str]:
    return [str(c["client_order_ref"]) for c in commands]


async def test_every_order_arrives_once_a_replay_changes_nothing_unknown_skus_are_dead_lettered(
    kafka_bootstrap: str, odoo: Odoo, make_sink: Any
) -> None:
    orders = batch(6)
    for order in orders[::2]:
        order["currency_code"] = "USD"  # the company's currency; the others stay in EUR
    bad = command(uuid.uuid4().int % 10**9 * 1000, skus=("SKU-001", "SKU-404"))
    await produce(kafka_bootstrap, [*orders, bad])
    sink = make_sink()
    sink.start()
    sink.wait_ready()
    await eventually(lambda: odoo.confirmed(refs(orders)) == 6, timeout_s=60, what="6 orders")
    assert odoo.currencies(refs(orders)) == {
        str(c["client_order_ref"]): str(c["currency_code"]) for c in orders
    }
    bad_key = f"shop:order:{bad['external_id'].rsplit('_', 1)[1]}".encode()

    found: list[Any] = []

    async def dead_lettered() -> bool:
        found[:] = await dead_letters(kafka_bootstrap, bad_key)
        return bool(found)

    for _ in range(60):
        if await dead_lettered():
            break
        await asyncio.sleep(0.5)
    [letter] = found
    headers = {k: v.decode() for k, v in letter.headers}
    assert headers["ferry.error.field"] == "order_lines[1].default_code"
    assert "SKU-404" in headers["ferry.error.message"]
    assert headers["ferry.error.stage"] == "sink"
    assert odoo.orders(refs([bad])) == 0

    before = sink.metric("ferry_duplicates_total")
    await produce(kafka_bootstrap, orders)  # the same commands again: a replay
    await eventually(
        lambda: sink.metric("ferry_duplicates_total") >= before + 6, timeout_s=60, what="replay"
    )
    assert odoo.orders(refs(orders)) == 6
    assert odoo.confirmed(refs(orders)) == 6
    assert len(await dead_letters(kafka_bootstrap, bad_key)) == 1
    assert sink.kill(signal.SIGTERM) == 0


async def test_odoo_down_nothing_is_dead_lettered_and_everything_arrives_once_it_returns(
    kafka_bootstrap: str, odoo: Odoo, make_sink: Any
) -> None:
    sink = make_sink()
    sink.start()
    sink.wait_ready()
    odoo.faults(error_status=503)
    orders = batch(5)
    await produce(kafka_bootstrap, orders)
    await eventually(lambda: sink.metric("ferry_breaker_open") == 1, timeout_s=60, what="breaker")
    # The outage lasts well beyond every record's own budget (8 tries at most 0.5 s apart):
    # the breaker holds the sink back instead of parking the orders one by one.
    await asyncio.sleep(10)
    dlq_before = sink.metric("ferry_dlq_total")
    odoo.clear_faults()
    await eventually(lambda: odoo.confirmed(refs(orders)) == 5, timeout_s=60, what="5 orders")
    assert odoo.orders(refs(orders)) == 5
    assert sink.metric("ferry_dlq_total") == dlq_before == 0
    assert sink.metric("ferry_parked_total") == 0
    assert sink.metric("ferry_breaker_open") == 0
    assert sink.kill(signal.SIGTERM) == 0


async def test_a_record_that_keeps_failing_parks_only_its_key_then_is_dead_lettered(
    kafka_bootstrap: str, odoo: Odoo, make_sink: Any
) -> None:
    orders = batch(10)
    poison = orders[4]
    follower = dict(poison, source_updated_at=poison["source_updated_at"] + timedelta(minutes=1))
    key = f"shop:order:{poison['external_id'].rsplit('_', 1)[1]}".encode()
    sink = make_sink(
        FERRY__RETRY__MAX_ATTEMPTS="3",
        FERRY__RETRY__GIVE_UP_AFTER_S="6",
        FERRY__RETRY__LANE_MAX_DELAY_S="1",
    )
    sink.start()
    sink.wait_ready()
    # Every request that carries this order answers 503; Odoo serves everything else.
    odoo.faults(error_if_body_contains=f'"{poison["client_order_ref"]}"')
    await produce(kafka_bootstrap, [*orders, follower])
    others = [o for o in orders if o is not poison]
    await eventually(lambda: odoo.confirmed(refs(others)) == 9, timeout_s=60, what="9 orders")
    await eventually(lambda: sink.metric("ferry_parked_total") == 2, timeout_s=60, what="parked")

    found: list[Any] = []
    for _ in range(60):
        found[:] = await dead_letters(kafka_bootstrap, key)
        if len(found) == 2:
            break
        await asyncio.sleep(0.5)
    rules = sorted(dict(r.headers)["ferry.error.rule"].decode() for r in found)
    assert rules == ["retries_exhausted", "retries_exhausted"]  # the order and its follower
    assert {dict(r.headers)["ferry.error.topic"].decode() for r in found} == {TOPIC}
    odoo.clear_faults()  # (the count below carries the poison order's reference too)
    assert odoo.orders(refs([poison])) == 0
    assert odoo.orders(refs(others)) == 9
    assert sink.metric("ferry_breaker_open") == 0  # one failing order is not an outage
    assert sink.kill(signal.SIGTERM) == 0


async def test_a_sigkilled_sink_restarted_doubles_nothing(
    kafka_bootstrap: str, odoo: Odoo, make_sink: Any
) -> None:
    orders = batch(30)
    odoo.faults(latency_ms=60)
    first = make_sink(FERRY__FLOWS__SHOP_ORDERS_TO_ODOO__BATCH_SIZE="2")  # many calls in flight
    first.start()
    first.wait_ready()
    await produce(kafka_bootstrap, orders)
    await eventually(lambda: odoo.orders(refs(orders)) >= 3, timeout_s=60, what="first orders")
    assert first.kill(signal.SIGKILL) == -signal.SIGKILL
    assert odoo.orders(refs(orders)) < 30, "the sink finished before it could be killed"
    odoo.clear_faults()
    second = make_sink()
    second.start()
    await eventually(lambda: odoo.confirmed(refs(orders)) == 30, timeout_s=90, what="30 orders")
    assert odoo.orders(refs(orders)) == 30
    assert second.kill(signal.SIGTERM) == 0


@pytest.mark.parametrize(
    "call", ["sale.order.create", "ir.model.data.create", "sale.order.action_confirm"]
)
async def test_a_write_odoo_commits_after_the_sink_gave_up_never_doubles_an_order(
    kafka_bootstrap: str, odoo: Odoo, make_sink: Any, call: str
) -> None:
    """One call of the sequence runs (and commits) only after the sink's timeout: the sink's
    retry must not look for the order before that transaction could have ended."""
    sink = make_sink(FERRY__SYSTEMS__ODOO__TIMEOUT_S="1", FERRY__SYSTEMS__ODOO__REQUEST_LIMIT_S="4")
    sink.start()
    sink.wait_ready()
    orders = batch(3)
    odoo.faults(slow_calls={call: [2.5, 3]})
    await produce(kafka_bootstrap, orders)
    await eventually(lambda: odoo.confirmed(refs(orders)) == 3, timeout_s=120, what="3 orders")
    await asyncio.sleep(3)  # longer than the slow calls: a late commit would show now
    odoo.clear_faults()
    assert odoo.orders(refs(orders)) == 3
    assert odoo.confirmed(refs(orders)) == 3
    assert sink.metric("ferry_dlq_total") == 0
    assert sink.kill(signal.SIGTERM) == 0


async def test_a_batch_create_odoo_commits_after_the_sink_gave_up_doubles_no_order(
    kafka_bootstrap: str, odoo: Odoo, make_sink: Any
) -> None:
    """A partition's backlog is one batch: its orders are created in one call, which runs (and
    commits) only after the sink's timeout. Every order of that call waits for Odoo's longest
    request time, is then found by its stamp, adopted and confirmed: one order each."""
    orders = batch(20)
    await produce(kafka_bootstrap, orders, partition=0)  # queued before the sink starts
    odoo.faults(slow_calls={"sale.order.create": [2.5, 1]})
    sink = make_sink(
        FERRY__SYSTEMS__ODOO__TIMEOUT_S="1",
        FERRY__SYSTEMS__ODOO__REQUEST_LIMIT_S="4",
        FERRY__RETRY__MAX_DELAY_S="5",  # the retries honour the wait, not a 0.5 s cap
    )
    sink.start()
    await eventually(lambda: odoo.confirmed(refs(orders)) == 20, timeout_s=120, what="20 orders")
    await asyncio.sleep(3)  # longer than the slow call: a late commit would show now
    odoo.clear_faults()
    assert odoo.orders(refs(orders)) == 20
    assert odoo.confirmed(refs(orders)) == 20
    assert sink.metric("ferry_dlq_total") == 0
    # One order at a time would have sent 20 creates; the backlog took one or two batches.
    creates = sink.metric("ferry_target_calls_total", model="sale.order", method="create")
    assert 1 <= creates <= 2
    assert sink.kill(signal.SIGTERM) == 0


async def test_a_confirmed_order_changes_as_odoo_permits_and_what_it_refuses_is_dead_lettered(
    kafka_bootstrap: str, odoo: Odoo, make_sink: Any
) -> None:
    n = uuid.uuid4().int % 10**9 * 1000
    first = command(n, skus=("SKU-001", "SKU-002"))
    key = f"shop:order:{n}".encode()

    def lines() -> list[tuple[str, float, float]]:
        reader = OdooReader(odoo.url, odoo.key)
        try:
            rows = reader.execute_kw(
                "sale.order.line",
                "search_read",
                [[["order_id.client_order_ref", "=", first["client_order_ref"]]]],
                {"fields": ["product_id", "product_uom_qty", "qty_delivered"]},
            )
        finally:
            reader.close()
        return sorted(
            (str(r["product_id"][1]).split("]")[0].strip("["), r["product_uom_qty"], r["id"])
            for r in rows
        )

    def version(minutes: int, **quantities: int) -> dict[str, Any]:
        data = command(
            n,
            skus=tuple(quantities),
            source_updated_at=first["source_updated_at"] + timedelta(minutes=minutes),
        )
        for line, qty in zip(data["order_lines"], quantities.values(), strict=True):
            line["product_uom_qty"] = float(qty)
        return data

    sink = make_sink()
    sink.start()
    sink.wait_ready()
    await produce(kafka_bootstrap, [first])
    await eventually(lambda: odoo.confirmed(refs([first])) == 1, timeout_s=60, what="the order")
    # Newer: SKU-001 to 3, SKU-002 dropped, SKU-004 added.
    await produce(kafka_bootstrap, [version(1, **{"SKU-001": 3, "SKU-004": 1})])
    want = [("SKU-001", 3.0), ("SKU-002", 0.0), ("SKU-004", 1.0)]
    await eventually(
        lambda: [(c, q) for c, q, _ in lines()] == want, timeout_s=60, what="the new lines"
    )
    [sku1] = [line_id for code, _, line_id in lines() if code == "SKU-001"]
    reader = OdooReader(odoo.url, odoo.key)
    try:
        reader.execute_kw("sale.order.line", "write", [[sku1], {"qty_delivered": 3}])
    finally:
        reader.close()
    # Newer still: SKU-001 down to 1, below the 3 delivered.
    await produce(kafka_bootstrap, [version(2, **{"SKU-001": 1, "SKU-004": 1})])
    found: list[Any] = []
    for _ in range(60):
        found[:] = await dead_letters(kafka_bootstrap, key)
        if found:
            break
        await asyncio.sleep(0.5)
    [letter] = found
    headers = {k: v.decode() for k, v in letter.headers}
    assert (headers["ferry.error.rule"], headers["ferry.error.field"]) == (
        "order_locked",
        "order_lines[0].product_uom_qty",
    )
    assert "already delivered" in headers["ferry.error.message"]
    assert [(c, q) for c, q, _ in lines()] == want  # nothing of the refused change
    assert odoo.orders(refs([first])) == 1
    assert sink.kill(signal.SIGTERM) == 0


async def test_a_second_sink_joining_mid_backlog_takes_partitions_over_and_nothing_doubles(
    kafka_bootstrap: str, odoo: Odoo, make_sink: Any
) -> None:
    """A rebalance in the middle of batches: the first sink's revoked partitions finish (or
    are abandoned within the bound) and the second applies what was not committed; the
    version guard makes the overlap harmless."""
    orders = batch(90)
    odoo.faults(latency_ms=250)  # every call slow: batches are in flight when it rebalances
    small = {"FERRY__FLOWS__SHOP_ORDERS_TO_ODOO__BATCH_SIZE": "5"}
    first = make_sink(**small)
    first.start()
    first.wait_ready()
    await produce(kafka_bootstrap, orders)
    await eventually(lambda: odoo.orders(refs(orders)) >= 5, timeout_s=60, what="first orders")
    # From here Odoo answers 503 to every call about these orders (each names its order's
    # external id) and serves the rest, the sinks' readiness probe included: the first
    # sink's batches stay in flight, retrying, and it commits nothing more, so whatever
    # partitions the second sink takes still hold work, however slowly it starts.
    ids = [int(str(c["external_id"]).rsplit("_", 1)[1]) for c in orders]
    assert len({i // 100 for i in ids}) == 1, "one id prefix names the whole batch"
    odoo.faults(error_if_body_contains=f"shop_order_{ids[0] // 100}")
    second = make_sink(**small)
    second.start()
    second.wait_ready()  # ready means partitions assigned: the group rebalanced
    await eventually(
        lambda: second.metric("ferry_events_in_total") > 0, timeout_s=60, what="a handover"
    )
    odoo.faults(error_if_body_contains="")  # Odoo serves them again, slowly (250 ms a call)
    assert odoo.confirmed(refs(orders)) < 90, "the backlog was done before the handover"
    odoo.clear_faults()
    await eventually(lambda: odoo.confirmed(refs(orders)) == 90, timeout_s=120, what="90 orders")
    await eventually(
        lambda: first.metric("ferry_consumer_lag") == second.metric("ferry_consumer_lag") == 0,
        timeout_s=30,
        what="both sinks caught up",
    )
    assert odoo.orders(refs(orders)) == 90  # one sale order each, none doubled
    assert first.metric("ferry_dlq_total") == second.metric("ferry_dlq_total") == 0
    assert "assigned" in first.log.read_text().split("Revoking previously assigned", 1)[-1]
    assert first.kill(signal.SIGTERM) == 0
    assert second.kill(signal.SIGTERM) == 0
