"""Webhook schemes: Shopify, Standard Webhooks and Stripe-style signatures, several secrets,
signed-time tolerance; and a delivery seen before is answered 200 without producing."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from standardwebhooks import Webhook

from ferry.metrics import ServiceMetrics
from ferry.serde import SingleObjectSerde
from ferry.settings import KafkaSettings, ServiceSettings
from producers.gateway.app import create_app
from producers.gateway.publish.idempotency import IdempotencyStore
from producers.gateway.rejections import Rejection
from producers.gateway.schemes import (
    ShopifyScheme,
    StandardWebhooksScheme,
    StripeScheme,
    b64_secret,
)
from producers.gateway.signature import sign
from producers.shop.sample import sample_order, signed_request
from tests.unit.gateway.test_app import SECRET, FakeProducer, shop_routes

BODY = b'{"id": 1}'
NOW = 1_796_000_000.0


def rejected(call: Any) -> Rejection:
    with pytest.raises(Rejection) as caught:
        call()
    assert caught.value.status == 401
    return caught.value


def test_shopify_accepts_any_of_its_secrets_and_its_old_header_names() -> None:
    old, new = SecretStr(secrets.token_urlsafe(16)), SecretStr(secrets.token_urlsafe(16))
    scheme = ShopifyScheme(
        ("X-Shopify-Hmac-Sha256", "X-Shop-Hmac-Sha256"), ("X-Shopify-Webhook-Id",)
    )
    headers = {"X-Shop-Hmac-Sha256": sign(old, BODY), "X-Shopify-Webhook-Id": "d-1"}
    assert scheme.check([new, old], BODY, headers).delivery_id == "d-1"
    assert rejected(lambda: scheme.check([new], BODY, headers)).reason == "bad signature"
    missing = rejected(lambda: scheme.check([new], BODY, {}))
    assert missing.field == "X-Shopify-Hmac-Sha256"


def test_standard_webhooks_signs_id_time_and_body_within_the_tolerance() -> None:
    secret = b64_secret(os.urandom(24))
    scheme = StandardWebhooksScheme(300, clock=lambda: NOW)
    moment = datetime.fromtimestamp(NOW - 60, UTC)
    signature = Webhook(secret).sign("msg_1", moment, BODY.decode())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(NOW - 60)),
        "webhook-signature": signature,
    }
    assert scheme.check([SecretStr(secret)], BODY, headers).delivery_id == "msg_1"
    other = b64_secret(os.urandom(24))
    assert scheme.check([SecretStr(other), SecretStr(secret)], BODY, headers).delivery_id == "msg_1"
    tampered = dict(headers, **{"webhook-id": "msg_2"})  # the id is signed too
    assert (
        rejected(lambda: scheme.check([SecretStr(secret)], BODY, tampered)).reason
        == "bad signature"
    )
    late = StandardWebhooksScheme(300, clock=lambda: NOW + 400)
    stale = rejected(lambda: late.check([SecretStr(secret)], BODY, headers))
    assert (stale.reason, stale.field) == ("stale signature", "webhook-timestamp")
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        without = {k: v for k, v in headers.items() if k != name}
        assert rejected(lambda w=without: scheme.check([SecretStr(secret)], BODY, w)).field == name


def test_stripe_style_signs_time_and_body_within_the_tolerance() -> None:
    secret = secrets.token_urlsafe(16)
    stamp = int(NOW - 10)
    v1 = hmac.new(secret.encode(), f"{stamp}.".encode() + BODY, hashlib.sha256).hexdigest()
    scheme = StripeScheme(300, clock=lambda: NOW)
    good = {"Stripe-Signature": f"t={stamp},v1=deadbeef,v1={v1}"}
    assert scheme.check([SecretStr(secret)], BODY, good).delivery_id is None
    assert (
        rejected(lambda: scheme.check([SecretStr(secret)], BODY + b" ", good)).reason
        == "bad signature"
    )
    stale = StripeScheme(300, clock=lambda: NOW + 3600)
    assert (
        rejected(lambda: stale.check([SecretStr(secret)], BODY, good)).reason == "stale signature"
    )
    assert (
        rejected(
            lambda: scheme.check([SecretStr(secret)], BODY, {"Stripe-Signature": "v1=x"})
        ).field
        == "Stripe-Signature"
    )


async def test_a_delivery_seen_before_is_answered_200_and_produces_nothing() -> None:
    producer = FakeProducer()
    stored: list[bytes] = []

    async def send(topic: str, key: bytes, value: bytes) -> None:
        stored.append(key)

    store = IdempotencyStore(KafkaSettings(), "ferry.idempotency", 86_400, send)
    app = create_app(
        ServiceSettings(port=0),
        producer,
        SingleObjectSerde(),
        ServiceMetrics("gateway"),
        shop_routes(SECRET),
        deliveries=store,
    )
    body, headers = signed_request(sample_order(77), SECRET, delivery_id="delivery-77")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as http:
        first = await http.post("/webhooks/shop", content=body, headers=headers)
        again = await http.post("/webhooks/shop", content=body, headers=headers)
        _, fresh = signed_request(sample_order(77), SECRET, delivery_id="delivery-78")
        other = await http.post("/webhooks/shop", content=body, headers=fresh)
    assert (first.status_code, again.status_code, other.status_code) == (202, 200, 202)
    assert again.json() == {"duplicate": True, "delivery": "delivery-77"}
    assert len(producer.sent) == 2  # the replay produced nothing
    assert len(stored) == 2
    kept = store.seen_at("webhook\x1f/webhooks/shop\x1fdelivery-77")
    assert kept is not None
    assert time.time() - kept < 60
