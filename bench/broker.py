"""The broker a benchmark runs against: the one given, or its own on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.kafka import KafkaCluster


@contextmanager
def bench_broker(bootstrap: str | None, state_dir: Path) -> Iterator[str]:
    """Yield bootstrap servers; start (and finally stop) a single node when none is given."""
    if bootstrap:
        yield bootstrap
        return
    cluster = KafkaCluster.with_free_ports(state_dir, die_with_parent=True)
    cluster.start()
    try:
        yield cluster.bootstrap_servers
    finally:
        cluster.stop()


# A dead node is noticed in seconds, not the default 9 s (as the tests' 3-node cluster).
FAST_FAILOVER = {"broker.session.timeout.ms": "4000", "broker.heartbeat.interval.ms": "1000"}


@contextmanager
def bench_cluster(nodes: int, state_dir: Path) -> Iterator[KafkaCluster]:
    """Start (and finally stop) a cluster of ``nodes`` on free ports; with 3 nodes, topics get
    replication factor 3 and min ISR 2 (``infra.kafka``'s defaults for a cluster)."""
    cluster = KafkaCluster.with_free_ports(
        state_dir, nodes, die_with_parent=True, extra_config=FAST_FAILOVER if nodes > 1 else None
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
