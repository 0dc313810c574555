"""inventorySetQuantities' rules: CAS on changeFromQuantity, validation, all or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.shop.inventory import Change, missing_change_from, plan_set, valid_reference_uri
from sandbox.shop.store import Level

ITEM, OTHER, LOCATION = 11, 12, 7
LEVELS = {
    (ITEM, LOCATION): Level(ITEM, LOCATION, 100, 10),
    (OTHER, LOCATION): Level(OTHER, 7, 5, 0),
}


def quantity(item: int = ITEM, q: int = 50, **extra: Any) -> dict[str, Any]:
    return {
        "inventoryItemId": f"gid://shopify/InventoryItem/{item}",
        "locationId": f"gid://shopify/Location/{LOCATION}",
        "quantity": q,
        **extra,
    }


def plan(*quantities: dict[str, Any], **input_: Any) -> Any:
    data = {"name": "available", "reason": "correction", "quantities": list(quantities)}
    data.update(input_)
    return plan_set(
        data,
        lambda item, location: LEVELS.get((item, location)),
        lambda item: item in (ITEM, OTHER),
        lambda location: location == LOCATION,
    )


def codes(result: Any) -> list[str]:
    return [e.code for e in result.errors]


def test_setting_available_moves_on_hand_by_the_same_delta() -> None:
    result = plan(quantity(q=50, changeFromQuantity=90))
    assert result.errors == []
    assert result.levels == [Level(ITEM, LOCATION, 60, 10)]
    assert result.changes == [
        Change(ITEM, LOCATION, "available", -40, 50),
        Change(ITEM, LOCATION, "on_hand", -40, 60),
    ]


def test_setting_on_hand_moves_available_by_the_same_delta() -> None:
    result = plan(quantity(q=120, changeFromQuantity=100), name="on_hand")
    assert result.levels == [Level(ITEM, LOCATION, 120, 10)]
    assert [(c.name, c.delta, c.quantity_after) for c in result.changes] == [
        ("on_hand", 20, 120),
        ("available", 20, 110),
    ]


def test_a_stale_change_from_quantity_is_a_user_error_and_nothing_applies() -> None:
    result = plan(quantity(OTHER, 1, changeFromQuantity=5), quantity(q=1, changeFromQuantity=91))
    assert codes(result) == ["CHANGE_FROM_QUANTITY_STALE"]
    assert result.errors[0].field == ["input", "quantities", "1", "changeFromQuantity"]
    assert result.levels == []
    assert result.changes == []


def test_an_explicit_null_opts_out_of_the_compare() -> None:
    result = plan(quantity(q=7, changeFromQuantity=None))
    assert result.errors == []
    assert result.levels == [Level(ITEM, LOCATION, 17, 10)]


def test_an_omitted_change_from_quantity_is_told_apart_from_null() -> None:
    assert missing_change_from([quantity(changeFromQuantity=None), quantity()])
    assert not missing_change_from([quantity(changeFromQuantity=None)])


@pytest.mark.parametrize(
    ("entry", "extra", "code", "field"),
    [
        (quantity(changeFromQuantity=None), {"name": "committed"}, "INVALID_NAME", "name"),
        (quantity(changeFromQuantity=None), {"reason": "because"}, "INVALID_REASON", "reason"),
        (
            quantity(changeFromQuantity=None),
            {"referenceDocumentUri": "no scheme"},
            "INVALID_REFERENCE_DOCUMENT",
            "referenceDocumentUri",
        ),
        (quantity(99, changeFromQuantity=None), {}, "INVALID_INVENTORY_ITEM", "inventoryItemId"),
        (
            {**quantity(changeFromQuantity=None), "locationId": "gid://shopify/Location/8"},
            {},
            "INVALID_LOCATION",
            "locationId",
        ),
        (
            quantity(q=1_000_000_001, changeFromQuantity=None),
            {},
            "INVALID_QUANTITY_TOO_HIGH",
            "quantity",
        ),
        (
            quantity(q=-1, changeFromQuantity=None),
            {"name": "on_hand"},
            "INVALID_QUANTITY_NEGATIVE",
            "quantity",
        ),
    ],
)
def test_invalid_input_is_a_user_error_naming_the_field(
    entry: dict[str, Any], extra: dict[str, Any], code: str, field: str
) -> None:
    result = plan(entry, **extra)
    assert codes(result) == [code]
    assert result.errors[0].field is not None
    assert result.errors[0].field[-1] == field
    assert result.levels == []


def test_available_may_be_set_below_zero_but_on_hand_may_not() -> None:
    assert plan(quantity(q=-3, changeFromQuantity=None)).errors == []
    assert codes(plan(quantity(q=-3, changeFromQuantity=None), name="on_hand")) == [
        "INVALID_QUANTITY_NEGATIVE"
    ]


def test_the_same_item_and_location_twice_is_refused() -> None:
    result = plan(quantity(changeFromQuantity=None), quantity(changeFromQuantity=None))
    assert codes(result) == ["NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"]


def test_reference_document_uris() -> None:
    assert valid_reference_uri(None)
    assert valid_reference_uri("gid://ferry/OdooStock/42")
    assert valid_reference_uri("https://erp.example.com/moves/7")
    assert not valid_reference_uri("")
    assert not valid_reference_uri("just text")
