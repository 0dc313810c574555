"""The dashboards and the alerts on data: the whole platform on the session's broker, every
service scraped by a real Prometheus, a workload that applies, dead-letters, retries and parks.

Every query of every panel of every dashboard in ``infra/grafana/dashboards`` is evaluated
against that Prometheus (template variables by their current value, ``$__rate_interval`` as a
fixed window) and must return at least one series, also when restricted to this module's scrape
jobs (so the data is this workload's, not an earlier test's). The list of queries with the
number of series each returned is printed and written to ``panel-queries.txt`` in the test's
temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from ferry.registry import load
from infra.grafana.build import DASHBOARDS_DIR
from producers.shop.sample import signed_request
from tests.fixtures.prometheus import Prometheus, Sample
from tests.support.odoo_rpc import OdooReader
from tests.support.orders import unique_order
from tests.support.platform import Platform, running_platform
from tests.support.rules import shrink_rules
from tests.support.stock import odoo_products, set_on_hand
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(600)]

RUN = uuid.uuid4().hex[:6]
# Scrape job (unique to this module) → the platform's port name of the service.
JOBS = {
    f"dash{RUN}-gateway": "gateway",
    f"dash{RUN}-streams": "streams",
    f"dash{RUN}-odoo-sink": "sink",
    f"dash{RUN}-odoo-capture": "capture",
    f"dash{RUN}-shop-sink": "shop_sink",
}
MINE = f'job=~"dash{RUN}-.*"'
WINDOW = "5m"  # $__rate_interval: the whole workload stays inside it
SOURCES = ("src.odoo.stock", "src.odoo.products")


@pytest.fixture(scope="module")
def platform(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The platform with parking quick enough for a test: 3 attempts in place, then the
    record goes to the retry topic, retried there at most 1 s apart."""
    env = {"FERRY__RETRY__MAX_ATTEMPTS": "3", "FERRY__RETRY__LANE_MAX_DELAY_S": "1"}
    state = tmp_path_factory.mktemp("platform")
    with running_platform(kafka_bootstrap, state, extra_env=env) as running:
        yield running


@pytest.fixture
async def producer(platform: Platform) -> AsyncIterator[AIOKafkaProducer]:
    made = AIOKafkaProducer(bootstrap_servers=platform.bootstrap, acks="all")
    await made.start()
    yield made
    await made.stop()


# -- the panels' queries ----------------------------------------------------------------------


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref: str
    expr: str


def _variables(board: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for variable in board.get("templating", {}).get("list", []):
        value = variable.get("current", {}).get("value", "")
        found[variable["name"]] = "|".join(value) if isinstance(value, list) else str(value)
    return found


def substitute(expr: str, variables: dict[str, str]) -> str:
    """Grafana's variables in ``expr``: the interval ones by :data:`WINDOW`, the dashboard's
    own by their current value."""
    values = {
        **variables,
        "__rate_interval": WINDOW,
        "__interval": WINDOW,
        "__range": WINDOW,
    }

    def one(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        if name not in values:
            raise AssertionError(f"{expr}: ${name} is not a variable of its dashboard")
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, expr)


def panel_queries() -> list[PanelQuery]:
    queries = []
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        variables = _variables(board)
        for panel in board["panels"]:
            for target in panel["targets"]:
                expr = substitute(target["expr"], variables)
                queries.append(PanelQuery(path.stem, panel["title"], target["refId"], expr))
    return queries


def only_mine(expr: str) -> str:
    """``expr`` with every Ferry series selector restricted to this module's scrape jobs."""

    def one(match: re.Match[str]) -> str:
        name, labels = match[1], match[3]
        inside = f"{labels}, {MINE}" if labels else MINE
        return f"{name}{{{inside}}}"

    return re.sub(r"\b(ferry_[a-z0-9_]+)(\{([^}]*)\})?", one, expr)


# -- the workload -----------------------------------------------------------------------------


async def _scrape_everything(platform: Platform, prometheus: Prometheus) -> None:
    for job, port in JOBS.items():
        prometheus.scrape(job, f"127.0.0.1:{platform.ports[port]}")
    for job in JOBS:
        await prometheus.wait_up_async(job, timeout_s=60)


async def _post_orders(platform: Platform, orders: list[dict[str, Any]]) -> None:
    async with httpx.AsyncClient(timeout=30.0) as http:
        for order in orders:
            body, headers = signed_request(
                order, platform.webhook_secret, delivery_id=str(uuid.uuid4())
            )
            answer = await http.post(platform.gateway_url, content=body, headers=headers)
            assert answer.status_code == 202, answer.text


async def _odoo_faults(platform: Platform, plan: dict[str, Any] | None) -> None:
    url = f"{platform.odoo_url}/__sandbox__/faults"
    async with httpx.AsyncClient(timeout=10.0) as http:
        answer = await (http.post(url, json=plan) if plan else http.delete(url))
        answer.raise_for_status()


async def _value(prometheus: Prometheus, promql: str) -> float:
    return await prometheus.query_value_async(f"({promql}) or vector(0)") or 0.0


async def _at_least(prometheus: Prometheus, promql: str, target: float, what: str) -> None:
    try:
        await prometheus.wait_for_async(
            f"({promql}) or vector(0)", lambda v: v >= target, timeout_s=120
        )
    except Exception as exc:
        raise AssertionError(f"{what}: {promql} did not reach {target}: {exc}") from None


def _orders_named(odoo: OdooReader, name: str) -> int:
    return odoo.count("sale.order", [["client_order_ref", "=", name]])


async def test_every_panel_of_every_dashboard_returns_data(
    platform: Platform,
    prometheus: Prometheus,
    odoo: OdooReader,
    demo: OdooReader,
    producer: AIOKafkaProducer,
    tmp_path: Path,
) -> None:
    await _scrape_everything(platform, prometheus)
    base = uuid.uuid4().int % 10**9 * 100
    valid = [unique_order(base + n) for n in range(5)]
    poison = unique_order(base + 50)
    invalid = [unique_order(base + 60 + n, invalid="zero_quantity") for n in range(2)]
    unknown_sku = unique_order(base + 70, invalid="unknown_sku")

    # One order Odoo keeps refusing (503) while it serves the others: retried, then parked.
    await _odoo_faults(platform, {"error_if_body_contains": f'"{poison["name"]}"'})
    await _post_orders(platform, [*valid, poison, *invalid, unknown_sku])
    # The Odoo-to-shop flows: a person changes a level and a price in Odoo.
    products = odoo_products(demo)
    set_on_hand(demo, products["SKU-002"]["id"], 17.0 + base % 5)
    demo.execute_kw(
        "product.product",
        "write",
        [[products["SKU-003"]["id"]], {"list_price": 30.0 + base % 7}],
    )
    # A record on each Odoo source topic that is no event at all: dead-lettered by streams.
    for topic in SOURCES:
        await producer.send_and_wait(topic, b"\x00not an event", key=f"garbage-{RUN}".encode())

    sink = f'{{{MINE}, service="odoo-sink"}}'
    await _at_least(prometheus, f"sum(ferry_parked_total{sink})", 1, "the poison order parked")
    await _odoo_faults(platform, None)
    await eventually(
        lambda: _orders_named(odoo, poison["name"]) == 1,
        timeout_s=90,
        what="the parked order applied once Odoo took it",
    )
    assert all(_orders_named(odoo, o["name"]) == 1 for o in valid)
    await _at_least(prometheus, f"sum(ferry_retries_total{sink})", 1, "retries")
    for flow in load(environ=platform.env).sink_flows():
        await _at_least(
            prometheus,
            f'sum(ferry_e2e_latency_seconds_count{{{MINE}, flow="{flow.name}"}})',
            1,
            f"an end-to-end latency of {flow.name}",
        )
    classes = {
        ("streams", "src.shop.orders", "ValidationError"),
        ("odoo-sink", "sink.odoo.sale_orders", "ValidationError"),
        *(("streams", topic, "DecodeError") for topic in SOURCES),
    }
    for service, topic, error_class in classes:
        await _at_least(
            prometheus,
            f'sum(ferry_dlq_total{{{MINE}, service="{service}", topic="{topic}", '
            f'error_class="{error_class}"}})',
            1,
            f"a dead letter of {topic}",
        )

    # Every panel's query returns a series (from this platform's services).
    queries = panel_queries()
    assert queries
    empty = list(queries)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while empty and loop.time() < deadline:
        empty = [q for q in empty if not await prometheus.query_async(only_mine(q.expr))]
        if empty:
            await prometheus.wait_scraped_async(next(iter(JOBS)), after=time.time() + 1.0)
    results = [(q, await prometheus.query_async(q.expr)) for q in queries]
    report = "\n".join(
        f"{len(samples):3d} series  max {_largest(samples):>10}  "
        f"{q.dashboard} / {q.panel} [{q.ref}]: {q.expr}"
        for q, samples in results
    )
    (tmp_path / "panel-queries.txt").write_text(report + "\n", encoding="utf-8")
    print(f"\nseries per panel query ({len(results)} queries):\n{report}")
    assert not empty, "no data from this platform for:\n" + "\n".join(
        f"{q.dashboard} / {q.panel} [{q.ref}]: {q.expr}" for q in empty
    )
    assert all(samples for _, samples in results), report
    # And what the workload did shows as more than zero: the first dead letter of each kind,
    # the retries and the parked order, every flow's events and latency.
    moved = [(q, samples) for q, samples in results if _moved_by_the_workload(q)]
    assert moved
    still = [
        f"{q.dashboard} / {q.panel} [{q.ref}]" for q, s in moved if _largest(s) in ("0", "NaN")
    ]
    assert not still, f"zero where the workload should show: {still}\n{report}"


def _moved_by_the_workload(query: PanelQuery) -> bool:
    """Queries whose series the workload above moves: events in, mapped and applied (not the
    duplicates and filtered ones, D and E), latencies, dead letters, and the Odoo flow's
    retries and parked records."""
    if query.panel.startswith(("Dead letters", "Events", "End-to-end")):
        return query.ref in {"A", "B", "C"}
    return query.dashboard == "ferry-flow-shop-orders-to-odoo" and query.panel.startswith("Retries")


def _largest(samples: list[Sample]) -> str:
    """The largest value among ``samples`` ("NaN" when none is a number)."""
    numbers = [s.value for s in samples if not math.isnan(s.value)]
    return f"{max(numbers):.4g}" if numbers else "NaN"


# -- the alerts -------------------------------------------------------------------------------


def _matches(alert: dict[str, Any], name: str, labels: dict[str, str]) -> bool:
    found = alert["labels"]
    return found.get("alertname") == name and all(found.get(k) == v for k, v in labels.items())


async def _state(prometheus: Prometheus, name: str, labels: dict[str, str]) -> str | None:
    for alert in await prometheus.alerts_async():
        if _matches(alert, name, labels):
            return str(alert["state"])
    return None


async def _until_state(
    prometheus: Prometheus, name: str, labels: dict[str, str], wanted: str | None, timeout_s: float
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (state := await _state(prometheus, name, labels)) != wanted:
        assert loop.time() < deadline, f"{name} {labels} is {state}, not {wanted}"
        await prometheus.wait_scraped_async(next(iter(JOBS)), after=time.time() + 0.5)


async def test_dead_letters_and_a_growing_lag_fire_their_alerts(
    platform: Platform, prometheus: Prometheus, tmp_path: Path
) -> None:
    """The shipped rules are loaded as a copy whose durations only are divided by 20
    (tests/support/rules.py: ``for: 10m`` → 30 s, ``[10m]`` → 30 s, ``[5m]`` and
    ``offset 5m`` → 15 s); every expression is otherwise the shipped one (checked in
    tests/unit/infra/test_prometheus_rules.py)."""
    await _scrape_everything(platform, prometheus)
    prometheus.load_rules([shrink_rules(tmp_path / "ferry.rules.yml", factor=20)])
    sender: asyncio.Task[int] | None = None
    try:
        # Dead letters: none recently, then two orders streams cannot validate.
        dlq = {"service": "streams", "topic": "src.shop.orders", "error_class": "ValidationError"}
        await _until_state(prometheus, "FerryDeadLetters", dlq, None, timeout_s=60)
        base = uuid.uuid4().int % 10**9 * 100
        await _post_orders(
            platform, [unique_order(base + n, invalid="zero_quantity") for n in range(2)]
        )
        await _until_state(prometheus, "FerryDeadLetters", dlq, "firing", timeout_s=60)

        # A growing lag: Odoo answers 503 to everything while orders keep coming.
        lag = {"service": "odoo-sink", "topic": "sink.odoo.sale_orders"}
        assert await _state(prometheus, "FerryConsumerLagGrowing", lag) is None
        await _odoo_faults(platform, {"error_status": 503})
        sender = asyncio.create_task(_keep_ordering(platform, base + 1000))
        await _until_state(prometheus, "FerryConsumerLagGrowing", lag, "firing", timeout_s=300)
        breaker = {"service": "odoo-sink", "system": "odoo"}
        await _until_state(prometheus, "FerryBreakerOpen", breaker, "firing", timeout_s=60)
        lagging = await _value(
            prometheus, f'sum(ferry_consumer_lag{{{MINE}, service="odoo-sink"}})'
        )
        assert lagging > 100
    finally:
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        await _odoo_faults(platform, None)
        prometheus.load_rules(None)
    # Odoo answers again: the breaker closes.
    await prometheus.wait_for_async(
        f'max(ferry_breaker_open{{{MINE}, system="odoo"}})', lambda v: v == 0, timeout_s=120
    )


async def _keep_ordering(platform: Platform, first: int) -> int:
    """Valid orders, five a second, until cancelled; returns how many were sent."""
    sent = 0
    async with httpx.AsyncClient(timeout=30.0) as http:
        while True:
            body, headers = signed_request(
                unique_order(first + sent), platform.webhook_secret, delivery_id=str(uuid.uuid4())
            )
            answer = await http.post(platform.gateway_url, content=body, headers=headers)
            assert answer.status_code == 202, answer.text
            sent += 1
            await asyncio.sleep(0.2)  # the pace of the load, not a wait for anything
