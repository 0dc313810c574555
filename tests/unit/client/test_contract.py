"""The SDK against a gateway that keeps the contract (``fakegateway``): the request's shape,
what is tried again and what is not, the JSON it writes, the key kept out of sight."""

from __future__ import annotations

import pickle
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ferry.client import (
    AsyncFerryClient,
    BatchPublished,
    Event,
    EventResult,
    FerryClient,
    PublishError,
)
from ferry.client._json import dumps, loads
from tests.unit.client.fakegateway import KEY, QUICK, FakeGateway, refusal

URL = "http://gateway.test:8080"
ORDER = {"order_id": "A-1", "total": Decimal("19.99"), "lines": [{"sku": "SKU-001", "qty": 2}]}


def client(gateway: FakeGateway, **options: Any) -> FerryClient:
    options.setdefault("backoff", QUICK)
    return FerryClient(URL, KEY, transport=gateway.transport(), **options)


def async_client(gateway: FakeGateway, **options: Any) -> AsyncFerryClient:
    options.setdefault("backoff", QUICK)
    return AsyncFerryClient(URL, KEY, transport=gateway.transport(), **options)


# -- one event -------------------------------------------------------------------------------


def test_publish_sends_one_structured_cloudevent() -> None:
    gateway = FakeGateway()
    with client(gateway, source="pos-paris") as ferry:
        result = ferry.publish("shop.order.created", ORDER, subject="A-1")
    assert gateway.calls == 1
    request = gateway.requests[0]
    assert request.url == httpx.URL(f"{URL}/v1/events")
    assert request.headers["content-type"] == "application/cloudevents+json"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    event = gateway.json()
    assert set(event) == {"specversion", "id", "source", "type", "subject", "time", "data"}
    assert (event["specversion"], event["source"], event["type"], event["subject"]) == (
        "1.0",
        "pos-paris",
        "shop.order.created",
        "A-1",
    )
    assert event["data"] == ORDER
    assert uuid.UUID(event["id"]).version == 4
    assert event["time"].endswith("Z")
    sent = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - sent) < timedelta(seconds=5)
    assert result.ids == [event["id"]]
    assert result.replayed is False


def test_an_idempotency_key_is_sent_when_given() -> None:
    gateway = FakeGateway()
    with client(gateway) as ferry:
        result = ferry.publish("shop.order.created", ORDER, id="order-1", idempotency_key="k-1")
    assert gateway.requests[0].headers["idempotency-key"] == "k-1"
    assert result.ids == ["order-1"]


def test_a_long_or_non_ascii_id_needs_no_header() -> None:
    """The gateway keys an event by source and id: nothing derived from them goes in a
    header (which would be too long for a 250-character id, or not ASCII)."""
    gateway = FakeGateway()
    with client(gateway) as ferry:
        ferry.publish("shop.order.created", ORDER, id="x" * 250)
        ferry.publish("shop.order.created", ORDER, id="commande-\u00e9t\u00e9")
    assert [r.headers.get("idempotency-key") for r in gateway.requests] == [None, None]
    assert gateway.json()["id"] == "commande-\u00e9t\u00e9"


def test_a_repeat_answered_again_is_reported_as_replayed() -> None:
    answer = httpx.Response(202, json={"ids": ["o-1"]}, headers={"Idempotent-Replayed": "true"})
    gateway = FakeGateway(script=[answer])
    with client(gateway) as ferry:
        assert ferry.publish("shop.order.created", ORDER, id="o-1").replayed


@pytest.mark.parametrize(
    "first",
    [
        refusal(429, "over the rate", headers={"Retry-After": "1"}),
        refusal(503, "Kafka did not acknowledge", headers={"Retry-After": "5"}),
        httpx.Response(503),  # no body, no Retry-After
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("server disconnected without sending a response"),
    ],
    ids=["429", "503", "503-bare", "connect", "read-timeout", "disconnected"],
)
def test_a_transient_failure_is_tried_again_with_the_same_request(first: Any) -> None:
    gateway = FakeGateway(script=[first, first])
    with client(gateway) as ferry:
        result = ferry.publish("shop.order.created", ORDER, idempotency_key="order-1-v1")
    assert gateway.calls == 3
    assert len(set(gateway.bodies())) == 1  # the same id, source and time: the same key
    assert {r.headers["idempotency-key"] for r in gateway.requests} == {"order-1-v1"}
    assert result.ids == [gateway.json()["id"]]


@pytest.mark.parametrize(
    ("status", "field", "rule"),
    [
        (400, "data", "JSON"),
        (401, None, None),
        (403, "type", "granted types"),
        (404, "type", None),
        (413, None, None),
        (415, "Content-Type", None),
        (422, "data.lines[0].qty", "int32"),
        (500, None, None),
    ],
)
def test_any_other_refusal_raises_at_once(status: int, field: str | None, rule: str | None) -> None:
    gateway = FakeGateway(script=[refusal(status, "refused", field, rule)])
    with client(gateway) as ferry, pytest.raises(PublishError) as raised:
        ferry.publish("shop.order.created", ORDER)
    assert gateway.calls == 1
    error = raised.value
    assert (error.status, error.error, error.field, error.rule) == (status, "refused", field, rule)


def test_a_wrong_key_is_a_401_from_the_gateway() -> None:
    gateway = FakeGateway()
    ferry = FerryClient(URL, "fy_pos_wrong", transport=gateway.transport(), backoff=QUICK)
    with ferry, pytest.raises(PublishError) as raised:
        ferry.publish("shop.order.created", ORDER)
    assert raised.value.status == 401
    assert gateway.calls == 1


def test_a_body_that_is_not_json_is_tolerated() -> None:
    html = httpx.Response(502, text="<html><body>Bad Gateway</body></html>")
    gateway = FakeGateway(script=[html, html, httpx.Response(418, text="")])
    with client(gateway, max_attempts=2) as ferry:
        with pytest.raises(PublishError) as raised:
            ferry.publish("shop.order.created", ORDER)
        assert raised.value.status == 502
        assert "Bad Gateway" in raised.value.error
        assert raised.value.field is None
        with pytest.raises(PublishError, match="418: I'm a Teapot"):
            ferry.publish("shop.order.created", ORDER)


def test_max_attempts_is_the_budget_then_the_last_refusal_is_raised() -> None:
    busy = refusal(429, "over the rate", headers={"Retry-After": "1"})
    gateway = FakeGateway(script=[busy] * 10)
    with client(gateway, max_attempts=4) as ferry, pytest.raises(PublishError) as raised:
        ferry.publish("shop.order.created", ORDER)
    assert gateway.calls == 4
    assert raised.value.status == 429


def test_an_unreachable_gateway_raises_status_0_with_the_reason() -> None:
    gateway = FakeGateway(script=[httpx.ConnectError("connection refused")] * 3)
    with client(gateway, max_attempts=3) as ferry, pytest.raises(PublishError) as raised:
        ferry.publish("shop.order.created", ORDER)
    assert gateway.calls == 3
    assert raised.value.status == 0
    assert "ConnectError (connection refused)" in str(raised.value)


def test_a_url_httpx_cannot_use_is_not_tried_again() -> None:
    ferry = FerryClient("ftp://gateway.test", KEY, backoff=QUICK)
    with ferry, pytest.raises(PublishError, match="UnsupportedProtocol"):
        ferry.publish("shop.order.created", ORDER)
    gateway = FakeGateway(script=[httpx.LocalProtocolError("illegal header")] * 6)
    with client(gateway) as ferry, pytest.raises(PublishError, match="LocalProtocolError"):
        ferry.publish("shop.order.created", ORDER)
    assert gateway.calls == 1


def test_the_key_is_in_no_repr_and_no_exception() -> None:
    echoing = refusal(401, f"unknown key {KEY}")  # even a gateway that echoes it
    gateway = FakeGateway(script=[echoing, httpx.ConnectError(f"refused for {KEY}")])
    texts: list[str] = []
    with client(gateway, max_attempts=1) as ferry:
        texts += [repr(ferry), str(ferry), repr(vars(ferry)), repr(vars(ferry._core))]
        for _ in range(2):
            with pytest.raises(PublishError) as raised:
                ferry.publish("shop.order.created", ORDER)
            error = raised.value
            texts += [str(error), repr(error), error.error, repr(error.__cause__)]
    assert repr(ferry) == f"FerryClient({URL!r}, source='ferry-client')"
    assert not [t for t in texts if KEY in t or KEY[7:] in t]
    assert any("<app key>" in t for t in texts)


@pytest.mark.parametrize("bad", ["", "   ", "fy_pos_ab cd", "fy_pos_\u00e9t\u00e9", "fy_pos_a\nb"])
def test_a_key_that_cannot_be_a_header_is_refused_without_showing_it(bad: str) -> None:
    with pytest.raises(ValueError) as raised:
        FerryClient(URL, bad)
    assert not bad.strip() or bad.strip() not in str(raised.value)


def test_a_key_file_s_newline_is_dropped() -> None:
    gateway = FakeGateway()
    with FerryClient(URL, f"{KEY}\n", transport=gateway.transport()) as ferry:
        ferry.publish("shop.order.created", ORDER)
    assert gateway.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_the_publish_error_survives_pickling() -> None:
    copy = pickle.loads(pickle.dumps(PublishError(422, "bad", "data.x", "int32")))
    assert (copy.status, copy.error, copy.field, copy.rule) == (422, "bad", "data.x", "int32")
    assert str(copy) == "422: bad (data.x: int32)"


# -- numbers, moments, text ------------------------------------------------------------------


def test_decimals_are_json_numbers_with_exactly_their_digits() -> None:
    data = {
        "total": Decimal("12345678901234.5678"),
        "tiny": Decimal("0.0001"),
        "scaled": Decimal("19.990"),
        "exp": Decimal("1E+2"),
        "negative": Decimal("-0.10"),
        "float": 0.1,
        "int": 10**30,
    }
    text = dumps(data)
    assert text == (
        '{"total":12345678901234.5678,"tiny":0.0001,"scaled":19.990,"exp":1E+2,'
        '"negative":-0.10,"float":0.1,"int":1000000000000000000000000000000}'
    )
    assert loads(text)["total"] == Decimal("12345678901234.5678")
    gateway = FakeGateway()
    with client(gateway) as ferry:
        ferry.publish("shop.order.created", data)
    assert b'"total":12345678901234.5678' in gateway.requests[0].content


def test_moments_are_rfc_3339_and_text_is_escaped_ascii() -> None:
    paris = timezone(timedelta(hours=2))
    data = {
        "at": datetime(2026, 11, 1, 14, 30, 15, 123000, tzinfo=paris),
        "on": date(2026, 11, 1),
        "ref": uuid.UUID(int=1),
        "name": "Zo\u00eb \u2603",
        "lone": "\ud800",  # the gateway refuses it by its own rule; the client still sends
    }
    assert dumps(data) == (
        '{"at":"2026-11-01T12:30:15.123000Z","on":"2026-11-01",'
        '"ref":"00000000-0000-0000-0000-000000000001","name":"Zo\\u00eb \\u2603",'
        '"lone":"\\ud800"}'
    )


@pytest.mark.parametrize(
    ("data", "error", "where"),
    [
        ({"x": float("nan")}, ValueError, "x"),
        ({"x": [Decimal("Infinity")]}, ValueError, r"x\[0\]"),
        ({"x": Decimal("NaN")}, ValueError, "x"),
        ({"at": datetime(2026, 1, 1)}, ValueError, "at: a naive datetime"),
        ({"x": {1: 2}}, TypeError, "x: a key must be a string"),
        ({"x": {1, 2}}, TypeError, "x: set"),
    ],
)
def test_what_json_cannot_hold_is_refused_before_sending(
    data: Any, error: type[Exception], where: str
) -> None:
    gateway = FakeGateway()
    with client(gateway) as ferry, pytest.raises(error, match=where):
        ferry.publish("shop.order.created", data)
    assert gateway.calls == 0


def test_nesting_is_bounded() -> None:
    deep: Any = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper than 64"):
        dumps(deep)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.publish("", {}),
        lambda c: c.publish("t", {}, id=""),
        lambda c: c.publish("t", {}, id="x" * 257),
        lambda c: c.publish("t", {}, subject=" "),
        lambda c: c.publish("t", {}, idempotency_key=""),
        lambda c: c.publish("t", {}, idempotency_key="caf\u00e9"),
        lambda c: c.publish("t", {}, idempotency_key="k" * 257),
    ],
)
def test_attributes_the_gateway_would_refuse_raise_value_error(call: Any) -> None:
    gateway = FakeGateway()
    with client(gateway) as ferry, pytest.raises(ValueError):
        call(ferry)
    assert gateway.calls == 0


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        FerryClient(URL, KEY, max_attempts=0)


# -- batches ---------------------------------------------------------------------------------


def test_a_batch_is_one_request_with_one_result_per_event_in_order() -> None:
    gateway = FakeGateway(
        refuse={"b": (422, "qty is not an int", "[1].data.lines[0].qty", "int32")}
    )
    events: list[Event | dict[str, Any]] = [
        Event("shop.order.created", ORDER, id="a", subject="A-1"),
        {"type": "shop.order.created", "data": ORDER, "id": "b"},
        {"type": "shop.order.created", "data": {"order_id": "C"}},
    ]
    with client(gateway) as ferry:
        result = ferry.publish_batch(events)
    assert gateway.calls == 1
    request = gateway.requests[0]
    assert request.headers["content-type"] == "application/cloudevents-batch+json"
    assert "idempotency-key" not in request.headers
    sent = gateway.json()
    assert [e["id"] for e in sent][:2] == ["a", "b"]
    assert uuid.UUID(sent[2]["id"]).version == 4
    assert sent[0]["subject"] == "A-1"
    assert {e["specversion"] for e in sent} == {"1.0"}
    assert (result.accepted, result.rejected) == (2, 1)
    assert result.results == [
        EventResult("a", 202),
        EventResult("b", 422, "qty is not an int", "[1].data.lines[0].qty", "int32"),
        EventResult(sent[2]["id"], 202),
    ]


def test_a_whole_batch_over_the_rate_is_tried_again_and_a_413_raises() -> None:
    gateway = FakeGateway(
        script=[
            refusal(429, "over the rate", headers={"Retry-After": "2"}),
            refusal(413, "a batch holds at most 500 events", "body", "at most 500 events"),
        ]
    )
    with client(gateway) as ferry, pytest.raises(PublishError) as raised:
        ferry.publish_batch([Event("t", {}, id="a")])
    assert gateway.calls == 2
    assert gateway.bodies()[0] == gateway.bodies()[1]
    assert (raised.value.status, raised.value.rule) == (413, "at most 500 events")


def test_an_empty_batch_sends_nothing_and_a_bad_event_raises_before_sending() -> None:
    gateway = FakeGateway()
    with client(gateway) as ferry:
        assert ferry.publish_batch([]) == BatchPublished(0, 0, [])
        with pytest.raises(ValueError, match="needs type and data"):
            ferry.publish_batch([Event("t", {}), {"type": "t"}])
        with pytest.raises(ValueError, match="unknown key subjet"):
            ferry.publish_batch([{"type": "t", "data": {}, "subjet": "x"}])
    assert gateway.calls == 0


def test_a_batch_answer_that_does_not_match_the_events_raises() -> None:
    short = httpx.Response(207, json={"accepted": 1, "results": [{"id": "a", "status": 202}]})
    gateway = FakeGateway(script=[short])
    with client(gateway) as ferry, pytest.raises(PublishError, match="1 results for 2 events"):
        ferry.publish_batch([Event("t", {}, id="a"), Event("t", {}, id="b")])


# -- the async client ------------------------------------------------------------------------


async def test_async_retries_429_503_and_connection_errors_with_the_same_request() -> None:
    gateway = FakeGateway(
        script=[
            refusal(429, "over the rate", headers={"Retry-After": "1"}),
            refusal(503, "kafka", headers={"Retry-After": "1"}),
            httpx.ConnectError("refused"),
        ]
    )
    async with async_client(gateway) as ferry:
        result = await ferry.publish("shop.order.created", ORDER, idempotency_key="k")
    assert gateway.calls == 4
    assert len(set(gateway.bodies())) == 1
    assert {r.headers["idempotency-key"] for r in gateway.requests} == {"k"}
    assert result.ids == [gateway.json()["id"]]


async def test_async_422_is_not_retried_and_the_budget_holds() -> None:
    gateway = FakeGateway(refuse={"bad": (422, "no", "data.total", "decimal(18,4)")})
    async with async_client(gateway, max_attempts=2) as ferry:
        with pytest.raises(PublishError) as raised:
            await ferry.publish("shop.order.created", ORDER, id="bad")
        assert gateway.calls == 1
        assert (raised.value.field, raised.value.rule) == ("data.total", "decimal(18,4)")
        gateway.script = [refusal(503, "kafka")] * 3
        with pytest.raises(PublishError) as raised:
            await ferry.publish("shop.order.created", ORDER)
        assert gateway.calls == 3
        assert raised.value.status == 503
        assert KEY not in repr(ferry) + str(raised.value) + repr(raised.value)


async def test_async_batch_results() -> None:
    gateway = FakeGateway(refuse={"b": (403, "not granted", "[1].type", "granted types")})
    async with async_client(gateway) as ferry:
        result = await ferry.publish_batch(
            [Event("shop.order.created", {}, id="a"), {"type": "x", "data": {}, "id": "b"}]
        )
        assert await ferry.publish_batch([]) == BatchPublished(0, 0, [])
    assert (result.accepted, result.rejected) == (1, 1)
    assert result.results[1] == EventResult("b", 403, "not granted", "[1].type", "granted types")
