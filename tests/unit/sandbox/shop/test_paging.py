"""Cursor pagination and the search syntax of ``query:``."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLError

from sandbox.shop.ids import decode_cursor, encode_cursor, gid, parse_gid
from sandbox.shop.paging import paginate, parse_query, variant_matches
from sandbox.shop.store import Variant

ITEMS = [1, 2, 3, 4, 5]


def ids(page: dict[str, Any]) -> list[int]:
    return [int(n) for n in page["nodes"]]


def test_forward_pages_follow_the_end_cursor() -> None:
    first = paginate(ITEMS, int, first=2)
    assert ids(first) == [1, 2]
    assert first["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": encode_cursor(1),
        "endCursor": encode_cursor(2),
    }
    second = paginate(ITEMS, int, first=2, after=encode_cursor(2))
    third = paginate(ITEMS, int, first=2, after=encode_cursor(4))
    assert ids(second) == [3, 4]
    assert ids(third) == [5]
    assert third["pageInfo"]["hasNextPage"] is False
    assert [e["cursor"] for e in third["edges"]] == [encode_cursor(5)]


def test_backward_pages_and_reverse() -> None:
    assert ids(paginate(ITEMS, int, last=2)) == [4, 5]
    assert ids(paginate(ITEMS, int, last=2, before=encode_cursor(4))) == [2, 3]
    assert ids(paginate(ITEMS, int, first=2, reverse=True)) == [5, 4]


def test_a_page_size_is_required_and_bounded() -> None:
    with pytest.raises(GraphQLError, match="you must provide one of first or last"):
        paginate(ITEMS, int)
    with pytest.raises(GraphQLError, match="between 0 and 250"):
        paginate(ITEMS, int, first=251)
    with pytest.raises(GraphQLError, match="Invalid cursor"):
        paginate(ITEMS, int, first=1, after="garbage")


def variant(n: int, sku: str, title: str) -> Variant:
    return Variant(n, 100 + n, title, sku, "Default Title", "1.00", 200 + n, "")


VARIANTS = [
    variant(1, "SKU-001", "Espresso beans 1 kg"),
    variant(2, "SKU-002", "Ceramic mug"),
    variant(3, "OTHER-9", "Milk frother"),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sku:SKU-001", [1]),
        ("sku:sku-002", [2]),
        ('sku:"SKU-001"', [1]),
        ("sku:SKU-001 OR sku:OTHER-9", [1, 3]),
        ("sku:SKU-*", [1, 2]),
        ("-sku:SKU-001", [2, 3]),
        ("sku:SKU-* title:mug", [2]),
        ("title:frother", [3]),
        ("id:2", [2]),
        ("product_id:103", [3]),
        ("mug", [2]),
        ("vendor:anyone", [1, 2, 3]),
        ("", [1, 2, 3]),
        ("sku:SKU-404", []),
    ],
)
def test_search_queries(query: str, expected: list[int]) -> None:
    assert [v.id for v in VARIANTS if variant_matches(v, query)] == expected


def test_or_splits_the_query_into_groups() -> None:
    assert len(parse_query("a b OR c")) == 2


def test_quoted_values_keep_spaces_and_escaped_quotes() -> None:
    [[term]] = parse_query(r'sku:"A \"B\" C"')
    assert (term.field, term.value) == ("sku", 'A "B" C')


def test_global_ids_and_cursors_round_trip() -> None:
    assert gid("ProductVariant", 7) == "gid://shopify/ProductVariant/7"
    assert parse_gid("gid://shopify/ProductVariant/7", "ProductVariant") == 7
    assert parse_gid("gid://shopify/InventoryLevel/7?inventory_item_id=3", "InventoryLevel") == 7
    assert parse_gid("gid://shopify/Product/7", "ProductVariant") is None
    assert parse_gid(7, "Product") is None
    assert decode_cursor(encode_cursor(82000001)) == 82000001
    assert decode_cursor("!!!") is None
