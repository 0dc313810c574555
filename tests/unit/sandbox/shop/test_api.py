"""One GraphQL request through the emulator without HTTP: coercion, directive, cost, throttle."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.shop.emulator import ShopConfig, ShopEmulator
from sandbox.shop.graphql_api import AdminApi

SET = """mutation($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { changes(quantityNames: ["available"]) { delta quantityAfterChange } }
    userErrors { field code message }
  }
}"""


@pytest.fixture
def api() -> Iterator[AdminApi]:
    shop = ShopEmulator(ShopConfig(client_secret=secrets.token_hex(8)))
    yield AdminApi(shop)
    shop.close()


def quantities(**extra: Any) -> dict[str, Any]:
    entry = {
        "inventoryItemId": "gid://shopify/InventoryItem/83000001",
        "locationId": "gid://shopify/Location/71000001",
        "quantity": 80,
        **extra,
    }
    return {"name": "available", "reason": "correction", "quantities": [entry]}


def test_variables_tell_an_omitted_change_from_quantity_from_null(api: AdminApi) -> None:
    omitted = api.run(SET, {"input": quantities(), "key": "a"}, None)
    assert omitted["errors"][0]["extensions"]["code"] == "INVALID_FIELD_ARGUMENTS"
    assert omitted["data"] == {"inventorySetQuantities": None}
    explicit = api.run(SET, {"input": quantities(changeFromQuantity=None), "key": "b"}, None)
    assert "errors" not in explicit
    assert explicit["data"]["inventorySetQuantities"] == {
        "inventoryAdjustmentGroup": {"changes": [{"delta": -20, "quantityAfterChange": 80}]},
        "userErrors": [],
    }


def test_literals_tell_them_apart_too(api: AdminApi) -> None:
    literal = """mutation { inventorySetQuantities(input: {name: "available", reason: "correction",
      quantities: [{inventoryItemId: "gid://shopify/InventoryItem/83000002",
                    locationId: "gid://shopify/Location/71000001", quantity: 3%s}]})
      @idempotent(key: "%s") { userErrors { code } } }"""
    omitted = api.run(literal % ("", "x"), None, None)
    assert omitted["errors"][0]["message"] == (
        "InventoryQuantityInput must include the following argument: changeFromQuantity."
    )
    assert api.run(literal % (", changeFromQuantity: null", "y"), None, None)["data"] == {
        "inventorySetQuantities": {"userErrors": []}
    }


def test_the_idempotent_directive_may_not_be_left_out(api: AdminApi) -> None:
    query = SET.replace(" @idempotent(key: $key)", "").replace(", $key: String!", "")
    answer = api.run(query, {"input": quantities(changeFromQuantity=100)}, None)
    assert answer["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    assert answer["errors"][0]["path"] == ["inventorySetQuantities"]
    assert "locations" in answer["errors"][0]


def test_every_answer_carries_the_cost(api: AdminApi) -> None:
    answer = api.run("{ productVariants(first: 3) { nodes { sku } } }", None, None)
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 5
    assert answer["extensions"]["cost"]["actualQueryCost"] == 5
    assert answer["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 2000.0


def test_a_query_above_the_single_query_limit_is_refused_unrun(api: AdminApi) -> None:
    level = 'inventoryLevel(locationId: "gid://shopify/Location/71000001") { id }'
    query = "{ productVariants(first: 250) { nodes { product { id } inventoryItem { %s } } } }"
    answer = api.run(query % level, None, None)  # 2 + 250 * 4
    assert answer["errors"][0]["extensions"] == {
        "code": "MAX_COST_EXCEEDED",
        "cost": 1002,
        "maxCost": 1000,
    }
    assert "data" not in answer
    assert answer["extensions"]["cost"]["actualQueryCost"] is None


def test_an_empty_bucket_throttles(api: AdminApi) -> None:
    api.shop.bucket.configure(maximum=12, restore_rate=0)
    query = "{ productVariants(first: 5) { nodes { sku } } }"  # 7 points
    assert "errors" not in api.run(query, None, None)
    throttled = api.run(query, None, None)
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled["errors"][0]["message"] == "Throttled"
    assert throttled["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 5
