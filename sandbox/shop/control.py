"""Sandbox-only routes under ``/__sandbox__/``: health, reset, faults, settings, tokens,
inventory and prices (read and merchant edits), orders (place, list, fulfil), webhooks."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.common.control import bad_request, faults_route, read_json, reset_route
from sandbox.common.faults import SANDBOX_PREFIX

from .orders import LineRequest, NewOrder, OrderError
from .schema import API_VERSION
from .store import Level

if TYPE_CHECKING:
    from .emulator import ShopEmulator


def inventory(shop: ShopEmulator) -> dict[str, Any]:
    location = shop.store.location(shop.location_id())
    assert location is not None
    items = []
    for v in shop.store.variants():
        level = shop.store.level(v.inventory_item_id, location.id)
        items.append(
            {
                "sku": v.sku,
                "title": v.product_title,
                "price": v.price,
                "product_id": f"gid://shopify/Product/{v.product_id}",
                "variant_id": f"gid://shopify/ProductVariant/{v.id}",
                "inventory_item_id": f"gid://shopify/InventoryItem/{v.inventory_item_id}",
                "available": level.available if level else None,
                "on_hand": level.on_hand if level else None,
                "committed": level.committed if level else None,
            }
        )
    return {
        "location": {"id": f"gid://shopify/Location/{location.id}", "name": location.name},
        "items": items,
    }


def _edit(shop: ShopEmulator, body: dict[str, Any]) -> None:
    """A merchant's edit in the admin: ``{"sku", "available"?, "on_hand"?, "price"?}``."""
    store = shop.store
    with store.transaction():
        variant = store.variant_by_sku(str(body["sku"]))
        if variant is None:
            raise ValueError(f"unknown SKU {body['sku']!r}")
        location = shop.location_id()
        level = store.level(variant.inventory_item_id, location)
        assert level is not None
        if "on_hand" in body:
            level = Level(level.inventory_item_id, location, int(body["on_hand"]), level.committed)
        if "available" in body:
            on_hand = int(body["available"]) + level.committed
            level = Level(level.inventory_item_id, location, on_hand, level.committed)
        store.put_level(level)
        if "price" in body:
            price = Decimal(str(body["price"])).quantize(Decimal("0.01"))
            store.set_price(variant.id, str(price), shop.now().isoformat())


def _new_order(body: dict[str, Any]) -> NewOrder:
    lines = [
        LineRequest(quantity=int(item["quantity"]), sku=str(item["sku"]))
        for item in body.get("line_items") or []
    ]
    extra = {
        k: body[k]
        for k in ("email", "customer", "shipping_address", "currency", "note", "tags")
        if k in body
    }
    return NewOrder(lines=lines, obey_policy=not body.get("allow_oversell", False), **extra)


def routes(shop: ShopEmulator) -> list[Route]:
    async def health(request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "api_version": API_VERSION, "shop_domain": shop.config.shop_domain}
        )

    async def settings(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await read_json(request)
                if "token_lifetime_s" in body:
                    shop.auth.lifetime_s = float(body["token_lifetime_s"])
                shop.bucket.configure(
                    maximum=body.get("maximum_available"), restore_rate=body.get("restore_rate")
                )
                if body.get("fill_bucket"):
                    shop.bucket.fill()
            except (ValueError, TypeError) as exc:
                return bad_request(exc)
        return JSONResponse(
            {"token_lifetime_s": shop.auth.lifetime_s, "throttle_status": shop.bucket.status()}
        )

    async def expire_tokens(request: Request) -> Response:
        shop.auth.expire_all()
        return JSONResponse({"status": "expired"})

    async def levels(request: Request) -> Response:
        if request.method == "POST":
            try:
                _edit(shop, await read_json(request))
            except (ValueError, TypeError, KeyError, InvalidOperation) as exc:
                return bad_request(exc)
        return JSONResponse(inventory(shop))

    async def orders(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"orders": shop.store.orders()})
        try:
            payload, delivery = shop.orders.place(_new_order(await read_json(request)))
        except OrderError as exc:
            return JSONResponse({"error": exc.message, "code": exc.code}, status_code=422)
        except (ValueError, TypeError, KeyError) as exc:
            return bad_request(exc)
        webhook_id = delivery.webhook_id if delivery else None
        return JSONResponse({"order": payload, "webhook_id": webhook_id}, status_code=201)

    async def fulfill(request: Request) -> Response:
        try:
            payload = shop.orders.fulfill(int(request.path_params["order_id"]))
        except OrderError as exc:
            status = 404 if exc.code == "NOT_FOUND" else 422
            return JSONResponse({"error": exc.message, "code": exc.code}, status_code=status)
        return JSONResponse({"order": payload})

    async def webhooks(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await read_json(request)
                if "url" in body:
                    shop.webhooks.url = body["url"] or None
                if "retry_delays_s" in body:
                    shop.webhooks.retry_delays_s = tuple(float(x) for x in body["retry_delays_s"])
            except (ValueError, TypeError) as exc:
                return bad_request(exc)
        deliveries = []
        for d in shop.store.deliveries():
            entry = asdict(d)
            entry["body"] = d.body.decode("utf-8")
            entry["headers"] = shop.webhooks.headers(d)
            deliveries.append(entry)
        return JSONResponse(
            {
                "url": shop.webhooks.url,
                "retry_delays_s": list(shop.webhooks.retry_delays_s),
                "deliveries": deliveries,
            }
        )

    p = SANDBOX_PREFIX
    return [
        Route(f"{p}/health", health, methods=["GET"]),
        reset_route(shop.reset),
        faults_route(shop.faults),
        Route(f"{p}/settings", settings, methods=["GET", "POST"]),
        Route(f"{p}/tokens/expire", expire_tokens, methods=["POST"]),
        Route(f"{p}/inventory", levels, methods=["GET", "POST"]),
        Route(f"{p}/orders", orders, methods=["GET", "POST"]),
        Route(f"{p}/orders/{{order_id:int}}/fulfill", fulfill, methods=["POST"]),
        Route(f"{p}/webhooks", webhooks, methods=["GET", "POST"]),
    ]
