"""inventorySetQuantities (2026-04+ rules) and productVariantsBulkUpdate, over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from .conftest import LOCATION, Api

SET = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup {
      id reason referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { field code message }
  }
}"""

BULK = """
mutation Prices($productId: ID!, $variants: [ProductVariantsBulkInput!]!, $partial: Boolean) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants,
                            allowPartialUpdates: $partial) {
    product { id }
    productVariants { id sku price }
    userErrors { field code message }
  }
}"""


def ids(api: Api, sku: str) -> dict[str, str]:
    item = api.level(sku)
    return {k: item[k] for k in ("product_id", "variant_id", "inventory_item_id")}


def quantity(api: Api, sku: str, value: int, **extra: Any) -> dict[str, Any]:
    return {
        "inventoryItemId": ids(api, sku)["inventory_item_id"],
        "locationId": LOCATION,
        "quantity": value,
        **extra,
    }


def set_input(*quantities: dict[str, Any], name: str = "available") -> dict[str, Any]:
    return {
        "name": name,
        "reason": "correction",
        "referenceDocumentUri": "gid://ferry/OdooStock/7",
        "quantities": list(quantities),
    }


def run_set(api: Api, input_: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    return api(SET, {"input": input_, "key": key or str(uuid.uuid4())})


def test_a_matching_change_from_quantity_sets_available_and_on_hand(api: Api) -> None:
    answer = run_set(api, set_input(quantity(api, "SKU-001", 80, changeFromQuantity=100)))
    payload = answer["data"]["inventorySetQuantities"]
    assert payload["userErrors"] == []
    group = payload["inventoryAdjustmentGroup"]
    assert group["id"].startswith("gid://shopify/InventoryAdjustmentGroup/")
    assert group["reason"] == "correction"
    assert group["referenceDocumentUri"] == "gid://ferry/OdooStock/7"
    item = ids(api, "SKU-001")["inventory_item_id"]
    assert group["changes"] == [
        {
            "name": "available",
            "delta": -20,
            "quantityAfterChange": 80,
            "item": {"id": item},
            "location": {"id": LOCATION},
        },
        {
            "name": "on_hand",
            "delta": -20,
            "quantityAfterChange": 80,
            "item": {"id": item},
            "location": {"id": LOCATION},
        },
    ]
    level = api.level("SKU-001")
    assert (level["available"], level["on_hand"]) == (80, 80)
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 10


def test_a_stale_change_from_quantity_applies_nothing_of_the_request(api: Api) -> None:
    answer = run_set(
        api,
        set_input(
            quantity(api, "SKU-002", 1, changeFromQuantity=100),
            quantity(api, "SKU-003", 1, changeFromQuantity=99),
        ),
    )
    payload = answer["data"]["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "quantities", "1", "changeFromQuantity"],
            "code": "CHANGE_FROM_QUANTITY_STALE",
            "message": "The changeFromQuantity value does not match persisted value.",
        }
    ]
    assert api.level("SKU-002")["available"] == 100
    assert api.level("SKU-003")["available"] == 100


def test_an_explicit_null_opts_out_of_the_check(api: Api) -> None:
    api.control("POST", "inventory", {"sku": "SKU-004", "available": 37})
    answer = run_set(api, set_input(quantity(api, "SKU-004", 12, changeFromQuantity=None)))
    assert answer["data"]["inventorySetQuantities"]["userErrors"] == []
    assert api.level("SKU-004")["available"] == 12


def test_omitting_change_from_quantity_is_an_error_and_applies_nothing(api: Api) -> None:
    answer = run_set(api, set_input(quantity(api, "SKU-001", 5)))
    [error] = answer["errors"]
    assert error["message"] == (
        "InventoryQuantityInput must include the following argument: changeFromQuantity."
    )
    assert error["extensions"] == {"code": "INVALID_FIELD_ARGUMENTS"}
    assert answer["data"] == {"inventorySetQuantities": None}
    assert api.level("SKU-001")["available"] == 100


def test_the_idempotent_directive_is_required(api: Api) -> None:
    query = SET.replace(" @idempotent(key: $key)", "").replace(", $key: String!", "")
    answer = api(query, {"input": set_input(quantity(api, "SKU-001", 5, changeFromQuantity=100))})
    [error] = answer["errors"]
    assert error["message"] == (
        "The @idempotent directive is required for this mutation but was not provided."
    )
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert error["path"] == ["inventorySetQuantities"]
    assert error["locations"] == [{"line": 3, "column": 3}]
    assert api.level("SKU-001")["available"] == 100


def test_a_repeat_with_the_same_key_returns_the_first_result_and_changes_nothing(api: Api) -> None:
    key = str(uuid.uuid4())
    request = set_input(quantity(api, "SKU-005", 60, changeFromQuantity=100))
    first = run_set(api, request, key)["data"]
    api.control("POST", "inventory", {"sku": "SKU-005", "available": 55})  # a sale meanwhile
    again = run_set(api, request, key)["data"]
    assert again == first
    assert api.level("SKU-005")["available"] == 55


def test_the_same_key_with_other_arguments_is_refused(api: Api) -> None:
    key = str(uuid.uuid4())
    run_set(api, set_input(quantity(api, "SKU-005", 60, changeFromQuantity=100)), key)
    other = run_set(api, set_input(quantity(api, "SKU-005", 61, changeFromQuantity=60)), key)
    payload = other["data"]["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["IDEMPOTENCY_KEY_PARAMETER_MISMATCH"]
    assert api.level("SKU-005")["available"] == 60


def test_setting_on_hand_and_unknown_ids(api: Api) -> None:
    answer = run_set(
        api, set_input(quantity(api, "SKU-003", 130, changeFromQuantity=100), name="on_hand")
    )
    changes = answer["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["changes"]
    assert [(c["name"], c["quantityAfterChange"]) for c in changes] == [
        ("on_hand", 130),
        ("available", 130),
    ]
    unknown = {
        **quantity(api, "SKU-003", 1, changeFromQuantity=None),
        "inventoryItemId": "gid://shopify/InventoryItem/1",
    }
    errors = run_set(api, set_input(unknown))["data"]["inventorySetQuantities"]["userErrors"]
    assert errors == [
        {
            "field": ["input", "quantities", "0", "inventoryItemId"],
            "code": "INVALID_INVENTORY_ITEM",
            "message": "The specified inventory item could not be found.",
        }
    ]
    bad_name = run_set(
        api, set_input(quantity(api, "SKU-003", 1, changeFromQuantity=None), name="committed")
    )
    assert bad_name["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == "INVALID_NAME"


def test_bulk_update_sets_prices(api: Api) -> None:
    mug = ids(api, "SKU-002")
    data = api.data(
        BULK,
        {"productId": mug["product_id"], "variants": [{"id": mug["variant_id"], "price": "11.5"}]},
    )
    payload = data["productVariantsBulkUpdate"]
    assert payload == {
        "product": {"id": mug["product_id"]},
        "productVariants": [{"id": mug["variant_id"], "sku": "SKU-002", "price": "11.50"}],
        "userErrors": [],
    }
    assert api.level("SKU-002")["price"] == "11.50"


def test_bulk_update_errors_apply_nothing_unless_partial(api: Api) -> None:
    mug, kettle = ids(api, "SKU-002"), ids(api, "SKU-004")
    variants = [
        {"id": mug["variant_id"], "price": "12.00"},
        {"id": kettle["variant_id"], "price": "60.00"},
    ]
    refused = api.data(BULK, {"productId": mug["product_id"], "variants": variants})
    payload = refused["productVariantsBulkUpdate"]
    assert payload["productVariants"] is None
    assert payload["userErrors"] == [
        {
            "field": ["variants", "1", "id"],
            "code": "MUST_BE_FOR_THIS_PRODUCT",
            "message": "Input must be for this product.",
        }
    ]
    assert api.level("SKU-002")["price"] == "9.50"
    partial = api.data(
        BULK, {"productId": mug["product_id"], "variants": variants, "partial": True}
    )
    assert [v["price"] for v in partial["productVariantsBulkUpdate"]["productVariants"]] == [
        "12.00"
    ]
    assert api.level("SKU-002")["price"] == "12.00"
    assert api.level("SKU-004")["price"] == "54.00"


def test_bulk_update_unknown_product_variant_and_negative_price(api: Api) -> None:
    mug = ids(api, "SKU-002")
    no_product = api.data(BULK, {"productId": "gid://shopify/Product/1", "variants": []})
    assert (
        no_product["productVariantsBulkUpdate"]["userErrors"][0]["code"] == "PRODUCT_DOES_NOT_EXIST"
    )
    cases = [
        (
            {"id": "gid://shopify/ProductVariant/1", "price": "1.00"},
            "PRODUCT_VARIANT_DOES_NOT_EXIST",
        ),
        ({"price": "1.00"}, "PRODUCT_VARIANT_ID_MISSING"),
        ({"id": mug["variant_id"], "price": "-1.00"}, "GREATER_THAN_OR_EQUAL_TO"),
    ]
    for variant, code in cases:
        data = api.data(BULK, {"productId": mug["product_id"], "variants": [variant]})
        assert [e["code"] for e in data["productVariantsBulkUpdate"]["userErrors"]] == [code]
    assert api.level("SKU-002")["price"] == "9.50"


def test_a_price_that_is_not_money_is_a_variable_error(api: Api) -> None:
    mug = ids(api, "SKU-002")
    answer = api(
        BULK,
        {"productId": mug["product_id"], "variants": [{"id": mug["variant_id"], "price": "cheap"}]},
    )
    assert "variants" in answer["errors"][0]["message"]
    assert answer["data"] is None
    assert api.level("SKU-002")["price"] == "9.50"
