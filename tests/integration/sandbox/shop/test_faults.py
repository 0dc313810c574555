"""Fault injection: 5xx, latency, a hang that still applies the mutation, refusals, downtime."""

from __future__ import annotations

import time

import httpx
import pytest

from .conftest import LOCATION, Api, wait_for

QUERY = "{ locations(first: 1) { nodes { name } } }"


def test_an_injected_503_answers_once_then_the_api_is_back(api: Api) -> None:
    api.control("POST", "faults", {"error_status": 503, "error_count": 1})
    failed = api.post(QUERY)
    assert failed.status_code == 503
    assert api.post(QUERY).status_code == 200


def test_latency_delays_every_answer_but_the_sandbox_routes(api: Api) -> None:
    api.control("POST", "faults", {"latency_ms": 1000})
    started = time.monotonic()
    assert api.post(QUERY).status_code == 200
    assert time.monotonic() - started >= 1.0
    started = time.monotonic()
    api.control("GET", "health")
    assert time.monotonic() - started < 1.0


def test_a_hung_mutation_is_applied_after_the_client_gave_up(api: Api) -> None:
    api.control("POST", "faults", {"hang_seconds": 1.0, "hang_count": 1})
    item = api.level("SKU-001")["inventory_item_id"]
    mutation = """mutation($q: [InventoryQuantityInput!]!) {
      inventorySetQuantities(input: {name: "available", reason: "correction", quantities: $q})
      @idempotent(key: "hung-1") { inventoryAdjustmentGroup { id } userErrors { code } } }"""
    variables = {
        "q": [
            {
                "inventoryItemId": item,
                "locationId": LOCATION,
                "quantity": 70,
                "changeFromQuantity": 100,
            }
        ]
    }
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            api.shop.graphql_url,
            json={"query": mutation, "variables": variables},
            headers={"X-Shopify-Access-Token": api.token},
            timeout=0.3,
        )
    wait_for(lambda: api.level("SKU-001")["available"] == 70, what="the hung mutation to apply")
    retried = api.data(mutation, variables)["inventorySetQuantities"]
    assert retried["userErrors"] == []  # the same key: the first result, not a stale CAS
    assert api.level("SKU-001")["available"] == 70


def test_a_refused_connection_then_an_answer(api: Api) -> None:
    api.control("POST", "faults", {"refuse_count": 1})
    with pytest.raises(httpx.TransportError):
        api.post(QUERY)
    assert api.post(QUERY).status_code == 200


def test_downtime_refuses_everything_until_cleared(api: Api) -> None:
    api.control("POST", "faults", {"downtime_seconds": 60})
    with pytest.raises(httpx.TransportError):
        api.post(QUERY)
    assert api.control("GET", "faults")["downtime_remaining_s"] > 0
    api.control("DELETE", "faults")
    assert api.post(QUERY).status_code == 200


def test_an_unknown_fault_is_a_400(api: Api) -> None:
    response = httpx.post(f"{api.shop.url}/__sandbox__/faults", json={"flood": 1})
    assert response.status_code == 400
    assert "flood" in response.json()["error"]
