"""ShopifyClient over a fake Shopify: token, pacing, conveniences, the documents it sends."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from consumers.shop import Variant
from consumers.shop.client import (
    AVAILABLE,
    DEFAULT_QUERY_COST,
    LOCATIONS,
    SET_AVAILABLE,
    SET_PRICE,
    VARIANT_BY_SKU,
    ShopifyClient,
    sku_search,
)
from consumers.shop.settings import ShopAdminSettings
from ferry.errors import AuthenticationError, ConfigError, Rejected, ValidationError
from ferry.secrets import SecretRef

from .conftest import CLIENT_ID, Harness, build
from .fake import URL, FakeShopify

QUERY = "query Probe { shop { name } }"
SHOP = {"shop": {"name": "Ferry test shop"}}
ITEM = "gid://shopify/InventoryItem/30"
LOCATION = "gid://shopify/Location/1"


def variant_reply(sku: str = "SKU-001", price: str = "19.99") -> dict[str, Any]:
    return {
        "productVariants": {
            "nodes": [
                {
                    "id": "gid://shopify/ProductVariant/10",
                    "sku": sku,
                    "price": price,
                    "product": {"id": "gid://shopify/Product/1"},
                    "inventoryItem": {"id": ITEM},
                }
            ]
        }
    }


# -- access token ---------------------------------------------------------------------------


async def test_token_is_fetched_once_and_reused(shop: Harness) -> None:
    shop.fake.replies["shop"] = SHOP
    for _ in range(3):
        assert await shop.client.execute(QUERY) == SHOP
    assert shop.fake.token_bodies == [
        {
            "client_id": CLIENT_ID,
            "client_secret": shop.secret,
            "grant_type": "client_credentials",
        }
    ]
    [token] = shop.fake.issued
    assert [r.headers["x-shopify-access-token"] for r in shop.fake.graphql] == [token] * 3


async def test_concurrent_first_calls_share_one_token(shop: Harness) -> None:
    shop.fake.replies["shop"] = SHOP
    await asyncio.gather(*(shop.client.execute(QUERY) for _ in range(5)))
    assert len(shop.fake.issued) == 1


@pytest.mark.parametrize(
    ("expires_in", "refresh_after"),
    [(86399, 86399 - 300), (3600, 3300), (100, 90)],
)
async def test_token_is_renewed_shortly_before_it_expires(
    expires_in: int, refresh_after: float
) -> None:
    harness = build(FakeShopify(CLIENT_ID, expires_in=expires_in))
    harness.fake.replies["shop"] = SHOP
    await harness.client.execute(QUERY)
    harness.clock.advance(refresh_after - 1)
    await harness.client.execute(QUERY)
    assert len(harness.fake.issued) == 1
    harness.clock.advance(2)
    await harness.client.execute(QUERY)
    assert len(harness.fake.issued) == 2
    assert harness.fake.graphql[-1].headers["x-shopify-access-token"] == harness.fake.issued[1]


async def test_token_without_expires_in_is_kept_until_refused() -> None:
    harness = build(FakeShopify(CLIENT_ID, expires_in=None))
    harness.fake.replies["shop"] = SHOP
    await harness.client.execute(QUERY)
    harness.clock.advance(10 * 86400)
    await harness.client.execute(QUERY)
    assert len(harness.fake.issued) == 1


async def test_a_401_renews_the_token_once_and_retries(shop: Harness) -> None:
    shop.fake.replies["shop"] = SHOP
    await shop.client.execute(QUERY)
    shop.fake.revoke()
    assert await shop.client.execute(QUERY) == SHOP
    first, second = shop.fake.issued
    assert [r.headers["x-shopify-access-token"] for r in shop.fake.graphql] == [
        first,
        first,
        second,
    ]


async def test_401_with_a_fresh_token_is_an_authentication_error(shop: Harness) -> None:
    shop.fake.always_401 = True
    with pytest.raises(AuthenticationError) as caught:
        await shop.client.execute(QUERY)
    text = str(caught.value)
    assert CLIENT_ID in text
    assert URL in text
    assert "401" in text
    assert "\n" not in text
    assert shop.secret not in text
    assert all(token not in text for token in shop.fake.issued)
    assert len(shop.fake.issued) == 2
    assert len(shop.fake.graphql) == 2


async def test_403_is_an_authentication_error_without_retry(shop: Harness) -> None:
    shop.fake.script.append(httpx.Response(403, json={"errors": "Forbidden"}))
    with pytest.raises(AuthenticationError, match=CLIENT_ID):
        await shop.client.execute(QUERY)
    assert len(shop.fake.issued) == 1
    assert len(shop.fake.graphql) == 1


async def test_refused_client_credentials_name_the_client_not_the_secret() -> None:
    fake = FakeShopify(CLIENT_ID)
    harness = build(fake)
    harness.client._secret = SecretStr(secrets.token_urlsafe(32))  # a wrong secret
    with pytest.raises(AuthenticationError) as caught:
        await harness.client.execute(QUERY)
    text = str(caught.value)
    assert CLIENT_ID in text
    assert URL in text
    assert "invalid_client" in text
    assert harness.client._secret.get_secret_value() not in text
    assert fake.client_secret not in text
    assert fake.graphql == []


@pytest.mark.parametrize("status", [401, 403])
async def test_token_endpoint_refusals(shop: Harness, status: int) -> None:
    shop.fake.token_script.append(httpx.Response(status, json={"errors": "nope"}))
    with pytest.raises(AuthenticationError, match=f"client id {CLIENT_ID}"):
        await shop.client.execute(QUERY)


async def test_secrets_stay_out_of_repr_and_logs(
    shop: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    shop.fake.replies["shop"] = SHOP
    await shop.client.execute(QUERY)
    shown = repr(shop.client) + caplog.text
    assert CLIENT_ID in repr(shop.client)
    assert shop.secret not in shown
    assert shop.fake.issued[0] not in shown


# -- pacing ---------------------------------------------------------------------------------


async def test_pacing_waits_until_the_bucket_can_pay(shop: Harness) -> None:
    shop.fake.replies["shop"] = SHOP
    shop.fake.costs["shop"] = 25
    shop.fake.available = 5
    shop.fake.restore_rate = 50
    await shop.client.execute(QUERY)
    assert shop.sleep.waits == []  # nothing known yet
    await shop.client.execute(QUERY)
    assert shop.sleep.waits == [pytest.approx((25 - 5) / 50)]


async def test_pacing_counts_the_time_already_passed(shop: Harness) -> None:
    shop.fake.replies["shop"] = SHOP
    shop.fake.costs["shop"] = 25
    shop.fake.available = 5
    await shop.client.execute(QUERY)
    shop.clock.advance(0.3)  # 5 + 0.3 * 50 = 20 points by now
    await shop.client.execute(QUERY)
    assert shop.sleep.waits == [pytest.approx(0.1)]
    shop.clock.advance(1.0)
    await shop.client.execute(QUERY)
    assert len(shop.sleep.waits) == 1


async def test_pacing_never_waits_with_a_full_bucket(shop: Harness) -> None:
    shop.fake.replies["shop"] = SHOP
    shop.fake.costs["shop"] = 300
    for _ in range(20):
        await shop.client.execute(QUERY)
    assert shop.sleep.waits == []


async def test_an_unknown_query_is_expected_to_cost_the_default(shop: Harness) -> None:
    shop.fake.replies["shop"] = SHOP
    shop.fake.available = 4
    await shop.client.execute(QUERY)
    await shop.client.execute(LOCATIONS)
    assert shop.sleep.waits == [pytest.approx((DEFAULT_QUERY_COST - 4) / 50)]


async def test_concurrent_calls_reserve_their_cost(shop: Harness) -> None:
    shop.fake.replies["shop"] = SHOP
    shop.fake.costs["shop"] = 30
    shop.fake.available = 50
    await shop.client.execute(QUERY)
    shop.fake.gate = asyncio.Event()
    calls = [asyncio.ensure_future(shop.client.execute(QUERY)) for _ in range(2)]
    for _ in calls:
        await shop.fake.parked.get()  # both sent and held at the server
    shop.fake.gate.set()
    await asyncio.gather(*calls)
    # The first spends 30 of 50; the second waits for the 10 missing points.
    assert shop.sleep.waits == [pytest.approx(10 / 50)]


async def test_throttled_answer_teaches_the_cost_and_paces_the_retry(shop: Harness) -> None:
    from ferry.errors import Throttled

    shop.fake.replies["shop"] = SHOP
    shop.fake.available = 10
    shop.fake.script.append(shop.fake.throttled(requested=50))
    with pytest.raises(Throttled) as caught:
        await shop.client.execute(QUERY)
    assert caught.value.retry_after == pytest.approx((50 - 10) / 50)
    await shop.client.execute(QUERY)
    assert shop.sleep.waits == [pytest.approx((50 - 10) / 50)]


# -- conveniences ---------------------------------------------------------------------------


async def test_location_id_first_or_by_name(shop: Harness) -> None:
    shop.fake.replies["locations"] = {
        "locations": {
            "nodes": [
                {"id": LOCATION, "name": "Shop location"},
                {"id": "gid://shopify/Location/2", "name": "Warehouse"},
            ]
        }
    }
    assert await shop.client.location_id() == LOCATION
    assert await shop.client.location_id("Warehouse") == "gid://shopify/Location/2"
    with pytest.raises(Rejected, match="no location named 'Attic'") as caught:
        await shop.client.location_id("Attic")
    assert caught.value.field == "location"
    assert shop.fake.fields() == ["locations"]  # asked once
    assert shop.fake.bodies()[0] == {"query": LOCATIONS}
    assert len(await shop.client.locations(refresh=True)) == 2
    assert shop.fake.fields() == ["locations", "locations"]


async def test_variant_by_sku_reads_and_caches(shop: Harness) -> None:
    shop.fake.replies["productVariants"] = variant_reply()
    variant = await shop.client.variant_by_sku("SKU-001")
    assert variant == Variant(
        id="gid://shopify/ProductVariant/10",
        sku="SKU-001",
        price=Decimal("19.99"),
        product_id="gid://shopify/Product/1",
        inventory_item_id=ITEM,
    )
    assert await shop.client.variant_by_sku("SKU-001") is variant
    assert shop.fake.bodies() == [{"query": VARIANT_BY_SKU, "variables": {"query": "sku:SKU-001"}}]
    assert "productVariants(first: 1, query: $query)" in VARIANT_BY_SKU


async def test_forget_variant_drops_the_cache_entry(shop: Harness) -> None:
    shop.fake.replies["productVariants"] = variant_reply()
    await shop.client.variant_by_sku("SKU-001")
    shop.client.forget_variant("SKU-001")
    await shop.client.variant_by_sku("SKU-001")
    shop.client.forget_variant()
    await shop.client.variant_by_sku("SKU-001")
    assert shop.fake.fields() == ["productVariants"] * 3


async def test_unknown_sku_is_none_and_not_cached(shop: Harness) -> None:
    shop.fake.replies["productVariants"] = {"productVariants": {"nodes": []}}
    assert await shop.client.variant_by_sku("SKU-404") is None
    assert await shop.client.variant_by_sku("SKU-404") is None
    assert len(shop.fake.graphql) == 2


async def test_a_search_hit_with_another_sku_is_not_the_variant(shop: Harness) -> None:
    shop.fake.replies["productVariants"] = variant_reply(sku="SKU-0011")
    assert await shop.client.variant_by_sku("SKU-001") is None


def test_sku_search_quotes_what_is_not_plain() -> None:
    assert sku_search("SKU-001") == "sku:SKU-001"
    assert sku_search("A B") == 'sku:"A B"'
    assert sku_search('say "hi"\\') == 'sku:"say \\"hi\\"\\\\"'


async def test_available_reads_the_available_quantity(shop: Harness) -> None:
    shop.fake.replies["inventoryItem"] = {
        "inventoryItem": {"inventoryLevel": {"quantities": [{"name": "available", "quantity": 12}]}}
    }
    assert await shop.client.available(ITEM, LOCATION) == 12
    assert shop.fake.bodies() == [
        {"query": AVAILABLE, "variables": {"inventoryItemId": ITEM, "locationId": LOCATION}}
    ]
    assert 'quantities(names: ["available"])' in AVAILABLE


async def test_available_of_an_unstocked_item_is_rejected(shop: Harness) -> None:
    shop.fake.replies["inventoryItem"] = {"inventoryItem": {"inventoryLevel": None}}
    with pytest.raises(Rejected, match="not stocked"):
        await shop.client.available(ITEM, LOCATION)


def inventory_ok(variables: dict[str, Any]) -> dict[str, Any]:
    return {
        "inventorySetQuantities": {
            "inventoryAdjustmentGroup": {"id": "gid://shopify/InventoryAdjustmentGroup/5"},
            "userErrors": [],
        }
    }


async def test_set_available_sends_null_change_from_and_the_key(shop: Harness) -> None:
    shop.fake.replies["inventorySetQuantities"] = inventory_ok
    key = "9b0c54a8-7f51-4c77-9a5e-1d2f0c3b4a59"
    group = await shop.client.set_available(
        ITEM, LOCATION, 7, change_from=None, idempotency_key=key
    )
    assert group == "gid://shopify/InventoryAdjustmentGroup/5"
    [request] = shop.fake.graphql
    body = json.loads(request.content)
    assert body["query"] == SET_AVAILABLE
    assert "inventorySetQuantities(input: $input) @idempotent(key: $key)" in SET_AVAILABLE
    assert body["variables"] == {
        "input": {
            "name": "available",
            "reason": "correction",
            "quantities": [
                {
                    "inventoryItemId": ITEM,
                    "locationId": LOCATION,
                    "quantity": 7,
                    "changeFromQuantity": None,
                }
            ],
        },
        "key": key,
    }
    # An explicit null, not a missing key: Shopify refuses a quantity without it.
    assert "changeFromQuantity" in body["variables"]["input"]["quantities"][0]


async def test_set_available_with_change_from_reason_and_reference(shop: Harness) -> None:
    shop.fake.replies["inventorySetQuantities"] = inventory_ok
    await shop.client.set_available(
        ITEM,
        LOCATION,
        0,
        change_from=3,
        idempotency_key="k-1",
        reason="received",
        reference="gid://ferry/StockMove/42",
    )
    assert shop.fake.bodies()[0]["variables"] == {
        "input": {
            "name": "available",
            "reason": "received",
            "referenceDocumentUri": "gid://ferry/StockMove/42",
            "quantities": [
                {
                    "inventoryItemId": ITEM,
                    "locationId": LOCATION,
                    "quantity": 0,
                    "changeFromQuantity": 3,
                }
            ],
        },
        "key": "k-1",
    }


async def test_set_available_needs_a_key(shop: Harness) -> None:
    with pytest.raises(ValidationError):
        await shop.client.set_available(ITEM, LOCATION, 1, change_from=None, idempotency_key="")


async def test_set_price_sends_the_bulk_update_and_refreshes_the_cache(shop: Harness) -> None:
    shop.fake.replies["productVariants"] = variant_reply()
    shop.fake.replies["productVariantsBulkUpdate"] = {
        "productVariantsBulkUpdate": {
            "productVariants": [{"id": "gid://shopify/ProductVariant/10", "price": "24.50"}],
            "userErrors": [],
        }
    }
    variant = await shop.client.variant_by_sku("SKU-001")
    assert variant is not None
    stored = await shop.client.set_price(variant.product_id, variant.id, Decimal("24.5000"))
    assert stored == Decimal("24.50")
    body = shop.fake.bodies()[1]
    assert body == {
        "query": SET_PRICE,
        "variables": {
            "productId": "gid://shopify/Product/1",
            "variants": [{"id": "gid://shopify/ProductVariant/10", "price": "24.5000"}],
        },
    }
    assert "productVariantsBulkUpdate(productId: $productId, variants: $variants)" in SET_PRICE
    cached = await shop.client.variant_by_sku("SKU-001")
    assert cached is not None
    assert cached.price == Decimal("24.50")
    assert len(shop.fake.graphql) == 2


async def test_set_price_never_sends_exponent_notation(shop: Harness) -> None:
    shop.fake.replies["productVariantsBulkUpdate"] = {
        "productVariantsBulkUpdate": {"productVariants": [], "userErrors": []}
    }
    assert await shop.client.set_price("p", "v", Decimal("1E+2")) == Decimal("1E+2")
    assert shop.fake.bodies()[0]["variables"]["variants"][0]["price"] == "100"
    with pytest.raises(ValidationError):
        await shop.client.set_price("p", "v", Decimal("NaN"))


# -- construction ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"url": "shop.test"}, "shop.url"),
        ({"api_version": "latest"}, "shop.api_version"),
        ({"client_id": ""}, "shop.client_id"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, str], key: str) -> None:
    args: dict[str, Any] = {"url": URL, "client_id": CLIENT_ID, "api_version": "2026-10"}
    args.update(kwargs)
    url = args.pop("url")
    with pytest.raises(ConfigError) as caught:
        ShopifyClient(url, client_secret="x", **args)
    assert caught.value.key == key


async def test_from_settings_resolves_the_secret() -> None:
    fake = FakeShopify(CLIENT_ID)
    fake.replies["shop"] = SHOP
    settings = ShopAdminSettings(
        url=URL + "/",
        client_id=CLIENT_ID,
        client_secret=SecretRef("env", "TEST_SHOP_SECRET"),
    )
    environ = {"TEST_SHOP_SECRET": fake.client_secret}
    async with ShopifyClient.from_settings(settings, http=fake.client(), environ=environ) as client:
        assert client.url == URL
        assert client.api_version == "2026-10"
        assert await client.execute(QUERY) == SHOP
    with pytest.raises(ConfigError, match=r"shop\.client_secret"):
        ShopifyClient.from_settings(settings, environ={})


async def test_an_injected_http_client_is_left_open() -> None:
    fake = FakeShopify(CLIENT_ID)
    http = fake.client()
    async with ShopifyClient(URL, client_id=CLIENT_ID, client_secret="x", http=http):
        pass
    assert not http.is_closed
    await http.aclose()
    owned = ShopifyClient(URL, client_id=CLIENT_ID, client_secret="x")
    await owned.aclose()
    assert owned._http.is_closed
