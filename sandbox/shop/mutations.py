"""The three mutations: ``inventorySetQuantities`` (with the 2026-04 rules: every quantity names
``changeFromQuantity``, and ``@idempotent(key:)`` is required), ``productVariantsBulkUpdate``
(prices) and ``orderCreate``. Failures of the request are top-level errors; failures of the
operation are ``userErrors`` with HTTP 200, as Shopify answers them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, get_directive_values

from .context import ProductRef
from .idempotency import run_once
from .ids import gid, parse_gid
from .inventory import missing_change_from, plan_set
from .orders import DEFAULT_CUSTOMER, LineRequest, NewOrder, OrderError

if TYPE_CHECKING:
    from .context import Info, ShopContext

IDEMPOTENT_REQUIRED = (
    "The @idempotent directive is required for this mutation but was not provided."
)
CHANGE_FROM_REQUIRED = (
    "InventoryQuantityInput must include the following argument: changeFromQuantity."
)


def idempotency_key(info: Info) -> str | None:
    directive = info.schema.get_directive("idempotent")
    if directive is None:
        return None
    values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
    key = values.get("key") if values else None
    return key if isinstance(key, str) else None


def inventory_set_quantities(_: None, info: Info, input: dict[str, Any]) -> Any:
    if missing_change_from(input["quantities"]):
        raise GraphQLError(CHANGE_FROM_REQUIRED, extensions={"code": "INVALID_FIELD_ARGUMENTS"})
    key = idempotency_key(info)
    if key is None:
        raise GraphQLError(IDEMPOTENT_REQUIRED, extensions={"code": "BAD_REQUEST"})
    shop = info.context
    return run_once(
        shop.store,
        key,
        "inventorySetQuantities",
        {"input": input},
        lambda: _set_quantities(shop, input),
        empty={"inventoryAdjustmentGroup": None},
    )


def _set_quantities(shop: ShopContext, data: dict[str, Any]) -> dict[str, Any]:
    store = shop.store
    plan = plan_set(
        data,
        store.level,
        lambda item: store.variant_by_item(item) is not None,
        lambda location: store.location(location) is not None,
    )
    if plan.errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": [e.as_dict() for e in plan.errors]}
    for level in plan.levels:
        store.put_level(level)
    group = {
        "id": gid("InventoryAdjustmentGroup", store.next_value("adjustment_group", 41_000_001)),
        "createdAt": shop.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reason": data["reason"],
        "referenceDocumentUri": data.get("referenceDocumentUri"),
        "changes": [
            {
                "name": c.name,
                "delta": c.delta,
                "quantityAfterChange": c.quantity_after,
                "itemId": c.inventory_item_id,
                "locationId": c.location_id,
                "ledgerDocumentUri": None,
            }
            for c in plan.changes
        ],
    }
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _variant_error(field: list[str], code: str, message: str) -> dict[str, Any]:
    return {"field": field, "code": code, "message": message}


def product_variants_bulk_update(
    _: None, info: Info, productId: str, variants: list[dict[str, Any]], **rest: Any
) -> dict[str, Any]:
    shop = info.context
    store = shop.store
    number = parse_gid(productId, "Product")
    title = store.product_title(number) if number is not None else None
    if number is None or title is None:
        error = _variant_error(["productId"], "PRODUCT_DOES_NOT_EXIST", "Product does not exist")
        return {"product": None, "productVariants": None, "userErrors": [error]}
    errors: list[dict[str, Any]] = []
    updates: list[tuple[int, str | None]] = []
    for index, entry in enumerate(variants):
        path = ["variants", str(index)]
        variant_id = parse_gid(entry.get("id"), "ProductVariant")
        variant = store.variant(variant_id) if variant_id is not None else None
        if entry.get("id") is None:
            errors.append(
                _variant_error(
                    [*path, "id"],
                    "PRODUCT_VARIANT_ID_MISSING",
                    "Product variant is missing ID attribute.",
                )
            )
        elif variant is None:
            errors.append(
                _variant_error(
                    [*path, "id"],
                    "PRODUCT_VARIANT_DOES_NOT_EXIST",
                    "Product variant does not exist",
                )
            )
        elif variant.product_id != number:
            errors.append(
                _variant_error(
                    [*path, "id"], "MUST_BE_FOR_THIS_PRODUCT", "Input must be for this product."
                )
            )
        elif entry.get("price") is not None and entry["price"].startswith("-"):
            errors.append(
                _variant_error(
                    [*path, "price"],
                    "GREATER_THAN_OR_EQUAL_TO",
                    "Price must be greater than or equal to 0",
                )
            )
        else:
            updates.append((variant.id, entry.get("price")))
    product = ProductRef(number, title)
    if errors and not rest.get("allowPartialUpdates"):
        return {"product": product, "productVariants": None, "userErrors": errors}
    stamp = shop.now().isoformat(timespec="seconds")
    with store.transaction():
        for variant_id, price in updates:
            if price is not None:
                store.set_price(variant_id, price, stamp)
        updated = [store.variant(variant_id) for variant_id, _ in updates]
    return {"product": product, "productVariants": updated, "userErrors": errors}


def _address(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    names = {
        "firstName": "first_name",
        "lastName": "last_name",
        "provinceCode": "province_code",
        "countryCode": "country_code",
    }
    return {names.get(k, k): v for k, v in values.items()}


def order_create(
    _: None, info: Info, order: dict[str, Any], options: dict[str, Any] | None = None
) -> dict[str, Any]:
    behaviour = (options or {}).get("inventoryBehaviour") or "BYPASS"
    upsert = (order.get("customer") or {}).get("toUpsert") or {}
    customer = {
        "email": upsert.get("email") or order.get("email") or DEFAULT_CUSTOMER["email"],
        "first_name": upsert.get("firstName"),
        "last_name": upsert.get("lastName"),
    }
    lines = [
        LineRequest(
            quantity=int(item["quantity"]),
            sku=item.get("sku"),
            variant_id=parse_gid(item.get("variantId"), "ProductVariant")
            if item.get("variantId")
            else None,
        )
        for item in order.get("lineItems") or []
    ]
    request = NewOrder(
        lines=lines,
        email=order.get("email") or customer["email"],
        customer=customer,
        shipping_address=_address(order.get("shippingAddress")),
        currency=order.get("currency") or "EUR",
        note=order.get("note"),
        tags=", ".join(order.get("tags") or []),
        commit_inventory=behaviour != "BYPASS",
        obey_policy=behaviour == "DECREMENT_OBEYING_POLICY",
    )
    try:
        payload, _delivery = info.context.orders.place(request)
    except OrderError as exc:
        return {"order": None, "userErrors": [exc.as_dict()]}
    return {"order": payload, "userErrors": []}
