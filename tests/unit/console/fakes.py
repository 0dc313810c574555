"""A console over fake sources: what Kafka, the services and the targets would return."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from ferry.console import Scrape, create_app
from ferry.console.auth import CSRF_FIELD
from ferry.flow import Flow
from ferry.metrics import ServiceMetrics
from ferry.ops.dlq import DeadLetter, Filters
from ferry.reconcile import Mismatch, Report
from ferry.registry import Registry, load

TOKEN = "operator-token-for-the-unit-tests-0123456789"
# Values a page must never show: the secrets of the systems, as the environment holds them.
SECRETS = {
    "FERRY_ODOO_API_KEY": "odoo-api-key-never-shown-4f1c",
    "FERRY_SHOP_WEBHOOK_SECRET": "shop-webhook-secret-never-shown-77aa",
    "FERRY_SHOP_CLIENT_SECRET": "shop-client-secret-never-shown-0b3e",
    "FERRY_ODOO_WEBHOOK_TOKEN": "odoo-webhook-token-never-shown-9d2d",
    "FERRY_APPS_PEPPER": "apps-pepper-never-shown-5e6f7a8b",
    "FERRY_CONSOLE_TOKEN": TOKEN,
}
DLQ = "dlq.sink.odoo.sale_orders"


def letter(offset: int, *, key: str = "shop:order:1", replayed_at: str | None = None) -> DeadLetter:
    error = {
        "stage": "sink",
        "class": "Rejected",
        "field": "order_lines[0].default_code",
        "rule": "known product",
        "message": "no product with default_code SKU-999",
        "topic": "sink.odoo.sale_orders",
        "partition": "0",
        "offset": str(40 + offset),
        "attempts": "1",
    }
    headers = (
        ("ce_type", b"odoo.sale_order.upsert"),
        *tuple((f"ferry.error.{k}", v.encode()) for k, v in error.items()),
    )
    return DeadLetter(
        DLQ,
        0,
        offset,
        datetime(2026, 11, 1, 12, offset, tzinfo=UTC),
        key.encode(),
        b"\x00not-avro",
        headers,
        error,
        replayed_at,
    )


def _metrics() -> list[Scrape]:
    streams = ServiceMetrics("streams")
    streams.events_in.labels("streams", "src.shop.orders").inc(12)
    streams.events_out.labels("streams", "sink.odoo.sale_orders").inc(10)
    streams.dlq.labels("streams", "src.shop.orders", "ValidationError").inc(2)
    streams.consumer_lag.labels("streams", "src.shop.orders", "0").set(3)
    sink = ServiceMetrics("odoo-sink")
    sink.events_in.labels("odoo-sink", "sink.odoo.sale_orders").inc(10)
    sink.events_out.labels("odoo-sink", "sink.odoo.sale_orders").inc(9)
    sink.dlq.labels("odoo-sink", "sink.odoo.sale_orders", "Rejected").inc(1)
    sink.ready.labels("odoo-sink").set(1)
    for kind, count in (("missing", 1), ("different", 0), ("unexpected", 0)):
        sink.reconcile_mismatches.labels("odoo-sink", "shop-orders-to-odoo", kind).set(count)
    sink.reconcile_checked.labels("odoo-sink", "shop-orders-to-odoo").set(10)
    sink.reconcile_last_run.labels("odoo-sink", "shop-orders-to-odoo").set(1.8e9)
    return [
        Scrape("gateway", 8080, problem="unreachable (ConnectError)"),
        Scrape("streams", 6066, text=streams.exposition().decode()),
        Scrape("odoo-sink", 9101, text=sink.exposition().decode()),
    ]


class FakeSources:
    def __init__(self, letters: Sequence[DeadLetter] = ()) -> None:
        self.letters = list(letters)
        self.replayed: list[DeadLetter] = []
        self.reconciled: list[str] = []
        self.asked: list[tuple[list[str], Filters]] = []

    async def scrape(self) -> list[Scrape]:
        return _metrics()

    async def dead_letters(self, topics: Sequence[str], filters: Filters) -> list[DeadLetter]:
        self.asked.append((list(topics), filters))
        return [x for x in self.letters if x.topic in topics and filters.keep(x)]

    async def replay(self, letters: Sequence[DeadLetter]) -> int:
        self.replayed += letters
        return len(letters)

    async def reconcile(self, flow: Flow) -> Report | None:
        self.reconciled.append(flow.name)
        return Report(
            flow.name,
            checked=10,
            mismatches=[Mismatch("missing", "ferry.shop_order_7", "no sale order in Odoo")],
        )

    def status(self) -> dict[str, Any] | None:
        return {
            "supervisor_pid": 1,
            "services": [
                {
                    "name": "streams",
                    "port": 6066,
                    "pid": 101,
                    "state": "running",
                    "started_at": 0.0,
                    "restarts": 0,
                    "last_exit_code": None,
                },
                {
                    "name": "odoo-sink",
                    "port": 9101,
                    "pid": 102,
                    "state": "restarting",
                    "started_at": 0.0,
                    "restarts": 2,
                    "last_exit_code": 1,
                },
            ],
        }


def registry() -> Registry:
    return load(environ=SECRETS)


def client(sources: FakeSources | None = None) -> httpx.AsyncClient:
    """An HTTP client of a console over ``sources`` (in process, no socket)."""
    app = create_app(registry(), sources or FakeSources(), SecretStr(TOKEN))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


_CSRF = re.compile(rf'name="{CSRF_FIELD}" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def signed_in(sources: FakeSources | None = None) -> tuple[httpx.AsyncClient, str]:
    """A client signed in, and the CSRF token of its session."""
    http = client(sources)
    page = await http.get("/login")
    answer = await http.post("/login", data={"token": TOKEN, CSRF_FIELD: csrf_of(page.text)})
    assert answer.status_code == 303, answer.text
    return http, csrf_of((await http.get("/flows")).text)
