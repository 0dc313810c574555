"""Odoo's automation webhook at the gateway: a touch, never content; the token never logged."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from ferry.errors import Unavailable
from producers.odoo.webhook import TOUCHES, touch_routes

TOKEN = secrets.token_urlsafe(24)


class Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.down = False

    async def send_and_wait(
        self, topic: str, *, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> Any:
        if self.down:
            raise Unavailable("Kafka unavailable")
        self.sent.append((topic, key, value))


def client(producer: Producer) -> httpx.AsyncClient:
    routes, topics = touch_routes(SecretStr(TOKEN), ["product.product", "stock.quant"], producer)
    assert [t.name for t in topics] == [TOUCHES]
    app = Starlette(routes=routes)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def test_a_webhook_becomes_a_touch_of_the_record_it_names() -> None:
    producer = Producer()
    body = {"_id": 42, "_model": "stock.quant", "_action": "write", "quantity": 999}
    async with client(producer) as http:
        response = await http.post(f"/webhooks/odoo/{TOKEN}", json=body)
    assert response.status_code == 202
    [(topic, key, value)] = producer.sent
    assert (topic, key) == (TOUCHES, b"stock.quant:42")
    assert json.loads(value) == {"model": "stock.quant", "id": 42, "action": "write"}


@pytest.mark.parametrize(
    ("token", "body", "status", "field"),
    [
        ("wrong", {"_id": 1, "_model": "stock.quant"}, 401, "token"),
        (TOKEN, {"_id": 1, "_model": "res.users"}, 404, "_model"),
        (TOKEN, {"_id": "1", "_model": "stock.quant"}, 400, "_id"),
        (TOKEN, {"_model": "stock.quant"}, 400, "_id"),
        (TOKEN, {"_id": 1}, 400, "_model"),
    ],
)
async def test_refusals_name_what_is_wrong(
    token: str, body: dict[str, Any], status: int, field: str
) -> None:
    producer = Producer()
    async with client(producer) as http:
        response = await http.post(f"/webhooks/odoo/{token}", json=body)
    assert (response.status_code, response.json()["field"]) == (status, field)
    assert producer.sent == []


async def test_malformed_json_is_400_and_kafka_down_is_503() -> None:
    producer = Producer()
    async with client(producer) as http:
        malformed = await http.post(f"/webhooks/odoo/{TOKEN}", content=b"{not json")
        producer.down = True
        down = await http.post(f"/webhooks/odoo/{TOKEN}", json={"_id": 1, "_model": "stock.quant"})
    assert malformed.status_code == 400
    assert (down.status_code, down.headers["Retry-After"]) == (503, "5")


async def test_the_token_never_reaches_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with client(Producer()) as http:
        await http.post(f"/webhooks/odoo/{TOKEN}", json={"_id": 1, "_model": "res.users"})
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert any("rejected" in line for line in ours)
    assert not [line for line in ours if TOKEN in line]
