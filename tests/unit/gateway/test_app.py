from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError, UnknownTopicOrPartitionError
from starlette.applications import Starlette

from ferry.envelope import CloudEvent, Headers, deterministic_id
from ferry.metrics import ServiceMetrics
from ferry.registry import load
from ferry.serde import SingleObjectSerde
from ferry.settings import ServiceSettings
from producers.gateway.app import create_app
from producers.gateway.routes import WebhookRoute, webhook_routes
from producers.gateway.signature import sign
from producers.shop.sample import sample_order, signed_request
from producers.shop.webhook import EVENT_TYPE, TOPIC

SECRET = secrets.token_urlsafe(24)  # generated per run: no secret lives in code
URL = "http://gateway/webhooks/shop"


class FakeProducer:
    """An in-memory stand-in for the acks=all producer (unit tests only)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes, Headers]] = []
        self.failures: list[BaseException] = []
        self.delay_s = 0.0

    async def send_and_wait(self, topic: str, *, value: bytes, key: bytes, headers: Headers) -> Any:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((topic, key, value, headers))
        return None


def shop_routes(secret: str) -> list[WebhookRoute]:
    """The route table of the embedded defaults, signed with ``secret``."""
    return webhook_routes(load(environ={}), {"FERRY_SHOP_WEBHOOK_SECRET": secret})


class Gateway:
    def __init__(self, *, max_body_bytes: int = 1024 * 1024, ready: bool = True) -> None:
        self.producer = FakeProducer()
        self.serde = SingleObjectSerde()
        self.metrics = ServiceMetrics("gateway")
        self.app: Starlette = create_app(
            ServiceSettings(port=0, max_body_bytes=max_body_bytes),
            self.producer,
            self.serde,
            self.metrics,
            shop_routes(SECRET),
            ready=lambda: ready,
            produce_timeout_s=0.2,
            retry_after_s=7,
        )
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://gateway"
        )

    def metric(self, name: str, **labels: str) -> float | None:
        return self.metrics.registry.get_sample_value(name, labels)


@pytest.fixture
async def gw() -> AsyncIterator[Gateway]:
    gateway = Gateway()
    async with gateway.client:
        yield gateway


def signed(order_id: int = 1001, **kw: Any) -> tuple[bytes, dict[str, str]]:
    return signed_request(sample_order(order_id), SECRET, **kw)


async def test_accepted_webhook_is_produced_then_answered_202(gw: Gateway) -> None:
    body, headers = signed(delivery_id="delivery-1")
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = await gw.client.post(
        URL, content=body, headers={**headers, "traceparent": traceparent}
    )
    assert response.status_code == 202
    ce_id = deterministic_id("shop", "delivery-1")
    assert response.json() == {"id": ce_id, "topic": TOPIC}
    [(topic, key, value, kafka_headers)] = gw.producer.sent
    assert (topic, key) == (TOPIC, b"shop:order:1001")
    event = CloudEvent.from_headers(kafka_headers)
    assert (event.id, event.type, event.subject) == (ce_id, EVENT_TYPE, "shop:order:1001")
    assert event.traceparent.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    decoded = gw.serde.decode(value)
    assert decoded.record["order_id"] == "1001"
    assert decoded.record["source_delivery_id"] == "delivery-1"
    assert gw.metric("ferry_events_out_total", service="gateway", topic=TOPIC) == 1
    assert (
        gw.metric(
            "ferry_http_requests_total", service="gateway", route="/webhooks/shop", status="202"
        )
        == 1
    )
    assert gw.metric("ferry_processing_seconds_count", service="gateway", stage="produce") == 1


async def test_the_same_webhook_twice_gets_the_same_ce_id(gw: Gateway) -> None:
    body, headers = signed()  # no delivery id: from order id and updated_at
    first = await gw.client.post(URL, content=body, headers=headers)
    again = await gw.client.post(URL, content=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_wrong_content_type_is_415(gw: Gateway, content_type: str | None) -> None:
    body, headers = signed()
    del headers["Content-Type"]
    if content_type:
        headers["Content-Type"] = content_type
    response = await gw.client.post(URL, content=body, headers=headers)
    assert response.status_code == 415
    assert response.json()["field"] == "Content-Type"
    assert not gw.producer.sent


async def test_json_with_charset_parameter_is_accepted(gw: Gateway) -> None:
    body, headers = signed()
    headers["Content-Type"] = "Application/JSON; charset=utf-8"
    assert (await gw.client.post(URL, content=body, headers=headers)).status_code == 202


async def test_missing_signature_is_401(gw: Gateway) -> None:
    body, headers = signed()
    del headers["X-Shopify-Hmac-Sha256"]
    response = await gw.client.post(URL, content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["field"] == "X-Shopify-Hmac-Sha256"


async def test_bad_signature_and_tampered_body_are_401_and_never_echo_the_secret(
    gw: Gateway,
) -> None:
    body, headers = signed()
    wrong = await gw.client.post(
        URL, content=body, headers={**headers, "X-Shopify-Hmac-Sha256": "AAAA"}
    )
    tampered = await gw.client.post(URL, content=body.replace(b"1001", b"1002"), headers=headers)
    for response in (wrong, tampered):
        assert response.status_code == 401
        assert "error" in response.json()
        assert SECRET not in response.text
    assert not gw.producer.sent


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b'{"total_price": NaN}'])
async def test_malformed_json_is_400(gw: Gateway, raw: bytes) -> None:
    _, headers = signed()
    headers["X-Shopify-Hmac-Sha256"] = sign(SECRET, raw)
    response = await gw.client.post(URL, content=raw, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"].startswith("malformed JSON")


async def test_undecodable_order_is_422_naming_field_and_rule(gw: Gateway) -> None:
    order = sample_order(1001)
    order["line_items"][0]["quantity"] = "abc"
    body, headers = signed_request(order, SECRET)
    response = await gw.client.post(URL, content=body, headers=headers)
    assert response.status_code == 422
    answer = response.json()
    assert answer["field"] == "line_items[0].quantity"
    assert answer["rule"] == "integer"
    assert "error" in answer
    assert not gw.producer.sent


async def test_content_rules_are_not_the_gateways_job(gw: Gateway) -> None:
    order = sample_order(1001)
    order["currency"] = "???"
    order["line_items"][0]["quantity"] = -1
    order["email"] = order["customer"]["email"] = None
    body, headers = signed_request(order, SECRET)
    assert (await gw.client.post(URL, content=body, headers=headers)).status_code == 202


async def test_other_webhook_topics_are_422(gw: Gateway) -> None:
    body, headers = signed()
    headers["X-Shopify-Topic"] = "products/update"
    response = await gw.client.post(URL, content=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "X-Shopify-Topic"
    assert response.json()["rule"] == "orders/create, orders/updated, orders/cancelled"


@pytest.mark.parametrize("topic", ["orders/updated", "orders/cancelled"])
async def test_an_order_s_later_states_are_taken_by_the_same_route(gw: Gateway, topic: str) -> None:
    body, headers = signed()
    headers["X-Shopify-Topic"] = topic
    response = await gw.client.post(URL, content=body, headers=headers)
    assert response.status_code == 202


async def test_declared_body_over_the_limit_is_413_before_reading() -> None:
    gateway = Gateway(max_body_bytes=64)
    async with gateway.client:
        body, headers = signed()
        response = await gateway.client.post(URL, content=body, headers=headers)
    assert response.status_code == 413
    assert response.json()["rule"] == "max size"
    assert (
        gateway.metric(
            "ferry_http_requests_total", service="gateway", route="/webhooks/shop", status="413"
        )
        == 1
    )


async def test_streamed_body_over_the_limit_is_413_without_reading_it_all() -> None:
    gateway = Gateway(max_body_bytes=1024)
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while pulled < 10_000:
            pulled += 1
            yield b"x" * 256

    _, headers = signed()
    async with gateway.client:
        response = await gateway.client.post(URL, content=endless(), headers=headers)
    assert response.status_code == 413
    assert pulled < 10  # stopped at the first chunk past the limit
    assert not gateway.producer.sent


async def test_kafka_unreachable_is_503_with_retry_after_and_recovers(gw: Gateway) -> None:
    gw.producer.failures.append(KafkaConnectionError("no broker"))
    body, headers = signed()
    down = await gw.client.post(URL, content=body, headers=headers)
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "7"
    assert "error" in down.json()
    back = await gw.client.post(URL, content=body, headers=headers)
    assert back.status_code == 202
    assert len(gw.producer.sent) == 1


async def test_kafka_too_slow_is_503_within_the_produce_timeout(gw: Gateway) -> None:
    gw.producer.delay_s = 5
    body, headers = signed()
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await gw.client.post(URL, content=body, headers=headers)
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert loop.time() - started < 2


async def test_kafka_refusing_for_good_is_500(gw: Gateway) -> None:
    gw.producer.failures.append(UnknownTopicOrPartitionError())
    gw.producer.failures[0].retriable = False  # type: ignore[attr-defined]
    body, headers = signed()
    response = await gw.client.post(URL, content=body, headers=headers)
    assert response.status_code == 500
    assert "error" in response.json()


async def test_one_log_line_per_rejection_without_body_or_secret(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    order = sample_order(1001)
    order["created_at"] = "not a time"
    body, headers = signed_request(order, SECRET)
    with caplog.at_level(logging.WARNING, logger="producers.gateway.rejections"):
        await gw.client.post(URL, content=body, headers=headers)
    [line] = [r for r in caplog.records if r.name == "producers.gateway.rejections"]
    text = line.getMessage()
    assert "status=422" in text
    assert "field=created_at" in text
    assert "not a time" not in text
    assert SECRET not in text
    assert getattr(line, "field") == "created_at"  # noqa: B009 - set through ``extra``


async def test_ops_routes(gw: Gateway) -> None:
    assert (await gw.client.get("/healthz")).status_code == 200
    assert (await gw.client.get("/readyz")).json()["status"] == "ready"
    metrics = await gw.client.get("/metrics")
    assert "ferry_http_requests_total" in metrics.text
    await gw.client.get("/nowhere")
    assert (
        gw.metric("ferry_http_requests_total", service="gateway", route="other", status="404") == 1
    )


async def test_not_ready_is_503() -> None:
    gateway = Gateway(ready=False)
    async with gateway.client:
        response = await gateway.client.get("/readyz")
    assert response.status_code == 503


def test_error_bodies_are_json() -> None:
    from producers.gateway.rejections import Rejection

    rejection = Rejection(422, "bad", reason="r", field="f", rule="x")
    assert json.loads(json.dumps(rejection.body())) == {"error": "bad", "field": "f", "rule": "x"}


async def test_ferrys_first_header_names_stay_accepted_as_aliases(gw: Gateway) -> None:
    body, headers = signed(1777, delivery_id="alias-delivery")
    renamed = {
        "X-Shop-Hmac-Sha256"
        if k == "X-Shopify-Hmac-Sha256"
        else "X-Shop-Topic"
        if k == "X-Shopify-Topic"
        else "X-Shop-Webhook-Id"
        if k == "X-Shopify-Webhook-Id"
        else k: v
        for k, v in headers.items()
    }
    assert "X-Shopify-Hmac-Sha256" not in renamed
    response = await gw.client.post(URL, content=body, headers=renamed)
    assert response.status_code == 202
    assert response.json()["id"] == deterministic_id("shop", "alias-delivery")
    renamed["X-Shop-Topic"] = "refunds/create"
    refused = await gw.client.post(URL, content=body, headers=renamed)
    assert (refused.status_code, refused.json()["field"]) == (422, "X-Shop-Topic")
