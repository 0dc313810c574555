"""Reading: locations, variants by SKU with their levels, pagination, errors, cost."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.shop import RunningShop

from .conftest import LOCATION, Api

VARIANTS = """
query Variants($first: Int!, $after: String, $query: String, $location: ID!) {
  productVariants(first: $first, after: $after, query: $query) {
    edges {
      cursor
      node {
        id sku price
        product { id }
        inventoryItem {
          id
          inventoryLevel(locationId: $location) {
            quantities(names: ["available", "on_hand"]) { name quantity }
          }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""


def variants(api: Api, **variables: Any) -> dict[str, Any]:
    page: dict[str, Any] = api.data(VARIANTS, {"first": 10, "location": LOCATION, **variables})[
        "productVariants"
    ]
    return page


def test_the_one_location(api: Api) -> None:
    data = api.data("{ locations(first: 10) { edges { node { id name isActive } } } }")
    assert data["locations"]["edges"] == [
        {"node": {"id": LOCATION, "name": "Shop location", "isActive": True}}
    ]


def test_a_variant_by_sku_with_its_price_and_levels(api: Api) -> None:
    page = variants(api, query="sku:SKU-001")
    assert page["pageInfo"]["hasNextPage"] is False
    [edge] = page["edges"]
    node = edge["node"]
    assert node["id"].startswith("gid://shopify/ProductVariant/")
    assert node["sku"] == "SKU-001"
    assert node["price"] == "24.90"
    assert node["product"]["id"].startswith("gid://shopify/Product/")
    assert node["inventoryItem"]["id"].startswith("gid://shopify/InventoryItem/")
    assert node["inventoryItem"]["inventoryLevel"]["quantities"] == [
        {"name": "available", "quantity": 100},
        {"name": "on_hand", "quantity": 100},
    ]


def test_the_seeded_catalogue(api: Api) -> None:
    data = api.data("{ productVariants(first: 10) { nodes { sku price displayName } } }")
    assert [(n["sku"], n["price"]) for n in data["productVariants"]["nodes"]] == [
        ("SKU-001", "24.90"),
        ("SKU-002", "9.50"),
        ("SKU-003", "39.00"),
        ("SKU-004", "54.00"),
        ("SKU-005", "4.20"),
    ]
    assert data["productVariants"]["nodes"][1]["displayName"] == "Ceramic mug - Default Title"


def test_cursor_pagination_visits_every_variant_once(api: Api) -> None:
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = variants(api, first=2, after=after)
        pages += 1
        seen += [edge["node"]["sku"] for edge in page["edges"]]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == ["SKU-001", "SKU-002", "SKU-003", "SKU-004", "SKU-005"]


def test_or_queries_and_an_unknown_sku(api: Api) -> None:
    assert [
        e["node"]["sku"] for e in variants(api, query="sku:SKU-002 OR sku:SKU-005")["edges"]
    ] == [
        "SKU-002",
        "SKU-005",
    ]
    assert variants(api, query="sku:SKU-999")["edges"] == []


def test_an_inventory_item_and_a_variant_by_id(api: Api) -> None:
    node = variants(api, query="sku:SKU-003")["edges"][0]["node"]
    item = api.data(
        """query($id: ID!, $loc: ID!) { inventoryItem(id: $id) { sku variant { id }
             inventoryLevel(locationId: $loc) { location { name } item { sku } } } }""",
        {"id": node["inventoryItem"]["id"], "loc": LOCATION},
    )["inventoryItem"]
    assert item["sku"] == "SKU-003"
    assert item["variant"]["id"] == node["id"]
    assert item["inventoryLevel"] == {
        "location": {"name": "Shop location"},
        "item": {"sku": "SKU-003"},
    }
    missing = api.data('{ productVariant(id: "gid://shopify/ProductVariant/1") { id } }')
    assert missing == {"productVariant": None}


def test_every_answer_carries_its_cost(api: Api) -> None:
    answer = api(VARIANTS, {"first": 50, "location": LOCATION})
    cost = answer["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 2 + 50 * 5
    assert cost["actualQueryCost"] == 2 + 5 * 5
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] == 2000.0
    assert status["restoreRate"] == 100.0
    assert 0 < status["currentlyAvailable"] <= 2000


def test_a_malformed_query_answers_errors_with_locations(api: Api) -> None:
    answer = api("{ productVariants(first: 1) { nodes { id }")
    [error] = answer["errors"]
    assert error["message"].startswith("Syntax Error")
    assert error["locations"] == [{"line": 1, "column": 43}]
    assert "data" not in answer
    assert "cost" in answer["extensions"]


def test_an_unknown_field_fails_validation_with_its_location(api: Api) -> None:
    answer = api("{\n  productVariants(first: 1) { nodes { barcode } }\n}")
    [error] = answer["errors"]
    assert "barcode" in error["message"]
    assert error["locations"] == [{"line": 2, "column": 39}]


def test_a_page_size_is_required(api: Api) -> None:
    answer = api("{ productVariants { nodes { id } } }")
    assert answer["errors"][0]["message"] == "you must provide one of first or last"
    assert answer["errors"][0]["path"] == ["productVariants"]
    assert answer["data"] is None


def test_a_missing_query_is_400_and_another_version_404(api: Api, shop: RunningShop) -> None:
    headers = {"X-Shopify-Access-Token": api.token}
    missing = httpx.post(shop.graphql_url, json={"variables": {}}, headers=headers)
    assert missing.status_code == 400
    assert missing.json() == {"errors": {"query": "Required parameter missing or invalid"}}
    other = httpx.post(
        f"{shop.url}/admin/api/2023-01/graphql.json",
        json={"query": "{ __typename }"},
        headers=headers,
    )
    assert other.status_code == 404


def test_a_raw_graphql_body_is_accepted(api: Api, shop: RunningShop) -> None:
    response = httpx.post(
        shop.graphql_url,
        content="{ locations(first: 1) { nodes { name } } }",
        headers={"X-Shopify-Access-Token": api.token, "Content-Type": "application/graphql"},
    )
    assert response.status_code == 200
    assert response.headers["X-Shopify-API-Version"] == "2026-10"
    assert response.json()["data"] == {"locations": {"nodes": [{"name": "Shop location"}]}}
