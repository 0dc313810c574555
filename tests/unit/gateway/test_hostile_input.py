"""Hostile webhook bodies, signed with the right secret: each is answered 4xx, never 5xx.

The app runs in-process with a fake producer; app errors become 500 answers (as uvicorn would
send) instead of exceptions, so a crash shows up as a status.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ferry.metrics import ServiceMetrics
from ferry.serde import SingleObjectSerde
from ferry.settings import ServiceSettings
from producers.gateway.app import create_app
from producers.gateway.signature import sign
from producers.shop.sample import sample_order
from tests.unit.gateway.test_app import SECRET, URL, FakeProducer, shop_routes

HEADERS = {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create"}


class Client:
    def __init__(self) -> None:
        self.producer = FakeProducer()
        app = create_app(
            ServiceSettings(port=0),
            self.producer,
            SingleObjectSerde(),
            ServiceMetrics("gateway"),
            shop_routes(SECRET),
            produce_timeout_s=0.2,
        )
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://gateway",
        )

    async def post(
        self, raw: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        sent = {**HEADERS, **(headers or {}), "X-Shopify-Hmac-Sha256": sign(SECRET, raw)}
        response = await self.http.post(URL, content=raw, headers=sent)
        try:
            answer = response.json()
        except ValueError:
            answer = {"text": response.text}
        return response.status_code, answer


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    made = Client()
    async with made.http:
        yield made


def order_with(**changes: Any) -> dict[str, Any]:
    order = sample_order(1001)
    order.update(changes)
    return order


def body(order: Any) -> bytes:
    return json.dumps(order, ensure_ascii=False).encode("utf-8", "surrogatepass")


def line_with(**changes: Any) -> dict[str, Any]:
    order = sample_order(1001)
    order["line_items"][0].update(changes)
    return order


# -- body-level rules: 400 ------------------------------------------------------------------


async def test_json_nested_thousands_deep_is_400_naming_the_depth_rule(client: Client) -> None:
    raw = b'{"note": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    status, answer = await client.post(raw)
    assert status == 400
    assert answer["rule"] == "depth ≤ 64"


async def test_json_nested_just_past_the_limit_is_400(client: Client) -> None:
    deep: Any = 1
    for _ in range(65):
        deep = [deep]
    status, answer = await client.post(body(order_with(note_attributes=deep)))
    assert (status, answer["rule"]) == (400, "depth ≤ 64")
    status, _ = await client.post(body(order_with(note_attributes=deep[0][0])))
    assert status == 202  # the order object and 63 arrays: 64 deep


@pytest.mark.parametrize(
    ("where", "order"),
    [
        ("id", order_with(id="\ud800")),
        ("line_items[0].sku", line_with(sku="SKU-\udfff")),
        ("\\ud800", order_with(**{"\ud800": 1})),
    ],
)
async def test_a_lone_surrogate_in_a_value_or_key_is_400_naming_where(
    client: Client, where: str, order: dict[str, Any]
) -> None:
    raw = json.dumps(order).encode()  # ensure_ascii: the surrogate travels as \ud800
    status, answer = await client.post(raw)
    assert status == 400
    assert answer["field"] == where
    assert "surrogate" in answer["rule"]
    assert not client.producer.sent


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-8-sig"]
)
async def test_a_body_in_another_encoding_or_with_a_bom_is_400(
    client: Client, encoding: str
) -> None:
    raw = json.dumps(sample_order(1001)).encode(encoding)
    status, answer = await client.post(raw)
    assert status == 400
    assert answer["rule"] == "UTF-8 without a byte order mark"
    assert not client.producer.sent


async def test_invalid_utf8_is_400(client: Client) -> None:
    raw = body(order_with(note="x")).replace(b'"x"', b'"\xed\xa0\x80"')  # an encoded surrogate
    status, answer = await client.post(raw)
    assert (status, answer["rule"]) == (400, "UTF-8 without a byte order mark")


async def test_duplicate_keys_are_400(client: Client) -> None:
    raw = body(sample_order(1001))[:-1] + b', "id": 7}'
    status, answer = await client.post(raw)
    assert (status, answer["rule"], answer["field"]) == (400, "unique keys", "id")


async def test_an_absurd_number_literal_is_400(client: Client) -> None:
    raw = body(order_with(note=None)).replace(b'"note": null', b'"note": 1e99999999999999999999')
    status, answer = await client.post(raw)
    assert status == 400
    assert "number" in answer["rule"]


# -- numbers and timestamps beyond the schema: 422 naming the field ---------------------------


@pytest.mark.parametrize("price", ["1e999999999", "-1e999999999", "1e-999999999"])
async def test_a_price_with_a_huge_exponent_is_422_naming_the_field(
    client: Client, price: str
) -> None:
    for raw in (
        body(line_with(price=price)),  # as a string
        body(line_with(price=0)).replace(b'"price": 0', f'"price": {price}'.encode()),  # number
    ):
        status, answer = await client.post(raw)
        assert status == 422, answer
        assert answer["field"] == "line_items[0].price"
        assert answer["rule"]


@pytest.mark.parametrize(
    ("price", "rule"),
    [
        ("1_000.00", "decimal string"),
        ("\u0661\u0662", "decimal string"),  # Arabic-Indic digits
        ("\u0661\u0662.\u0665\u0660", "decimal string"),
        ("\u0661\u0662\u066b\u0665", "decimal string"),  # and the Arabic decimal separator
        ("\uff11\uff12", "decimal string"),  # full-width digits
        (" 12.50", "decimal string"),
        ("12 .50", "decimal string"),
        ("12.", "decimal string"),
        (".5", "decimal string"),
        ("0x10", "decimal string"),
        ("NaN", "decimal string"),
        ("100000000000000", "at most 14 digits before the decimal point"),
        ("0.00001", "at most 4 decimal places"),
    ],
)
async def test_lenient_decimal_strings_are_422(client: Client, price: str, rule: str) -> None:
    status, answer = await client.post(body(line_with(price=price)))
    assert status == 422, answer
    assert (answer["field"], answer["rule"]) == ("line_items[0].price", rule)


@pytest.mark.parametrize("price", ["12.50", "-3", "+4.2", "1.5e2", "125E-1", "0"])
async def test_strict_decimal_strings_are_taken(client: Client, price: str) -> None:
    status, _ = await client.post(body(line_with(price=price)))
    assert status == 202


@pytest.mark.parametrize(
    ("quantity", "rule"), [(2**31, "32-bit integer"), (-(2**31) - 1, "32-bit integer")]
)
async def test_integers_beyond_int32_are_422(client: Client, quantity: int, rule: str) -> None:
    status, answer = await client.post(body(line_with(quantity=quantity)))
    assert (status, answer["field"], answer["rule"]) == (422, "line_items[0].quantity", rule)


async def test_an_integer_id_beyond_64_bits_is_422(client: Client) -> None:
    status, answer = await client.post(body(order_with(id=2**64)))
    assert (status, answer["field"], answer["rule"]) == (422, "id", "64-bit integer id")


@pytest.mark.parametrize(
    "stamp",
    [
        "0001-01-01T00:00:00+01:00",  # OverflowError once in UTC
        "9999-12-31T23:59:59-01:00",
        "1969-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
    ],
)
async def test_timestamps_outside_1970_to_9999_are_422(client: Client, stamp: str) -> None:
    status, answer = await client.post(body(order_with(created_at=stamp)))
    assert status == 422, answer
    assert (answer["field"], answer["rule"]) == ("created_at", "year 1970 to 9999")


@pytest.mark.parametrize(
    "stamp",
    [
        "2024-05-02T10:15:30+0200",
        "20240502T101530+02:00",
        "2024-05-02T10:15:30 +02:00",
        "\uff12\uff10\uff12\uff14-05-02T10:15:30+02:00",
        "2024-05-02T10:15+02:00",
        "2024-W18-4T10:15:30+02:00",
    ],
)
async def test_lenient_timestamps_are_422(client: Client, stamp: str) -> None:
    status, answer = await client.post(body(order_with(created_at=stamp)))
    assert (status, answer["field"], answer["rule"]) == (422, "created_at", "ISO 8601 timestamp")


async def test_a_timestamp_too_far_ahead_is_422(client: Client) -> None:
    ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    status, answer = await client.post(body(order_with(updated_at=ahead)))
    assert status == 422, answer
    assert answer["field"] == "updated_at"
    assert answer["rule"] == "at most 86400 s ahead of now"
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await client.post(body(order_with(updated_at=soon))))[0] == 202


# -- the topic header --------------------------------------------------------------------------


async def test_a_missing_topic_header_is_422_naming_it_and_the_topics(client: Client) -> None:
    order = order_with(cancelled_at="2024-05-02T12:00:00Z")
    raw = body(order)
    response = await client.http.post(
        URL,
        content=raw,
        headers={"Content-Type": "application/json", "X-Shopify-Hmac-Sha256": sign(SECRET, raw)},
    )
    assert response.status_code == 422
    answer = response.json()
    assert answer["field"] == "X-Shopify-Topic"
    assert answer["rule"] == "orders/create, orders/updated, orders/cancelled"
    assert not client.producer.sent


@pytest.mark.parametrize("topic", ["orders/create", "orders/updated", "orders/cancelled"])
async def test_the_three_order_topics_are_taken(client: Client, topic: str) -> None:
    status, _ = await client.post(body(sample_order(1001)), {"X-Shopify-Topic": topic})
    assert status == 202


@pytest.mark.parametrize("topic", ["", "orders/delete", "ORDERS/CREATE", "products/update"])
async def test_any_other_topic_is_422(client: Client, topic: str) -> None:
    status, answer = await client.post(body(sample_order(1001)), {"X-Shopify-Topic": topic})
    assert (status, answer["field"]) == (422, "X-Shopify-Topic")
