"""The SDK against the publish API's contract, through httpx mock transports."""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ferry.client import AsyncFerryClient, Event, FerryClient, PublishError
from ferry.retry import Backoff

KEY = f"fy_pos_{secrets.token_urlsafe(24)}"
FAST = Backoff(max_attempts=4, base_delay_s=0.001, max_delay_s=0.002)


class Gateway:
    """Answers from a script, and keeps every request it got."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]


def client(gateway: Gateway, attempts: int = 4) -> FerryClient:
    return FerryClient(
        "http://gw",
        KEY,
        transport=httpx.MockTransport(gateway),
        backoff=FAST,
        max_attempts=attempts,
    )


def accepted(*ids: str) -> httpx.Response:
    return httpx.Response(202, json={"ids": list(ids)})


def test_one_event_is_sent_in_structured_mode_with_the_key() -> None:
    gateway = Gateway(accepted("e-1"))
    with client(gateway) as sdk:
        result = sdk.publish("shop.order.created", {"price": Decimal("12.3400")}, id="e-1")
    assert result.ids == ["e-1"]
    [request] = gateway.requests
    assert request.url.path == "/v1/events"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/cloudevents+json"
    assert "idempotency-key" not in request.headers  # the gateway keys it by source and id
    assert b'"price":12.3400' in request.content  # exact, a JSON number, not a float
    body = json.loads(request.content, parse_float=Decimal)
    assert (body["specversion"], body["id"], body["type"]) == ("1.0", "e-1", "shop.order.created")


@pytest.mark.parametrize(
    "first",
    [
        httpx.Response(429, headers={"retry-after": "0"}, json={"error": "slow down"}),
        httpx.Response(503, headers={"retry-after": "0"}, json={"error": "kafka away"}),
        httpx.ConnectError("refused"),
    ],
)
def test_a_retry_sends_the_same_body_and_idempotency_key(first: httpx.Response | Exception) -> None:
    gateway = Gateway(first, accepted("e-1"))
    with client(gateway) as sdk:
        assert sdk.publish("shop.order.created", {"n": 1}, idempotency_key="k-1").ids == ["e-1"]
    one, two = gateway.requests
    assert one.content == two.content  # the same source and id, the same time
    assert one.headers["idempotency-key"] == two.headers["idempotency-key"] == "k-1"


def test_a_refusal_raises_with_field_and_rule_and_is_not_retried() -> None:
    refused = httpx.Response(422, json={"error": "bad", "field": "data.currency", "rule": "string"})
    gateway = Gateway(refused)
    with client(gateway) as sdk, pytest.raises(PublishError) as caught:
        sdk.publish("shop.order.created", {})
    assert (caught.value.status, caught.value.field, caught.value.rule) == (
        422,
        "data.currency",
        "string",
    )
    assert len(gateway.requests) == 1
    assert KEY not in str(caught.value)
    assert KEY not in repr(sdk)


def test_the_attempts_run_out() -> None:
    gateway = Gateway(*(httpx.ConnectError("refused") for _ in range(3)))
    with (
        client(gateway, attempts=3) as sdk,
        pytest.raises(PublishError, match="could not be reached") as caught,
    ):
        sdk.publish("shop.order.created", {})
    assert caught.value.status == 0
    assert len(gateway.requests) == 3
    assert KEY not in str(caught.value)


def test_a_batch_gives_one_result_per_event() -> None:
    answer = {
        "accepted": 1,
        "rejected": 1,
        "results": [
            {"id": "a", "status": 202},
            {"id": "b", "status": 422, "error": "no", "field": "[1].data.x", "rule": "int32"},
        ],
    }
    gateway = Gateway(httpx.Response(207, json=answer))
    with client(gateway) as sdk:
        result = sdk.publish_batch([Event("t", {}, id="a"), {"type": "t", "data": {}, "id": "b"}])
    assert (result.accepted, result.rejected) == (1, 1)
    assert [r.accepted for r in result.results] == [True, False]
    assert result.results[1].field == "[1].data.x"
    [request] = gateway.requests
    assert request.headers["content-type"] == "application/cloudevents-batch+json"
    assert [e["id"] for e in gateway.bodies()[0]] == ["a", "b"]


async def test_the_async_client_retries_the_same_way() -> None:
    gateway = Gateway(httpx.Response(503, headers={"retry-after": "0"}), accepted("e-9"))
    sdk = AsyncFerryClient("http://gw", KEY, transport=httpx.MockTransport(gateway), backoff=FAST)
    async with sdk:
        result = await sdk.publish("shop.order.created", {"n": 9}, id="e-9")
    assert result.ids == ["e-9"]
    assert gateway.requests[0].content == gateway.requests[1].content
