"""Resolvers of the query side and of the object types; ``bind`` attaches them (and those of
``mutations``) to the schema built from the SDL. Objects are the store's rows: a
``ProductVariant`` and its ``InventoryItem`` are both a ``Variant``, an ``InventoryLevel`` a
``Level``; payloads and orders are plain dicts."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLError, GraphQLScalarType, GraphQLSchema
from graphql.language import ConstValueNode, FloatValueNode, IntValueNode, StringValueNode

from . import mutations
from .context import Info, ProductRef
from .ids import gid, parse_gid
from .inventory import READABLE_NAMES, quantity_of
from .paging import paginate, variant_matches
from .store import Level, Location, Store, Variant

Resolver = Callable[..., Any]


def _product(store: Store, product_id: int) -> ProductRef | None:
    title = store.product_title(product_id)
    return ProductRef(product_id, title) if title is not None else None


# -- QueryRoot ----------------------------------------------------------------------------------


def _location(_: None, info: Info, id: str | None = None) -> Location | None:
    shop = info.context
    number = shop.location_id() if id is None else parse_gid(id, "Location")
    return shop.store.location(number) if number is not None else None


def _locations(_: None, info: Info, **args: Any) -> dict[str, Any]:
    args.pop("query", None)
    return paginate(info.context.store.locations(), lambda x: x.id, **args)


def _product_by_id(_: None, info: Info, id: str) -> ProductRef | None:
    number = parse_gid(id, "Product")
    return _product(info.context.store, number) if number is not None else None


def _variant_by_id(_: None, info: Info, id: str) -> Variant | None:
    number = parse_gid(id, "ProductVariant")
    return info.context.store.variant(number) if number is not None else None


def _variants(_: None, info: Info, **args: Any) -> dict[str, Any]:
    query = args.pop("query", None)
    found = [v for v in info.context.store.variants() if variant_matches(v, query)]
    return paginate(found, lambda v: v.id, **args)


def _inventory_item(_: None, info: Info, id: str) -> Variant | None:
    number = parse_gid(id, "InventoryItem")
    return info.context.store.variant_by_item(number) if number is not None else None


def _order(_: None, info: Info, id: str) -> dict[str, Any] | None:
    number = parse_gid(id, "Order")
    stored = info.context.store.order(number) if number is not None else None
    return stored.payload if stored else None


# -- object types -------------------------------------------------------------------------------


def _handle(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _product_variants(product: ProductRef, info: Info, **args: Any) -> Any:
    mine = [v for v in info.context.store.variants() if v.product_id == product.id]
    return paginate(mine, lambda v: v.id, **args)


def _variant_quantity(variant: Variant, info: Info) -> int:
    store = info.context.store
    levels = [store.level(variant.inventory_item_id, x.id) for x in store.locations()]
    return sum(level.available for level in levels if level is not None)


def _item_level(variant: Variant, info: Info, locationId: str) -> Level | None:
    number = parse_gid(locationId, "Location")
    store = info.context.store
    return store.level(variant.inventory_item_id, number) if number is not None else None


def _location_level(location: Location, info: Info, inventoryItemId: str) -> Any:
    number = parse_gid(inventoryItemId, "InventoryItem")
    return info.context.store.level(number, location.id) if number is not None else None


def _level_id(level: Level) -> str:
    return f"{gid('InventoryLevel', level.location_id)}?inventory_item_id={level.inventory_item_id}"


def _quantities(level: Level, _: Info, names: list[str]) -> list[dict[str, Any]]:
    unknown = [n for n in names if n not in READABLE_NAMES]
    if unknown:
        raise GraphQLError(
            f"Invalid quantity names: {', '.join(unknown)}."
            f" Valid names are: {', '.join(READABLE_NAMES)}."
        )
    return [
        {
            "id": f"{gid('InventoryQuantity', level.location_id)}"
            f"?inventory_item_id={level.inventory_item_id}&name={name}",
            "name": name,
            "quantity": quantity_of(level, name),
        }
        for name in names
    ]


def _changes(group: dict[str, Any], _: Info, **args: Any) -> list[Any]:
    names = args.get("quantityNames")
    items = {parse_gid(x, "InventoryItem") for x in args.get("inventoryItemIds") or ()}
    locations = {parse_gid(x, "Location") for x in args.get("locationIds") or ()}
    return [
        c
        for c in group["changes"]
        if (names is None or c["name"] in names)
        and (not items or c["itemId"] in items)
        and (not locations or c["locationId"] in locations)
    ]


def _money_bag(order: dict[str, Any]) -> dict[str, Any]:
    money = {"amount": order["total_price"], "currencyCode": order["currency"]}
    return {"shopMoney": money, "presentmentMoney": dict(money)}


def _utc(stamp: str) -> str:
    """A stored ISO timestamp as GraphQL's ``DateTime``: UTC with a ``Z``."""
    return stamp.replace("+00:00", "Z")


_FIELDS: dict[str, dict[str, Resolver]] = {
    "QueryRoot": {
        "location": _location,
        "locations": _locations,
        "product": _product_by_id,
        "productVariant": _variant_by_id,
        "productVariants": _variants,
        "inventoryItem": _inventory_item,
        "order": _order,
    },
    "Location": {
        "id": lambda x, _: gid("Location", x.id),
        "isActive": lambda x, _: True,
        "inventoryLevel": _location_level,
    },
    "Product": {
        "id": lambda x, _: gid("Product", x.id),
        "handle": lambda x, _: _handle(x.title),
        "variants": _product_variants,
    },
    "ProductVariant": {
        "id": lambda x, _: gid("ProductVariant", x.id),
        "displayName": lambda x, _: f"{x.product_title} - {x.title}",
        "inventoryQuantity": _variant_quantity,
        "product": lambda x, info: _product(info.context.store, x.product_id),
        "inventoryItem": lambda x, _: x,
        "updatedAt": lambda x, _: _utc(x.updated_at),
    },
    "InventoryItem": {
        "id": lambda x, _: gid("InventoryItem", x.inventory_item_id),
        "tracked": lambda x, _: True,
        "variant": lambda x, _: x,
        "inventoryLevel": _item_level,
    },
    "InventoryLevel": {
        "id": lambda x, _: _level_id(x),
        "item": lambda x, info: info.context.store.variant_by_item(x.inventory_item_id),
        "location": lambda x, info: info.context.store.location(x.location_id),
        "quantities": _quantities,
    },
    "InventoryAdjustmentGroup": {"changes": _changes},
    "InventoryChange": {
        "item": lambda x, info: info.context.store.variant_by_item(x["itemId"]),
        "location": lambda x, info: info.context.store.location(x["locationId"]),
    },
    "Order": {
        "id": lambda x, _: x["admin_graphql_api_id"],
        "createdAt": lambda x, _: _utc(x["created_at"]),
        "currencyCode": lambda x, _: x["currency"],
        "displayFulfillmentStatus": lambda x, _: (x["fulfillment_status"] or "unfulfilled").upper(),
        "totalPriceSet": lambda x, _: _money_bag(x),
    },
    "Mutation": {
        "inventorySetQuantities": mutations.inventory_set_quantities,
        "productVariantsBulkUpdate": mutations.product_variants_bulk_update,
        "orderCreate": mutations.order_create,
    },
}


# -- scalars ------------------------------------------------------------------------------------


def _parse_money(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"Money must be a decimal string, not {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a decimal amount")
    return str(amount.quantize(Decimal("0.01")))


def _as_string(value: Any) -> str:
    return str(value)


def _money_literal(node: ConstValueNode) -> str:
    if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
        return _parse_money(node.value)
    raise TypeError("Money must be a decimal string")


def bind(schema: GraphQLSchema) -> GraphQLSchema:
    for type_name, fields in _FIELDS.items():
        graphql_type = schema.type_map[type_name]
        for field_name, resolve in fields.items():
            graphql_type.fields[field_name].resolve = resolve  # type: ignore[attr-defined]
    money = schema.type_map["Money"]
    assert isinstance(money, GraphQLScalarType)
    money.coerce_output_value = _as_string
    money.coerce_input_value = _parse_money
    money.coerce_input_literal = _money_literal
    for name in ("Decimal", "DateTime"):
        scalar = schema.type_map[name]
        assert isinstance(scalar, GraphQLScalarType)
        scalar.coerce_output_value = _as_string
    return schema
