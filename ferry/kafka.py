"""Kafka client factories with Ferry's defaults, and the one translation of aiokafka errors.

Producers are idempotent with ``acks=all``: a webhook is acknowledged only once every in-sync
replica has the event. Consumers never auto-commit: offsets are committed after the effect.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.errors import KafkaError
from aiokafka.helpers import create_ssl_context
from aiokafka.structs import TopicPartition

from ferry.errors import FerryError, Rejected, Unavailable
from ferry.settings import KafkaSettings

__all__ = [
    "KafkaTarget",
    "connection",
    "kafka_settings",
    "make_consumer",
    "make_producer",
    "read_table",
    "ssl_context",
    "translate_kafka_error",
]

# Where a client connects: the settings, or only bootstrap servers (plaintext, no sign-in).
KafkaTarget: TypeAlias = "KafkaSettings | str"


def kafka_settings(target: KafkaTarget) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=target) if isinstance(target, str) else target


def ssl_context(settings: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context of ``settings`` (None: plaintext)."""
    if not settings.security_protocol.endswith("SSL"):
        return None
    context: ssl.SSLContext = create_ssl_context(
        cafile=settings.ssl_cafile,
        certfile=settings.ssl_certfile,
        keyfile=settings.ssl_keyfile,
    )
    context.check_hostname = settings.ssl_check_hostname
    return context


def connection(target: KafkaTarget, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The keyword arguments every aiokafka client of ``target`` takes: bootstrap servers,
    security protocol, SASL sign-in (the password read from its reference now) and TLS."""
    settings = kafka_settings(target)
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.security_protocol.startswith("SASL_"):
        assert settings.sasl_password is not None  # the settings' validator requires it
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password.resolve(
            "kafka.sasl_password", environ
        ).get_secret_value()
    return options


def make_producer(settings: KafkaSettings, *, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **connection(settings),
        client_id=f"{settings.client_id}-{client_id}",
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        request_timeout_ms=settings.request_timeout_ms,
    )


def make_consumer(
    settings: KafkaSettings,
    *topics: str,
    group_id: str,
    client_id: str,
    max_poll_records: int = 500,
    co_partitioned: bool = False,
) -> AIOKafkaConsumer:
    """A consumer that commits by hand. ``co_partitioned``: partition ``p`` of every
    subscribed topic goes to the same member (range assignment; the topics must have equal
    partition counts), as a sink needs for its topic and its retry topic."""
    assignors = (RangePartitionAssignor,) if co_partitioned else (RoundRobinPartitionAssignor,)
    return AIOKafkaConsumer(
        *topics,
        **connection(settings),
        client_id=f"{settings.client_id}-{client_id}",
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=max_poll_records,
        partition_assignment_strategy=assignors,
        request_timeout_ms=max(settings.request_timeout_ms, 40_000),
    )


def translate_kafka_error(exc: BaseException) -> FerryError:
    """aiokafka's errors in Ferry's tree: retriable ones (and timeouts) are transient."""
    if isinstance(exc, FerryError):
        return exc
    name = type(exc).__name__
    if isinstance(exc, KafkaError):
        if exc.retriable or name in {"KafkaConnectionError", "KafkaTimeoutError"}:
            return Unavailable(f"Kafka unavailable: {name}: {exc}")
        return Rejected(f"Kafka refused: {name}: {exc}")
    if isinstance(exc, TimeoutError | ConnectionError | OSError):
        return Unavailable(f"Kafka unavailable: {name}: {exc}")
    return Rejected(f"Kafka error: {name}: {exc}")


async def read_table(
    settings: KafkaSettings, topic: str, *, attempts: int = 50
) -> dict[bytes, bytes | None]:
    """The latest value of every key of a one-partition compacted ``topic``, read to its end.

    A freshly created topic may have no leader yet for a moment: the read is tried again
    (``attempts`` times, about 0.2 s apart) before it fails with ``Unavailable``.
    """
    tp = TopicPartition(topic, 0)
    last: BaseException | None = None
    for _ in range(attempts):
        consumer = AIOKafkaConsumer(
            **connection(settings),
            enable_auto_commit=False,
            client_id=f"{settings.client_id}-table-reader",
            request_timeout_ms=max(settings.request_timeout_ms, 2_000),
        )
        await consumer.start()
        try:
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            async with asyncio.timeout(5):
                end = (await consumer.end_offsets([tp]))[tp]
            table: dict[bytes, bytes | None] = {}
            while await consumer.position(tp) < end:
                async with asyncio.timeout(10):
                    batches = await consumer.getmany(tp, timeout_ms=1000)
                for records in batches.values():
                    for record in records:
                        if record.key is not None:
                            table[record.key] = record.value
            return table
        except (KafkaError, TimeoutError) as exc:
            last = exc
        finally:
            await consumer.stop()
        await asyncio.sleep(0.2)
    raise Unavailable(f"cannot read {topic}: {translate_kafka_error(last or TimeoutError())}")
