"""A third-party client (gql over httpx, validating against the sandbox's own SDL)."""

from __future__ import annotations

import uuid

import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport, HTTPXTransport
from graphql import GraphQLError

from sandbox.shop.schema import SDL

from .conftest import LOCATION, Api

VARIANT = gql(
    """query Variant($sku: String!, $location: ID!) {
      productVariants(first: 1, query: $sku) {
        nodes { id sku price product { id }
          inventoryItem { id inventoryLevel(locationId: $location) {
            quantities(names: ["available", "on_hand"]) { name quantity } } } }
      }
    }"""
)
SET = gql(
    """mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
      inventorySetQuantities(input: $input) @idempotent(key: $key) {
        inventoryAdjustmentGroup { changes { name quantityAfterChange } }
        userErrors { field code message }
      }
    }"""
)
PRICES = gql(
    """mutation Prices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
      productVariantsBulkUpdate(productId: $productId, variants: $variants) {
        productVariants { sku price }
        userErrors { code }
      }
    }"""
)


def client(api: Api) -> Client:
    transport = HTTPXTransport(
        url=api.shop.graphql_url, headers={"X-Shopify-Access-Token": api.token}
    )
    return Client(transport=transport, schema=SDL)


def test_a_sync_round_trip_with_gql(api: Api) -> None:
    with client(api) as session:
        found = session.execute(
            GraphQLRequest(VARIANT, variable_values={"sku": "sku:SKU-004", "location": LOCATION})
        )
        [variant] = found["productVariants"]["nodes"]
        assert variant["price"] == "54.00"
        levels = variant["inventoryItem"]["inventoryLevel"]["quantities"]
        assert levels == [
            {"name": "available", "quantity": 100},
            {"name": "on_hand", "quantity": 100},
        ]
        quantity = {
            "inventoryItemId": variant["inventoryItem"]["id"],
            "locationId": LOCATION,
            "quantity": 64,
            "changeFromQuantity": 100,
        }
        request = {"name": "available", "reason": "correction", "quantities": [quantity]}
        result = session.execute(
            GraphQLRequest(SET, variable_values={"input": request, "key": str(uuid.uuid4())})
        )
        assert result["inventorySetQuantities"]["userErrors"] == []
        stale = session.execute(
            GraphQLRequest(SET, variable_values={"input": request, "key": str(uuid.uuid4())})
        )
        assert (
            stale["inventorySetQuantities"]["userErrors"][0]["code"] == "CHANGE_FROM_QUANTITY_STALE"
        )
        prices = session.execute(
            GraphQLRequest(
                PRICES,
                variable_values={
                    "productId": variant["product"]["id"],
                    "variants": [{"id": variant["id"], "price": "49.90"}],
                },
            )
        )
        assert prices["productVariantsBulkUpdate"] == {
            "productVariants": [{"sku": "SKU-004", "price": "49.90"}],
            "userErrors": [],
        }
    assert api.level("SKU-004")["available"] == 64


async def test_an_async_client_sees_throttling_as_a_query_error(api: Api) -> None:
    api.control("POST", "settings", {"maximum_available": 5, "restore_rate": 0})
    transport = HTTPXAsyncTransport(
        url=api.shop.graphql_url, headers={"X-Shopify-Access-Token": api.token}
    )
    async with Client(transport=transport, schema=SDL) as session:
        with pytest.raises(TransportQueryError) as caught:
            await session.execute(
                GraphQLRequest(
                    VARIANT, variable_values={"sku": "sku:SKU-001", "location": LOCATION}
                )
            )
    assert caught.value.errors is not None
    assert caught.value.errors[0]["extensions"]["code"] == "THROTTLED"
    assert caught.value.extensions is not None
    assert caught.value.extensions["cost"]["throttleStatus"]["currentlyAvailable"] == 5


def test_the_client_validates_against_the_sandboxs_schema(api: Api) -> None:
    with client(api) as session, pytest.raises(GraphQLError, match="barcode"):
        session.execute(gql("{ productVariants(first: 1) { nodes { barcode } } }"))
