"""Prometheus metrics shared by every Ferry service, built once per registry.

Names are a closed set (``MetricName``) so that dashboards, alert rules and code agree; every
series carries ``service``. Each service gets its own :class:`ServiceMetrics` over its own
registry (the default one in production, a fresh one in tests).
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from ferry.errors import PermanentError

__all__ = ["CONTENT_TYPE_LATEST", "MetricName", "ServiceMetrics", "dead_letter_classes"]

MetricName = Literal[
    "ferry_events_in_total",
    "ferry_events_out_total",
    "ferry_dlq_total",
    "ferry_retries_total",
    "ferry_duplicates_total",
    "ferry_echoes_total",
    "ferry_filtered_total",
    "ferry_records_lost_to_retention_total",
    "ferry_offsets_skipped_total",
    "ferry_parked_total",
    "ferry_breaker_open",
    "ferry_processing_seconds",
    "ferry_consumer_lag",
    "ferry_http_requests_total",
    "ferry_target_calls_total",
    "ferry_ready",
    "ferry_reconcile_mismatches",
    "ferry_reconcile_checked",
    "ferry_reconcile_last_run_timestamp_seconds",
    "ferry_e2e_latency_seconds",
    "ferry_capture_last_poll_timestamp_seconds",
    "ferry_capture_watermark_timestamp_seconds",
]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# From a change at its source to the target's confirmation: polls, retries and parking included.
_E2E_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


def dead_letter_classes() -> list[str]:
    """The ``error_class`` values a dead letter can carry: every loaded PermanentError class.
    A stage creates its topics' ``ferry_dlq_total`` series with them at 0, so the first dead
    letter of a kind shows in a rate (a series that appears at 1 shows no increase)."""
    found: set[str] = set()
    todo: list[type[PermanentError]] = [PermanentError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub.__name__)
            todo.append(sub)
    return sorted(found)


class ServiceMetrics:
    """The metric families of one service."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.events_in = Counter(
            "ferry_events_in", "Events received", ["service", "topic"], registry=r
        )
        self.events_out = Counter(
            "ferry_events_out", "Events applied or produced", ["service", "topic"], registry=r
        )
        self.dlq = Counter(
            "ferry_dlq",
            "Events dead-lettered",
            ["service", "topic", "error_class"],
            registry=r,
        )
        self.retries = Counter(
            "ferry_retries", "Transient failures retried", ["service", "topic"], registry=r
        )
        self.duplicates = Counter(
            "ferry_duplicates",
            "Events recognised as already applied and skipped",
            ["service", "topic"],
            registry=r,
        )
        self.echoes = Counter(
            "ferry_echoes",
            "Changes Ferry itself wrote, recognised at capture and dropped",
            ["service", "topic"],
            registry=r,
        )
        self.filtered = Counter(
            "ferry_filtered",
            "Events a flow's mapping found nothing in for its target, acked and dropped",
            ["service", "topic"],
            registry=r,
        )
        self.records_lost = Counter(
            "ferry_records_lost_to_retention",
            "Records Kafka deleted by retention before the consumer group read them",
            ["service", "topic", "partition"],
            registry=r,
        )
        self.offsets_skipped = Counter(
            "ferry_offsets_skipped",
            "Offsets of a source partition never delivered to a stream stage between two that "
            "were, in one consumer generation (their events may be lost unless they were "
            "transaction markers)",
            ["service", "topic", "partition"],
            registry=r,
        )
        self.parked = Counter(
            "ferry_parked",
            "Records parked on the retry topic (still failing, or following a parked key)",
            ["service", "topic"],
            registry=r,
        )
        self.breaker_open = Gauge(
            "ferry_breaker_open",
            "1 while a target's circuit breaker holds its sinks back",
            ["service", "system"],
            registry=r,
        )
        self.processing = Histogram(
            "ferry_processing_seconds",
            "Time to process one event",
            ["service", "stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            "ferry_consumer_lag",
            "Records behind the end of the partition",
            ["service", "topic", "partition"],
            registry=r,
        )
        self.http_requests = Counter(
            "ferry_http_requests",
            "HTTP requests answered",
            ["service", "route", "status"],
            registry=r,
        )
        self.target_calls = Counter(
            "ferry_target_calls",
            "Calls made to a target system, by model (or resource) and method",
            ["service", "system", "model", "method"],
            registry=r,
        )
        self.ready = Gauge("ferry_ready", "1 when connected and assigned", ["service"], registry=r)
        self.reconcile_mismatches = Gauge(
            "ferry_reconcile_mismatches",
            "Records the target does not hold as the source says, at the last reconciliation",
            ["service", "flow", "kind"],
            registry=r,
        )
        self.reconcile_checked = Gauge(
            "ferry_reconcile_checked",
            "Source keys compared with the target at the last reconciliation",
            ["service", "flow"],
            registry=r,
        )
        self.reconcile_last_run = Gauge(
            "ferry_reconcile_last_run_timestamp_seconds",
            "When the last complete reconciliation ended (Unix time)",
            ["service", "flow"],
            registry=r,
        )
        self.e2e_latency = Histogram(
            "ferry_e2e_latency_seconds",
            "From the source event's time (ce_time) to the target's confirmation of the write",
            ["service", "flow"],
            buckets=_E2E_BUCKETS,
            registry=r,
        )
        self.capture_last_poll = Gauge(
            "ferry_capture_last_poll_timestamp_seconds",
            "When the capture last read a model's changes without error (Unix time)",
            ["service", "model"],
            registry=r,
        )
        self.capture_watermark = Gauge(
            "ferry_capture_watermark_timestamp_seconds",
            "The capture's watermark: the newest change it has emitted, by its write_date",
            ["service", "model"],
            registry=r,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
