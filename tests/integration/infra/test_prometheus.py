"""The real Prometheus scrapes a real prometheus_client exporter and answers PromQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from infra.kafka import free_ports
from tests.fixtures.prometheus import Prometheus


@pytest.fixture
def exporter() -> Iterator[tuple[str, Counter]]:
    registry = CollectorRegistry()
    counter = Counter(
        "ferry_events_in", "Events accepted.", ["service", "topic"], registry=registry
    )
    port = free_ports(1)[0]
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{port}", counter
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_scrapes_an_exporter_and_answers_promql(
    prometheus: Prometheus, exporter: tuple[str, Counter]
) -> None:
    target, counter = exporter
    counter.labels(service="gateway", topic="src.shop.orders").inc(3)

    prometheus.scrape("test-exporter", target)
    prometheus.wait_up("test-exporter")
    value = prometheus.wait_for(
        'ferry_events_in_total{job="test-exporter", topic="src.shop.orders"}', lambda v: v == 3
    )

    assert value == 3
    [sample] = prometheus.query('ferry_events_in_total{job="test-exporter"}')
    assert sample.labels["service"] == "gateway"
    assert sample.labels["instance"] == target


async def test_async_api_sees_new_increments(
    prometheus: Prometheus, exporter: tuple[str, Counter]
) -> None:
    target, counter = exporter
    prometheus.scrape("test-exporter-async", target, labels={"env": "test"})
    await prometheus.wait_up_async("test-exporter-async")

    counter.labels(service="streams", topic="src.odoo.products").inc(5)
    value = await prometheus.wait_for_async(
        'sum(ferry_events_in_total{job="test-exporter-async", env="test"})', lambda v: v == 5
    )

    assert value == 5
    prometheus.unscrape("test-exporter-async")


def test_ferry_alert_rules_are_loaded(prometheus: Prometheus) -> None:
    names = {rule["name"] for rule in prometheus.rules()}
    assert {"FerryServiceDown", "FerryDeadLetters"} <= names
