"""Shared fixtures. Each area keeps its machinery in tests/fixtures/<area>.py and lists it here."""

from __future__ import annotations

# ---- real components: Kafka and Prometheus (tests/fixtures/kafka.py, prometheus.py) ----------
# kafka_bootstrap, kafka_cluster3, kafka_cluster_factory, prometheus
pytest_plugins = [
    "tests.fixtures.kafka",
    "tests.fixtures.prometheus",
    # ---- the whole platform (tests/fixtures/platform.py): platform, odoo, demo ----
    "tests.fixtures.platform",
]
