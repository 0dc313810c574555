"""The publish API in-process: a fake producer, apps and an idempotency store without Kafka."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError
from starlette.applications import Starlette

from ferry.metrics import ServiceMetrics
from ferry.registry import load
from ferry.serde import SingleObjectSerde
from ferry.settings import KafkaSettings, PublishSettings
from producers.gateway.publish import IdempotencyStore, PublishApi, publish_types
from tests.unit.gateway.test_app import FakeProducer

TYPE = "shop.order.created"
TOPIC = "src.shop.orders"
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


@dataclass(frozen=True)
class App:
    name: str
    grants: frozenset[str]
    rate_per_s: float = 1000.0


@dataclass
class Apps:
    keys: dict[str, App] = field(default_factory=dict)

    def authenticate(self, key: str) -> App | None:
        return self.keys.get(key)


def order(n: int, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_id": str(n),
        "order_name": f"#{n}",
        "customer": {"email": f"c{n}@example.com", "first_name": "Ada", "last_name": None},
        "currency": "EUR",
        "lines": [{"sku": "SKU-001", "title": "Mug", "quantity": 2, "unit_price": "12.50"}],
        "totals": {"subtotal": "25.00", "tax": "0", "shipping": "0", "total": "25.00"},
        "created_at": "2026-12-01T08:00:00Z",
        "updated_at": "2026-12-01T08:00:00Z",
        "source_delivery_id": f"pos-{n}",
    }
    data.update(changes)
    return data


def event(n: int, data: Any = None, **attributes: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"evt-{n}",
        "source": "pos/store-1",
        "type": TYPE,
        "data": order(n) if data is None else data,
        **attributes,
    }


class Publisher:
    def __init__(self, *, rate: float = 1000.0, max_batch: int = 500) -> None:
        self.key = f"fy_pos_{secrets.token_urlsafe(16)}"
        self.other_key = f"fy_crm_{secrets.token_urlsafe(16)}"
        self.apps = Apps(
            {
                self.key: App("pos", frozenset({TYPE}), rate),
                self.other_key: App("crm", frozenset({"crm.thing"})),
            }
        )
        self.producer = FakeProducer()
        self.stored: list[tuple[str, bytes, bytes]] = []

        async def send(topic: str, key: bytes, value: bytes) -> None:
            self.stored.append((topic, key, value))

        self.store = IdempotencyStore(KafkaSettings(), "ferry.idempotency", 86_400, send)
        self.serde = SingleObjectSerde()
        self.metrics = ServiceMetrics("gateway")
        api = PublishApi(
            publish_types(load(environ={})),
            self.apps,
            self.store,
            self.producer,
            self.serde,
            self.metrics,
            PublishSettings(max_batch=max_batch),
            produce_timeout_s=0.2,
            retry_after_s=7,
        )
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=Starlette(routes=api.routes())),
            base_url="http://gateway",
        )

    async def post(
        self, body: Any, *, content_type: str = STRUCTURED, key: str | None = None, **headers: str
    ) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"content-type": content_type, "authorization": f"Bearer {key or self.key}"}
        return await self.client.post("/v1/events", content=raw, headers={**sent, **headers})

    def produced(self) -> list[dict[str, Any]]:
        return [self.serde.decode(value).record for _, _, value, _ in self.producer.sent]


@pytest.fixture
async def pub() -> AsyncIterator[Publisher]:
    publisher = Publisher()
    async with publisher.client:
        yield publisher


async def test_a_structured_event_is_produced_keyed_by_order_after_kafka_acknowledged(
    pub: Publisher,
) -> None:
    response = await pub.post(event(1))
    assert response.status_code == 202
    assert response.json() == {"ids": ["evt-1"]}
    [(topic, key, _, headers)] = pub.producer.sent
    assert topic == TOPIC
    assert key == b"shop:order:1"
    assert dict(headers)["ce_source"] == b"pos/store-1"
    [record] = pub.produced()
    assert record["lines"][0]["unit_price"] == Decimal("12.5000")
    assert record["customer"]["email"] == "c1@example.com"


async def test_binary_mode_takes_the_attributes_from_ce_headers(pub: Publisher) -> None:
    headers = {"ce-specversion": "1.0", "ce-id": "b-1", "ce-source": "pos", "ce-type": TYPE}
    response = await pub.post(order(2), content_type="application/json", **headers)
    assert response.status_code == 202
    assert response.json() == {"ids": ["b-1"]}
    missing = await pub.post(order(3), content_type="application/json")
    assert missing.status_code == 400
    assert missing.json()["field"] == "ce-specversion"


@pytest.mark.parametrize(
    ("key", "status"),
    [("", 401), ("fy_pos_wrong", 401), ("other", 403)],
)
async def test_keys_and_grants(pub: Publisher, key: str, status: int) -> None:
    chosen = pub.other_key if key == "other" else key
    response = await pub.client.post(
        "/v1/events",
        content=json.dumps(event(1)).encode(),
        headers={"content-type": STRUCTURED, "authorization": f"Bearer {chosen}"},
    )
    assert response.status_code == status
    assert chosen not in response.text or not chosen
    assert pub.producer.sent == []
    if status == 403:
        assert response.json()["field"] == "type"
        assert TYPE in response.json()["error"]


async def test_an_unknown_type_is_404_and_another_content_type_415(pub: Publisher) -> None:
    unknown = await pub.post(event(1, type="shop.thing.made"))
    assert unknown.status_code == 404
    assert unknown.json()["field"] == "type"
    text = await pub.post(event(1), content_type="text/plain")
    assert text.status_code == 415


@pytest.mark.parametrize(
    ("data", "field", "rule"),
    [
        (
            order(
                1, lines=[{"sku": "S", "title": "t", "quantity": 2, "unit_price": "1e999999999"}]
            ),
            "data.lines[0].unit_price",
            "decimal(18,4)",
        ),
        (
            order(1, lines=[{"sku": "S", "title": "t", "quantity": "2", "unit_price": "1"}]),
            "data.lines[0].quantity",
            "int32",
        ),
        (order(1, created_at="0001-01-01T00:00:00+01:00"), "data.created_at", None),
        (order(1, currency=None), "data.currency", "string"),
        (order(1, surprise=True), "data.surprise", "known field"),
        ({k: v for k, v in order(1).items() if k != "order_name"}, "data.order_name", "required"),
        ([1, 2], "data", "object"),
    ],
)
async def test_data_that_breaks_the_schema_is_422_naming_field_and_rule(
    pub: Publisher, data: Any, field: str, rule: str | None
) -> None:
    response = await pub.post(event(1, data=data))
    assert response.status_code == 422
    answer = response.json()
    assert answer["field"] == field
    if rule is not None:
        assert answer["rule"] == rule
    assert pub.producer.sent == []


@pytest.mark.parametrize(
    "body",
    [b"{", b"\xff\xfe{}", "\ufeff{}".encode(), b"[" * 5000 + b"]" * 5000, b"NaN"],
)
async def test_bodies_that_are_not_json_are_400(pub: Publisher, body: bytes) -> None:
    response = await pub.post(body)
    assert response.status_code == 400
    assert pub.producer.sent == []


async def test_a_repeat_gets_the_first_answer_and_produces_nothing(pub: Publisher) -> None:
    first = await pub.post(event(1))
    again = await pub.post(event(1))
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(pub.producer.sent) == 1
    assert len(pub.stored) == 1
    changed = await pub.post(event(1, data=order(1, currency="USD")))
    assert changed.status_code == 422
    assert changed.json()["rule"] == "one request per idempotency key"
    assert len(pub.producer.sent) == 1


async def test_an_idempotency_key_header_wins_over_source_and_id(pub: Publisher) -> None:
    first = await pub.post(event(1), **{"Idempotency-Key": "order-1-try"})
    second = await pub.post(event(2, id="evt-1b"), **{"Idempotency-Key": "order-2-try"})
    repeat = await pub.post(event(1, id="other-id"), **{"Idempotency-Key": "order-1-try"})
    assert [r.status_code for r in (first, second)] == [202, 202]
    assert repeat.status_code == 422  # same key, another body (the id differs)
    assert len(pub.producer.sent) == 2


async def test_concurrent_repeats_produce_once(pub: Publisher) -> None:
    pub.producer.delay_s = 0.05
    answers = await asyncio.gather(*(pub.post(event(7)) for _ in range(5)))
    assert [a.status_code for a in answers] == [202] * 5
    assert len(pub.producer.sent) == 1


async def test_kafka_not_acknowledging_is_503_with_retry_after_and_nothing_is_remembered(
    pub: Publisher,
) -> None:
    pub.producer.failures.append(KafkaConnectionError("broker away"))
    response = await pub.post(event(1))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert pub.stored == []
    retried = await pub.post(event(1))
    assert retried.status_code == 202
    assert len(pub.producer.sent) == 1


async def test_over_the_apps_rate_is_429_with_retry_after() -> None:
    publisher = Publisher(rate=2)
    async with publisher.client:
        answers = [await publisher.post(event(n)) for n in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 429, 429]
    assert int(answers[2].headers["retry-after"]) >= 1
    assert len(publisher.producer.sent) == 2


async def test_a_batch_answers_one_result_per_event_in_order(pub: Publisher) -> None:
    await pub.post(event(5))  # published before: its repeat in the batch produces nothing
    batch = [
        event(1),
        event(2, data=order(2, currency=7)),
        event(3, type="crm.thing"),
        event(5),
        {"specversion": "0.3", "id": "x"},
        event(6),
    ]
    response = await pub.post(batch, content_type=BATCH)
    assert response.status_code == 207
    answer = response.json()
    statuses = [(r["id"], r["status"]) for r in answer["results"]]
    assert statuses == [
        ("evt-1", 202),
        ("evt-2", 422),
        ("evt-3", 404),
        ("evt-5", 202),
        ("x", 400),
        ("evt-6", 202),
    ]
    assert answer["results"][1]["field"] == "[1].data.currency"
    assert (answer["accepted"], answer["rejected"]) == (3, 3)
    assert sorted(r["order_id"] for r in pub.produced()) == ["1", "5", "6"]


async def test_a_batch_over_the_limit_is_413() -> None:
    publisher = Publisher(max_batch=3)
    async with publisher.client:
        response = await publisher.post([event(n) for n in range(4)], content_type=BATCH)
    assert response.status_code == 413
    assert publisher.producer.sent == []


async def test_the_openapi_document_describes_the_publishable_types(pub: Publisher) -> None:
    response = await pub.client.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    data = schemas["shop_order_created"]
    assert "order_id" in data["required"]
    assert data["properties"]["created_at"]["format"] == "date-time"
    assert data["additionalProperties"] is False
