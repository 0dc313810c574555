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
