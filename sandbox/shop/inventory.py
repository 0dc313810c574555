"""The rules of ``inventorySetQuantities`` from 2026-04: absolute values, a compare-and-swap on
``changeFromQuantity`` for every quantity, all or nothing. Pure: it plans, the caller applies.

A level keeps ``on_hand`` and ``committed`` (ordered, not yet fulfilled); ``available`` is
``on_hand - committed``. Setting one of the two moves the other by the same delta, as in
Shopify's ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from .ids import parse_gid
from .store import Level

SETTABLE_NAMES = ("available", "on_hand")
READABLE_NAMES = (
    "available",
    "committed",
    "damaged",
    "incoming",
    "on_hand",
    "quality_control",
    "reserved",
    "safety_stock",
)
REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_canceled",
        "movement_created",
        "movement_received",
        "movement_updated",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
MAX_QUANTITY = 1_000_000_000

MESSAGES = {
    "INVALID_NAME": "The quantity name must be either 'available' or 'on_hand'.",
    "INVALID_REASON": "The specified reason is invalid.",
    "INVALID_REFERENCE_DOCUMENT": "The specified reference document is invalid.",
    "INVALID_INVENTORY_ITEM": "The specified inventory item could not be found.",
    "INVALID_LOCATION": "The specified location could not be found.",
    "ITEM_NOT_STOCKED_AT_LOCATION": "The specified inventory item is not stocked at the location.",
    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR": (
        "The combination of inventoryItemId and locationId must be unique."
    ),
    "INVALID_QUANTITY_NEGATIVE": "The quantity can't be negative.",
    "INVALID_QUANTITY_TOO_HIGH": "The total quantity can't be higher than 1,000,000,000.",
    "INVALID_QUANTITY_TOO_LOW": "The total quantity can't be lower than -1,000,000,000.",
    "CHANGE_FROM_QUANTITY_STALE": "The changeFromQuantity value does not match persisted value.",
}


@dataclass(frozen=True)
class UserError:
    field: list[str] | None
    code: str
    message: str

    @classmethod
    def of(cls, code: str, *field: str) -> UserError:
        return cls(list(field) or None, code, MESSAGES[code])

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Change:
    inventory_item_id: int
    location_id: int
    name: str
    delta: int
    quantity_after: int


@dataclass(frozen=True)
class SetPlan:
    errors: list[UserError]
    levels: list[Level]
    changes: list[Change]


def quantity_of(level: Level, name: str) -> int:
    """A named quantity of a level; the states the sandbox does not keep are 0."""
    if name == "available":
        return level.available
    if name == "on_hand":
        return level.on_hand
    if name == "committed":
        return level.committed
    return 0


def missing_change_from(quantities: Sequence[Mapping[str, Any]]) -> bool:
    """True when a quantity omits ``changeFromQuantity`` (an explicit null is not omitting)."""
    return any("changeFromQuantity" not in q for q in quantities)


def valid_reference_uri(value: object) -> bool:
    if value is None:
        return True
    if not isinstance(value, str) or not value.strip():
        return False
    parsed = urlparse(value)
    return bool(parsed.scheme) and bool(parsed.netloc or parsed.path.strip("/"))


def plan_set(
    data: Mapping[str, Any],
    level_of: Callable[[int, int], Level | None],
    item_exists: Callable[[int], bool],
    location_exists: Callable[[int], bool],
) -> SetPlan:
    """Check an ``InventorySetQuantitiesInput`` and compute the new levels and the changes."""
    errors: list[UserError] = []
    name = data.get("name")
    if name not in SETTABLE_NAMES:
        errors.append(UserError.of("INVALID_NAME", "input", "name"))
    if data.get("reason") not in REASONS:
        errors.append(UserError.of("INVALID_REASON", "input", "reason"))
    if not valid_reference_uri(data.get("referenceDocumentUri")):
        errors.append(UserError.of("INVALID_REFERENCE_DOCUMENT", "input", "referenceDocumentUri"))
    levels: list[Level] = []
    changes: list[Change] = []
    seen: set[tuple[int, int]] = set()
    for index, quantity in enumerate(data.get("quantities") or []):
        path = ("input", "quantities", str(index))
        item_id = parse_gid(quantity.get("inventoryItemId"), "InventoryItem")
        location_id = parse_gid(quantity.get("locationId"), "Location")
        if item_id is None or not item_exists(item_id):
            errors.append(UserError.of("INVALID_INVENTORY_ITEM", *path, "inventoryItemId"))
            continue
        if location_id is None or not location_exists(location_id):
            errors.append(UserError.of("INVALID_LOCATION", *path, "locationId"))
            continue
        level = level_of(item_id, location_id)
        if level is None:
            errors.append(UserError.of("ITEM_NOT_STOCKED_AT_LOCATION", *path, "locationId"))
            continue
        if (item_id, location_id) in seen:
            errors.append(UserError.of("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", *path))
            continue
        seen.add((item_id, location_id))
        target = int(quantity["quantity"])
        bound = _bound_error(str(name), target)
        if bound:
            errors.append(UserError.of(bound, *path, "quantity"))
            continue
        if name not in SETTABLE_NAMES:
            continue
        expected = quantity.get("changeFromQuantity")
        if expected is not None and expected != quantity_of(level, str(name)):
            errors.append(UserError.of("CHANGE_FROM_QUANTITY_STALE", *path, "changeFromQuantity"))
            continue
        new_level, level_changes = _apply(level, str(name), target)
        levels.append(new_level)
        changes.extend(level_changes)
    if errors:
        return SetPlan(errors, [], [])
    return SetPlan([], levels, changes)


def _bound_error(name: str, target: int) -> str | None:
    if target > MAX_QUANTITY:
        return "INVALID_QUANTITY_TOO_HIGH"
    if name == "on_hand" and target < 0:
        return "INVALID_QUANTITY_NEGATIVE"
    if target < -MAX_QUANTITY:
        return "INVALID_QUANTITY_TOO_LOW"
    return None


def _apply(level: Level, name: str, target: int) -> tuple[Level, list[Change]]:
    delta = target - quantity_of(level, name)
    new = Level(level.inventory_item_id, level.location_id, level.on_hand + delta, level.committed)
    other = "on_hand" if name == "available" else "available"
    return new, [
        Change(level.inventory_item_id, level.location_id, name, delta, quantity_of(new, name)),
        Change(level.inventory_item_id, level.location_id, other, delta, quantity_of(new, other)),
    ]
