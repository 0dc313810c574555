"""Requested and actual query cost after Shopify's rules, on the sandbox's schema."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from sandbox.shop.cost import actual_cost, requested_cost
from sandbox.shop.schema import build

SCHEMA = build()


def requested(query: str, variables: dict[str, Any] | None = None) -> int:
    return requested_cost(SCHEMA, parse(query), None, variables)


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        ('{ productVariant(id: "x") { id sku price } }', 1),
        ('{ productVariant(id: "x") { id product { id title } } }', 2),
        ("{ productVariants(first: 10) { edges { node { id } } } }", 12),
        ("{ productVariants(first: 10) { nodes { id } pageInfo { hasNextPage } } }", 12),
        ("{ productVariants(last: 3) { nodes { id inventoryItem { id } } } }", 8),
        ('{ locations(first: 5) { nodes { id } } product(id: "x") { id } }', 8),
        ("{ __typename }", 0),
    ],
)
def test_requested_cost_of_queries(query: str, cost: int) -> None:
    assert requested(query) == cost


def test_a_sync_read_of_fifty_variants_with_their_levels() -> None:
    query = """
      query($n: Int!, $loc: ID!) {
        productVariants(first: $n, query: "sku:SKU-*") {
          edges { cursor node { id sku price product { id }
            inventoryItem { id inventoryLevel(locationId: $loc) {
              quantities(names: ["available", "on_hand"]) { name quantity } } } } }
          pageInfo { hasNextPage endCursor }
        }
      }"""
    # per node: the variant 1, product 1, inventory item 1, level 1, quantities 1
    assert requested(query, {"n": 50, "loc": "x"}) == 2 + 50 * 5


def test_fragments_aliases_and_skip_are_followed() -> None:
    query = """
      query($skip: Boolean!) {
        a: productVariants(first: 2) { nodes { ...V } }
        b: productVariants(first: 2) @skip(if: $skip) { nodes { id } }
      }
      fragment V on ProductVariant { id product { id } }"""
    assert requested(query, {"skip": True}) == 2 + 2 * 2
    assert requested(query, {"skip": False}) == 2 + 2 * 2 + 2 + 2


def test_each_mutation_field_costs_ten_whatever_it_selects() -> None:
    mutation = """mutation {
      a: productVariantsBulkUpdate(productId: "x", variants: []) { product { id } }
      b: productVariantsBulkUpdate(productId: "y", variants: []) { userErrors { code } }
    }"""
    assert requested(mutation) == 20
    assert actual_cost(SCHEMA, parse(mutation), None, None, {"a": None, "b": None}) == 20


def test_actual_cost_counts_the_nodes_returned_and_nothing_for_null() -> None:
    query = "{ productVariants(first: 10) { nodes { id product { id } } } }"
    data = {"productVariants": {"nodes": [{"id": "1", "product": {"id": "p"}}, {"id": "2"}]}}
    assert requested(query) == 2 + 10 * 2
    assert actual_cost(SCHEMA, parse(query), None, None, data) == 2 + 2 + 1
    missing = '{ productVariant(id: "x") { id product { id } } }'
    assert actual_cost(SCHEMA, parse(missing), None, None, {"productVariant": None}) == 0
