"""Shopify's failures as Ferry errors: transport, HTTP status, GraphQL errors, userErrors."""

from __future__ import annotations

import httpx
import pytest

from consumers.shop.errors import (
    IdempotencyInProgress,
    QueryCost,
    ShopifyFault,
    StaleQuantity,
    UserError,
    parse_retry_after,
    raise_user_errors,
)
from ferry.errors import (
    AuthenticationError,
    ConfigError,
    PermanentError,
    Rejected,
    Throttled,
    TransientError,
    Unavailable,
)

from .conftest import Harness
from .fake import FakeShopify

QUERY = "query Probe { shop { name } }"
ITEM = "gid://shopify/InventoryItem/30"
LOCATION = "gid://shopify/Location/1"


async def test_throttled_carries_retry_after_from_the_bucket(shop: Harness) -> None:
    shop.fake.available = 12
    shop.fake.restore_rate = 100
    shop.fake.script.append(shop.fake.throttled(requested=52))
    with pytest.raises(Throttled) as caught:
        await shop.client.execute(QUERY)
    assert caught.value.retry_after == pytest.approx(0.4)
    assert isinstance(caught.value.__cause__, ShopifyFault)


async def test_throttled_without_cost_waits_a_second(shop: Harness) -> None:
    shop.fake.script.append(
        {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    )
    with pytest.raises(Throttled) as caught:
        await shop.client.execute(QUERY)
    assert caught.value.retry_after == 1.0


async def test_429_honours_retry_after(shop: Harness) -> None:
    shop.fake.script.append(
        httpx.Response(429, headers={"Retry-After": "2"}, json={"errors": "Too many"})
    )
    with pytest.raises(Throttled) as caught:
        await shop.client.execute(QUERY)
    assert caught.value.retry_after == 2.0


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
async def test_5xx_and_408_are_unavailable(shop: Harness, status: int) -> None:
    shop.fake.script.append(httpx.Response(status, text="<html>down</html>"))
    with pytest.raises(Unavailable, match=str(status)):
        await shop.client.execute(QUERY)


async def test_503_keeps_retry_after(shop: Harness) -> None:
    shop.fake.script.append(httpx.Response(503, headers={"Retry-After": "7"}))
    with pytest.raises(Unavailable) as caught:
        await shop.client.execute(QUERY)
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectTimeout("timed out"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("peer closed"),
    ],
)
async def test_transport_errors_are_unavailable(shop: Harness, exc: Exception) -> None:
    shop.fake.script.append(exc)
    with pytest.raises(Unavailable) as caught:
        await shop.client.execute(QUERY)
    assert caught.value.__cause__ is exc
    assert "shop.test" in str(caught.value)


async def test_token_endpoint_timeout_is_unavailable() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    from consumers.shop.client import ShopifyClient

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with ShopifyClient("http://shop.test", client_id="c", client_secret="s", http=http):
        pass
    client = ShopifyClient("http://shop.test", client_id="c", client_secret="s", http=http)
    with pytest.raises(Unavailable):
        await client.execute(QUERY)
    await http.aclose()


async def test_malformed_query_is_rejected_with_the_first_message(shop: Harness) -> None:
    shop.fake.script.append(
        {
            "errors": [
                {
                    "message": "Field 'nope' doesn't exist on type 'QueryRoot'",
                    "locations": [{"line": 1, "column": 15}],
                    "path": ["query Probe", "nope"],
                    "extensions": {"code": "undefinedField", "typeName": "QueryRoot"},
                },
                {"message": "second"},
            ]
        }
    )
    with pytest.raises(Rejected) as caught:
        await shop.client.execute("query Probe { nope }")
    error = caught.value
    assert not isinstance(error, UserError)
    assert isinstance(error, PermanentError)
    assert "Field 'nope' doesn't exist on type 'QueryRoot'" in str(error)
    assert "second" not in str(error)
    assert error.field == "query Probe.nope"


async def test_access_denied_is_an_authentication_error(shop: Harness) -> None:
    shop.fake.script.append(
        {
            "errors": [
                {
                    "message": "Access denied for inventoryItem field.",
                    "extensions": {"code": "ACCESS_DENIED"},
                }
            ]
        }
    )
    with pytest.raises(AuthenticationError, match="ferry-test-app"):
        await shop.client.execute(QUERY)


async def test_internal_server_error_code_is_unavailable(shop: Harness) -> None:
    shop.fake.script.append(
        {"errors": [{"message": "Internal error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
    )
    with pytest.raises(Unavailable):
        await shop.client.execute(QUERY)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>captive portal</html>"),
        httpx.Response(200, json=[1, 2]),
        httpx.Response(200, json={"extensions": {}}),
    ],
)
async def test_a_2xx_that_is_not_an_answer_is_rejected(
    shop: Harness, answer: httpx.Response
) -> None:
    shop.fake.script.append(answer)
    with pytest.raises(Rejected, match="malformed answer"):
        await shop.client.execute(QUERY)


async def test_other_4xx_is_rejected_with_its_status(shop: Harness) -> None:
    shop.fake.script.append(httpx.Response(404, json={"errors": "Not Found"}))
    with pytest.raises(Rejected) as caught:
        await shop.client.execute(QUERY)
    assert caught.value.status == 404
    assert "Not Found" in str(caught.value)


async def test_unsupported_url_is_a_config_error() -> None:
    fake = FakeShopify("c")
    from consumers.shop.client import ShopifyClient

    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.UnsupportedProtocol("no", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = ShopifyClient(
        "http://shop.test", client_id="c", client_secret=fake.client_secret, http=http
    )
    with pytest.raises(ConfigError) as caught:
        await client.execute(QUERY)
    assert caught.value.key == "shop.url"
    await http.aclose()


async def test_a_secret_echoed_by_the_server_is_blanked(shop: Harness) -> None:
    shop.fake.replies["shop"] = {"shop": {"name": "x"}}
    await shop.client.execute(QUERY)
    token = shop.fake.issued[0]
    shop.fake.script.append(httpx.Response(400, json={"errors": f"bad token {token}"}))
    with pytest.raises(Rejected) as caught:
        await shop.client.execute(QUERY)
    assert token not in str(caught.value)
    assert "***" in str(caught.value)


# -- userErrors -----------------------------------------------------------------------------


def stale(variables: dict[str, object]) -> dict[str, object]:
    return {
        "inventorySetQuantities": {
            "inventoryAdjustmentGroup": None,
            "userErrors": [
                {
                    "field": ["input", "quantities", "0", "changeFromQuantity"],
                    "code": "CHANGE_FROM_QUANTITY_STALE",
                    "message": "The changeFromQuantity value does not match persisted value.",
                }
            ],
        }
    }


async def test_stale_change_from_is_detectable(shop: Harness) -> None:
    shop.fake.replies["inventorySetQuantities"] = stale
    with pytest.raises(StaleQuantity) as caught:
        await shop.client.set_available(ITEM, LOCATION, 5, change_from=2, idempotency_key="k-stale")
    error = caught.value
    assert isinstance(error, UserError)
    assert isinstance(error, Rejected)
    assert error.code == "CHANGE_FROM_QUANTITY_STALE"
    assert error.field == "input.quantities.0.changeFromQuantity"
    assert "CHANGE_FROM_QUANTITY_STALE" in str(error)
    assert "input.quantities.0.changeFromQuantity" in str(error)
    assert str(error).startswith("inventorySetQuantities: ")


async def test_price_user_error_names_field_and_code(shop: Harness) -> None:
    shop.fake.replies["productVariantsBulkUpdate"] = {
        "productVariantsBulkUpdate": {
            "productVariants": None,
            "userErrors": [
                {
                    "field": ["variants", "0", "price"],
                    "code": "GREATER_THAN_OR_EQUAL_TO",
                    "message": "Price must be greater than or equal to 0",
                }
            ],
        }
    }
    from decimal import Decimal

    with pytest.raises(UserError) as caught:
        await shop.client.set_price("gid://shopify/Product/1", "v", Decimal("-1"))
    assert not isinstance(caught.value, StaleQuantity)
    assert caught.value.code == "GREATER_THAN_OR_EQUAL_TO"
    assert caught.value.field == "variants.0.price"
    assert caught.value.detail == "Price must be greater than or equal to 0"


async def test_idempotent_request_in_progress_is_transient(shop: Harness) -> None:
    shop.fake.replies["inventorySetQuantities"] = {
        "inventorySetQuantities": {
            "inventoryAdjustmentGroup": None,
            "userErrors": [
                {
                    "field": None,
                    "code": "IDEMPOTENCY_CONCURRENT_REQUEST",
                    "message": "This request is currently in progress, please try again.",
                }
            ],
        }
    }
    with pytest.raises(IdempotencyInProgress) as caught:
        await shop.client.set_available(ITEM, LOCATION, 5, change_from=None, idempotency_key="k")
    assert isinstance(caught.value, TransientError)
    assert caught.value.code == "IDEMPOTENCY_CONCURRENT_REQUEST"


def test_raise_user_errors_returns_a_clean_payload() -> None:
    payload = {"product": {"id": "p"}, "userErrors": []}
    assert raise_user_errors(payload, "productUpdate") == payload


def test_raise_user_errors_on_a_missing_payload() -> None:
    with pytest.raises(Rejected, match="productUpdate: Shopify answered no payload"):
        raise_user_errors(None, "productUpdate")


def test_raise_user_errors_keeps_the_others() -> None:
    payload = {
        "userErrors": [
            {"field": ["a"], "code": "BLANK", "message": "a is blank"},
            {"field": None, "code": None, "message": "something else"},
        ]
    }
    with pytest.raises(UserError) as caught:
        raise_user_errors(payload, "thingUpdate")
    error = caught.value
    assert str(error) == "thingUpdate: a is blank (code BLANK, field a); and 1 more"
    assert error.others == ((None, None, "something else"),)


# -- parts ----------------------------------------------------------------------------------


def test_query_cost_wait() -> None:
    cost = QueryCost.parse(
        {
            "extensions": {
                "cost": {
                    "requestedQueryCost": 30,
                    "actualQueryCost": 5,
                    "throttleStatus": {
                        "maximumAvailable": 100.0,
                        "currentlyAvailable": 10,
                        "restoreRate": 20.0,
                    },
                }
            }
        }
    )
    assert cost is not None
    assert cost.wait_for(30) == pytest.approx(1.0)
    assert cost.wait_for(5) == 0.0
    assert cost.wait_for(500) == pytest.approx(4.5)  # capped at the bucket's size
    assert QueryCost.parse({"extensions": {"cost": {}}}) is None
    assert QueryCost.parse(None) is None


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
