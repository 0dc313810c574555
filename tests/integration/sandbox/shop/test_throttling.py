"""The cost-based leaky bucket over HTTP: refunds, THROTTLED, restore, the single-query cap."""

from __future__ import annotations

from .conftest import LOCATION, Api, wait_for

TEN = "{ productVariants(first: 10) { nodes { sku } } }"  # requests 12, five exist: costs 7


def test_the_unused_part_of_the_requested_cost_is_refunded(api: Api) -> None:
    api.control("POST", "settings", {"maximum_available": 30, "restore_rate": 0})
    cost = api(TEN)["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (12, 7)
    assert cost["throttleStatus"] == {
        "maximumAvailable": 30.0,
        "currentlyAvailable": 23,
        "restoreRate": 0.0,
    }


def test_an_empty_bucket_answers_throttled_until_it_restores(api: Api) -> None:
    api.control("POST", "settings", {"maximum_available": 20, "restore_rate": 0})
    assert "errors" not in api(TEN)  # 20 - 7 = 13 left
    assert "errors" not in api(TEN)  # 6 left
    throttled = api.post(TEN)
    assert throttled.status_code == 200
    body = throttled.json()
    assert body["errors"] == [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ]
    assert "data" not in body
    assert body["extensions"]["cost"] == {
        "requestedQueryCost": 12,
        "actualQueryCost": None,
        "throttleStatus": {"maximumAvailable": 20.0, "currentlyAvailable": 6, "restoreRate": 0.0},
    }
    api.control("POST", "settings", {"restore_rate": 50})
    wait_for(lambda: "errors" not in api(TEN), what="the bucket to restore")


def test_a_throttled_mutation_changes_nothing(api: Api) -> None:
    api.control("POST", "settings", {"maximum_available": 9, "restore_rate": 0})
    item = api.level("SKU-001")["inventory_item_id"]
    answer = api(
        f"""mutation {{ inventorySetQuantities(input: {{name: "available", reason: "correction",
             quantities: [{{inventoryItemId: "{item}", locationId: "{LOCATION}", quantity: 1,
                           changeFromQuantity: null}}]}}) @idempotent(key: "t-1") {{
             userErrors {{ code }} }} }}"""
    )
    assert answer["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 10
    assert api.level("SKU-001")["available"] == 100


def test_a_query_above_1000_points_is_refused_without_spending(api: Api) -> None:
    level = f'inventoryLevel(locationId: "{LOCATION}") {{ id }}'
    nodes = f"nodes {{ product {{ id }} inventoryItem {{ {level} }} }}"
    query = f"{{ productVariants(first: 250) {{ {nodes} }} }}"
    answer = api(query)
    assert answer["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert answer["errors"][0]["message"].startswith("Query cost is 1002, which exceeds")
    assert answer["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] >= 1990
