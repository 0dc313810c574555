"""The gateway served by uvicorn against a real broker: what it answers is what Kafka holds."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ferry.envelope import CloudEvent, header
from ferry.registry import load
from ferry.serde import SingleObjectSerde
from infra.kafka.ports import free_ports
from producers.gateway.runner import run_gateway
from producers.shop.sample import sample_order, signed_request
from producers.shop.webhook import CE_SOURCE, EVENT_TYPE, TOPIC, order_record
from tests.fixtures.kafka import KafkaClusterFactory

pytestmark = pytest.mark.kafka

SECRET = secrets.token_urlsafe(24)  # generated per run: no secret lives in code
CE_HEADERS = (
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "content-type",
    "traceparent",
)


def free_port() -> int:
    return free_ports(1)[0]


@contextlib.asynccontextmanager
async def running_gateway(bootstrap: str, *, produce_timeout_s: float = 3.0) -> AsyncIterator[str]:
    """``run_gateway`` on a free port; yields the base URL, stops (and flushes) on exit."""
    registry = load(
        environ={
            "FERRY__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "FERRY__KAFKA__REQUEST_TIMEOUT_MS": "3000",
            "FERRY__KAFKA__PARTITIONS": "3",
        }
    )
    port = free_port()
    stop, started = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        run_gateway(
            registry,
            environ={"FERRY_SHOP_WEBHOOK_SECRET": SECRET, "FERRY_ODOO_WEBHOOK_TOKEN": SECRET},
            host="127.0.0.1",
            port=port,
            stop=stop,
            started=started,
            produce_timeout_s=produce_timeout_s,
        )
    )
    waiting = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiting}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    assert started.is_set(), "the gateway did not start listening"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


@pytest.fixture(scope="module")
async def gateway_url(kafka_bootstrap: str) -> AsyncIterator[str]:
    async with running_gateway(kafka_bootstrap) as url:
        yield url


async def partitions(bootstrap: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(60):  # a topic just created takes a moment to show in the metadata
            [described] = await admin.describe_topics([TOPIC])
            found = [TopicPartition(TOPIC, p["partition"]) for p in described["partitions"]]
            if found and not described["error_code"]:
                return found
            await asyncio.sleep(0.25)
    finally:
        await admin.close()
    raise AssertionError(f"{TOPIC} does not exist")


@contextlib.asynccontextmanager
async def topic_reader(bootstrap: str) -> AsyncIterator[AIOKafkaConsumer]:
    parts = await partitions(bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(parts)
        yield consumer
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    async with topic_reader(bootstrap) as consumer:
        offsets: dict[TopicPartition, int] = await consumer.end_offsets(consumer.assignment())
        return offsets


async def records_between(
    bootstrap: str, start: dict[TopicPartition, int], keys: set[bytes] | None = None
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record written after ``start`` up to the current end (optionally only ``keys``)."""
    async with topic_reader(bootstrap) as consumer:
        end = await consumer.end_offsets(consumer.assignment())
        found: list[ConsumerRecord[bytes, bytes]] = []
        for tp in consumer.assignment():
            consumer.seek(tp, start.get(tp, 0))
        pending = {tp for tp in end if end[tp] > start.get(tp, 0)}
        async with asyncio.timeout(30):
            while pending:
                batches = await consumer.getmany(*pending, timeout_ms=1000)
                for tp, records in batches.items():
                    found += [r for r in records if r.offset < end[tp]]
                    if records and records[-1].offset >= end[tp] - 1:
                        pending.discard(tp)
        return [r for r in found if keys is None or r.key in keys]


def new_order_ids(count: int) -> list[int]:
    base = uuid.uuid4().int % 10**12 * 1000
    return [base + n for n in range(count)]


async def post(
    client: httpx.AsyncClient, url: str, order: dict[str, Any], **kw: Any
) -> httpx.Response:
    body, headers = signed_request(order, SECRET, **kw)
    return await client.post(f"{url}/webhooks/shop", content=body, headers=headers)


async def test_n_signed_orders_become_exactly_n_events(
    kafka_bootstrap: str, gateway_url: str
) -> None:
    serde = SingleObjectSerde()
    ids = new_order_ids(8)
    orders = {oid: sample_order(oid) for oid in ids}
    deliveries = {oid: str(uuid.uuid4()) for oid in ids}
    before = await end_offsets(kafka_bootstrap)
    async with httpx.AsyncClient(timeout=30) as client:
        answers = {
            oid: await post(client, gateway_url, orders[oid], delivery_id=deliveries[oid])
            for oid in ids
        }
    assert {a.status_code for a in answers.values()} == {202}
    keys = {f"shop:order:{oid}".encode() for oid in ids}
    records = await records_between(kafka_bootstrap, before, keys)
    assert len(records) == len(ids)
    for record in records:
        oid = int(record.key.decode().rsplit(":", 1)[1])
        names = [name for name, _ in record.headers]
        assert set(CE_HEADERS) <= set(names)
        event = CloudEvent.from_headers(record.headers)
        assert event.id == answers[oid].json()["id"]
        assert answers[oid].json()["topic"] == TOPIC
        assert (event.source, event.type) == (CE_SOURCE, EVENT_TYPE)
        assert event.subject == record.key.decode()
        assert header(record.headers, "content-type") == "application/avro"
        assert len((header(record.headers, "traceparent") or "").split("-")) == 4
        decoded = serde.decode(record.value)
        assert decoded.event_type == EVENT_TYPE
        assert decoded.record == order_record(orders[oid], delivery_id=deliveries[oid])


async def test_a_redelivery_is_answered_once_and_a_resend_carries_the_same_ce_id(
    kafka_bootstrap: str, gateway_url: str
) -> None:
    """The same delivery id again is a replay: 200, nothing produced. The same order sent
    again without a delivery id travels, with the same ce_id (downstream drops it)."""
    [with_delivery, without] = new_order_ids(2)
    before = await end_offsets(kafka_bootstrap)
    async with httpx.AsyncClient(timeout=30) as client:
        order_a, order_b = sample_order(with_delivery), sample_order(without)
        first = await post(client, gateway_url, order_a, delivery_id="redelivered-1")
        again = await post(client, gateway_url, order_a, delivery_id="redelivered-1")
        plain = [await post(client, gateway_url, order_b) for _ in range(2)]
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"duplicate": True, "delivery": "redelivered-1"}
    assert [p.status_code for p in plain] == [202, 202]
    assert plain[0].json()["id"] == plain[1].json()["id"]
    keys = {f"shop:order:{with_delivery}".encode(), f"shop:order:{without}".encode()}
    records = await records_between(kafka_bootstrap, before, keys)
    assert len(records) == 3  # the redelivery produced nothing; the resends travel
    assert len({header(r.headers, "ce_id") for r in records}) == 2


async def test_a_bad_signature_produces_nothing(kafka_bootstrap: str, gateway_url: str) -> None:
    [oid] = new_order_ids(1)
    before = await end_offsets(kafka_bootstrap)
    body, headers = signed_request(sample_order(oid), SECRET)
    async with httpx.AsyncClient(timeout=30) as client:
        tampered = await client.post(
            f"{gateway_url}/webhooks/shop",
            content=body.replace(b'"EUR"', b'"USD"'),
            headers=headers,
        )
        unsigned = await client.post(
            f"{gateway_url}/webhooks/shop",
            content=body,
            headers={k: v for k, v in headers.items() if k != "X-Shopify-Hmac-Sha256"},
        )
        # A valid one afterwards, so the read below has something to wait for.
        [marker] = new_order_ids(1)
        assert (await post(client, gateway_url, sample_order(marker))).status_code == 202
    assert tampered.status_code == unsigned.status_code == 401
    assert SECRET not in tampered.text
    assert await records_between(kafka_bootstrap, before, {f"shop:order:{oid}".encode()}) == []


async def test_no_broker_is_503_with_retry_after_fast() -> None:
    dead = f"127.0.0.1:{free_port()}"
    async with running_gateway(dead, produce_timeout_s=1.0) as url, httpx.AsyncClient() as client:
        loop = asyncio.get_running_loop()
        began = loop.time()
        response = await post(client, url, sample_order(1))
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        assert "error" in response.json()
        assert loop.time() - began < 2.5
        assert (await client.get(f"{url}/healthz")).status_code == 200
        assert (await client.get(f"{url}/readyz")).status_code == 503


async def wait_accepted(client: httpx.AsyncClient, url: str, order: dict[str, Any]) -> str:
    """Post until the gateway accepts (Kafka is back); every other answer must be a 503."""
    async with asyncio.timeout(90):
        while True:
            response = await post(client, url, order)
            if response.status_code == 202:
                return str(response.json()["id"])
            assert response.status_code == 503
            assert "Retry-After" in response.headers
            await asyncio.sleep(0.5)


@pytest.mark.slow
async def test_kafka_away_then_back_the_gateway_keeps_running_and_recovers(
    kafka_cluster_factory: KafkaClusterFactory,
) -> None:
    cluster = kafka_cluster_factory(1)
    node = cluster.nodes[0].node_id
    await asyncio.to_thread(cluster.kill_node, node)
    bootstrap = cluster.bootstrap_servers
    accepted: dict[bytes, str] = {}
    [away_at_start, after_start, away_later, after_restart] = new_order_ids(4)
    async with (
        running_gateway(bootstrap, produce_timeout_s=1.5) as url,
        httpx.AsyncClient(timeout=30) as client,
    ):
        # 1. Kafka is away when the gateway starts: it listens anyway and answers 503.
        response = await post(client, url, sample_order(away_at_start))
        assert response.status_code == 503
        assert "Retry-After" in response.headers
        assert (await client.get(f"{url}/readyz")).status_code == 503
        # 2. Kafka comes: the gateway connects, creates the topics and accepts.
        await cluster.start_node_async(node)
        accepted[f"shop:order:{after_start}".encode()] = await wait_accepted(
            client, url, sample_order(after_start)
        )
        assert (await client.get(f"{url}/readyz")).status_code == 200
        # 3. Kafka goes away while running: 503 within the produce timeout, still alive.
        await asyncio.to_thread(cluster.kill_node, node)
        response = await post(client, url, sample_order(away_later))
        assert response.status_code == 503
        assert "Retry-After" in response.headers
        assert (await client.get(f"{url}/healthz")).status_code == 200
        # 4. Kafka is back: accepted again, without restarting the gateway.
        await cluster.start_node_async(node)
        accepted[f"shop:order:{after_restart}".encode()] = await wait_accepted(
            client, url, sample_order(after_restart)
        )
    records = await records_between(bootstrap, {}, set(accepted))
    assert {r.key: header(r.headers, "ce_id") for r in records} == accepted
