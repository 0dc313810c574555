"""Ferry against a Kafka that wants SASL over TLS (PLAIN or SCRAM), as a managed Kafka does.

The settings' security section (``kafka.security_protocol``, ``sasl_*``, ``ssl_*``) reaches every
client: producers, consumers, the admin that creates topics, and the streams worker's faust app.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from ferry.kafka import connection, make_consumer, make_producer
from ferry.settings import KafkaSettings
from ferry.topics import TopicSpec, ensure_topics
from tests.fixtures.kafka import SecureKafka

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

PASSWORD_VARIABLE = "FERRY_TEST_KAFKA_PASSWORD"


MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def settings_of(kafka: SecureKafka, mechanism: str = "PLAIN") -> KafkaSettings:
    return KafkaSettings.model_validate(
        {
            "bootstrap_servers": kafka.bootstrap,
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": mechanism,
            "sasl_username": kafka.username,
            "sasl_password": f"env:{PASSWORD_VARIABLE}",
            "ssl_cafile": str(kafka.cafile),
        }
    )


@pytest.fixture
def secure(kafka_sasl_ssl: SecureKafka, monkeypatch: pytest.MonkeyPatch) -> KafkaSettings:
    monkeypatch.setenv(PASSWORD_VARIABLE, kafka_sasl_ssl.password)
    return settings_of(kafka_sasl_ssl)


@pytest.mark.parametrize("mechanism", MECHANISMS)
async def test_topics_producers_and_consumers_work_over_sasl_ssl(
    secure: KafkaSettings, mechanism: str
) -> None:
    secure = secure.model_copy(update={"sasl_mechanism": mechanism})
    topic = f"secure-{uuid.uuid4().hex[:8]}"
    assert await ensure_topics(secure, [TopicSpec(topic, partitions=2)]) == [topic]
    producer = make_producer(secure, client_id="test")
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(topic, f"v{i}".encode(), key=f"k{i}".encode())
    finally:
        await producer.stop()
    consumer = make_consumer(secure, topic, group_id=f"g-{topic}", client_id="test")
    await consumer.start()
    got: dict[bytes, bytes] = {}
    try:
        async with asyncio.timeout(30):
            while len(got) < 10:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    got.update({r.key: r.value for r in records if r.key and r.value})
    finally:
        await consumer.stop()
    assert got == {f"k{i}".encode(): f"v{i}".encode() for i in range(10)}


@pytest.mark.parametrize("mechanism", MECHANISMS)
async def test_a_wrong_password_is_refused_and_not_shown(
    kafka_sasl_ssl: SecureKafka,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    mechanism: str,
) -> None:
    wrong = "not-the-password-" + uuid.uuid4().hex
    monkeypatch.setenv(PASSWORD_VARIABLE, wrong)
    settings = settings_of(kafka_sasl_ssl, mechanism)
    producer = AIOKafkaProducer(**connection(settings), request_timeout_ms=5000)
    with pytest.raises(KafkaError) as refused:
        await producer.start()
    await producer.stop()
    # aiokafka raises "Unable to bootstrap"; the reason is in its log
    assert "SaslAuthenticationFailed" in caplog.text
    assert wrong not in str(refused.value) + caplog.text


async def test_the_secure_listener_refuses_a_plaintext_client(
    kafka_sasl_ssl: SecureKafka,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_sasl_ssl.bootstrap, request_timeout_ms=3000)
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()


async def test_a_broker_certificate_from_an_unknown_ca_is_refused(
    secure: KafkaSettings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.support.tls import broker_identity

    stranger = broker_identity(tmp_path / "other")
    untrusting = secure.model_copy(update={"ssl_cafile": str(stranger.cafile)})
    producer = AIOKafkaProducer(**connection(untrusting), request_timeout_ms=3000)
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
async def test_the_streams_worker_runs_a_flow_over_sasl_ssl(
    secure: KafkaSettings, kafka_sasl_ssl: SecureKafka, tmp_path: Path, mechanism: str
) -> None:
    """The worker is given only the secure listener; its outputs and its group's offsets are
    read back through the broker's plaintext listener."""
    from tests.integration.streams.test_orders_stream import (
        event,
        only_flow,
        produce_backlog,
        start_worker,
    )
    from tests.support.flows import topics_of
    from tests.support.kafka_read import read_all, until_no_lag

    run = uuid.uuid4().hex[:8]
    name = f"secure-{run}"
    source, target = topics_of(name)
    await ensure_topics(secure, [TopicSpec(t, 3) for t in (source, target, f"dlq.{source}")])
    events = [event(f"{run}-{i}") for i in range(200)]
    keys = {e.key for e in events}
    await produce_backlog(kafka_sasl_ssl.plaintext, source, events)
    config = tmp_path / "ferry.yaml"
    config.write_text("flows:\n" + only_flow(name), encoding="utf-8")
    group = f"ferry-streams-{run}"
    worker = start_worker(
        kafka_sasl_ssl.bootstrap,
        tmp_path / "worker.log",
        {
            "FERRY__KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
            "FERRY__KAFKA__SASL_MECHANISM": mechanism,
            "FERRY__KAFKA__SASL_USERNAME": kafka_sasl_ssl.username,
            "FERRY__KAFKA__SASL_PASSWORD": f"env:{PASSWORD_VARIABLE}",
            "FERRY__KAFKA__SSL_CAFILE": str(kafka_sasl_ssl.cafile),
        },
        ("--config", str(config)),
        group=group,
    )
    try:
        await until_no_lag(kafka_sasl_ssl.plaintext, group, source, timeout_s=90)
        written = [r for r in await read_all(kafka_sasl_ssl.plaintext, target) if r.key in keys]
        dead = await read_all(kafka_sasl_ssl.plaintext, f"dlq.{source}")
    finally:
        worker.stop()
    log = worker.log_text()
    assert sorted(r.key for r in written) == sorted(keys), log[-2000:]
    assert dead == []
    assert kafka_sasl_ssl.password not in log
