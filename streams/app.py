"""The streams worker's faust app: one :class:`~streams.stage.FlowStage` per enabled flow.

Each flow gets an agent on its source topic and a change-only table whose changelog is
``ferry.streams.<flow>.last-sent``; all share one producer and one consumer group
(``ferry-streams``). The web server serves ``/metrics``, ``/healthz`` and ``/readyz``.
How acks, order and the change-only filter hold: ``docs/streams.md``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import faust
from mode import CrashingSupervisor

from ferry.flow import Flow
from ferry.kafka import connection
from ferry.metrics import ServiceMetrics
from ferry.ownership import OwnershipGuard
from ferry.registry import STREAMS, Registry, changelog_topic
from ferry.serde import Serde
from ferry.service import OpsPages
from ferry.settings import KafkaSettings, StreamsSettings
from streams.commits import hold_unacked_heads
from streams.processor import FlowProcessor
from streams.refill import range_reader
from streams.seeking import cover_uncommitted_partitions
from streams.stage import FlowStage

__all__ = ["APP_ID", "MAX_IN_FLIGHT", "SERVICE", "StreamsApp"]

APP_ID = StreamsSettings().app_id  # the default consumer group
SERVICE = STREAMS
MAX_IN_FLIGHT = 1000  # events whose output may be unacknowledged at once, per flow


class _App(faust.App):
    """faust's app whose consumer starts an uncommitted partition at its beginning after
    every rebalance (``streams.seeking``) and never commits past an offset that was not acked
    (``streams.commits``)."""

    def _new_consumer(self) -> Any:
        consumer = super()._new_consumer()
        cover_uncommitted_partitions(consumer)
        hold_unacked_heads(consumer)
        return consumer


def _broker_urls(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",") if server]


def _credentials(kafka: KafkaSettings) -> dict[str, Any]:
    """faust's ``broker_credentials`` for ``kafka``'s security settings (none: plaintext)."""
    options = connection(kafka)
    protocol = options["security_protocol"]
    if protocol == "PLAINTEXT":
        return {}
    if protocol == "SSL":
        return {"broker_credentials": faust.SSLCredentials(options["ssl_context"])}
    credentials = faust.SASLCredentials(
        username=options["sasl_plain_username"],
        password=options["sasl_plain_password"],
        ssl_context=options.get("ssl_context"),
        mechanism=options["sasl_mechanism"],
    )
    return {"broker_credentials": credentials}


class StreamsApp:
    """The faust app with one stage per enabled flow of ``registry``."""

    def __init__(
        self,
        registry: Registry,
        *,
        metrics: ServiceMetrics | None = None,
        serde: Serde | None = None,
        app_id: str | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.registry = registry
        settings = registry.settings
        service = registry.service(SERVICE)
        self.metrics = metrics if metrics is not None else ServiceMetrics(SERVICE)
        serde = serde or registry.serde()
        guard = OwnershipGuard.of_flows(registry.ownership, registry.enabled)
        app_id = app_id or settings.streams.app_id
        self.app = _App(
            app_id,
            # The tables live in memory (their changelogs rebuild them); faust still makes a
            # data directory, which belongs with temporary files, not in the working directory.
            datadir=str(Path(tempfile.gettempdir()) / f"{app_id}-data"),
            broker=_broker_urls(settings.kafka.bootstrap_servers),
            value_serializer="raw",
            key_serializer="raw",
            producer_acks=-1,
            producer_linger=settings.streams.producer_linger_ms / 1000,
            topic_partitions=settings.kafka.partitions,
            topic_replication_factor=settings.kafka.replication_factor,
            web_enabled=True,
            web_bind=service.host,
            web_host=service.host,
            web_port=service.port,
            consumer_auto_offset_reset="earliest",
            agent_supervisor=CrashingSupervisor,
            table_standby_replicas=0,
            broker_session_timeout=settings.streams.session_timeout_s,
            broker_heartbeat_interval=settings.streams.heartbeat_interval_s,
            **_credentials(settings.kafka),
        )
        self.stages: dict[str, FlowStage] = {}
        for flow in registry.enabled:
            stage = FlowStage(
                self.app,
                flow,
                FlowProcessor(
                    flow,
                    guard,
                    serde,
                    max_future=timedelta(seconds=settings.flow(flow.name).max_future_s),
                ),
                self._table(flow),
                brake=registry.brake(flow),
                metrics=self.metrics,
                service=SERVICE,
                max_in_flight=max_in_flight,
                read_range=range_reader(settings.kafka),
                idle_check_s=settings.streams.idle_check_s,
            )
            source = self.app.topic(
                flow.source.topic,
                partitions=registry.partitions(flow),
                key_type=bytes,
                value_type=bytes,
            )
            self.app.agent(source, name=f"{SERVICE}.{flow.name}", concurrency=1)(stage.agent)
            self.stages[flow.name] = stage
        OpsPages(self.metrics, self.ready).add_to_faust(self.app)

    def _table(self, flow: Flow) -> Any:
        partitions = self.registry.partitions(flow)
        changelog = self.app.topic(
            changelog_topic(flow),
            partitions=partitions,
            compacting=True,
            deleting=False,
            internal=True,
            key_type=bytes,
            value_type=bytes,
            # Read only to rebuild the table, never by a stream: not acked, as faust's own
            # changelogs are (else its livelock check reports partitions "not started").
            acks=False,
        )
        return self.app.Table(
            f"{flow.name}.last-sent",
            default=None,
            partitions=partitions,
            changelog_topic=changelog,
            key_type=bytes,
            value_type=bytes,
        )

    def ready(self) -> bool:
        try:
            assigned = bool(self.app.consumer.assignment())
        except Exception:  # the consumer does not exist before the worker starts
            return False
        return assigned and not self.app.rebalancing and not self.app.should_stop

    def source_topics(self) -> Sequence[str]:
        return [stage.flow.source.topic for stage in self.stages.values()]
