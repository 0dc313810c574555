"""Every series a dashboard plots must be one that Ferry's services export."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from ferry.metrics import ServiceMetrics

DASHBOARDS = Path(__file__).resolve().parents[3] / "infra" / "grafana" / "dashboards"


def _exported_names() -> set[str]:
    metrics = ServiceMetrics("any", CollectorRegistry())
    names = {"up"}
    suffixes = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
    for family in metrics.registry.collect():
        names |= {family.name + suffix for suffix in suffixes[family.type]}
    return names


def test_dashboards_plot_only_exported_metrics() -> None:
    files = sorted(DASHBOARDS.glob("*.json"))
    assert files, "no dashboards"
    exported = _exported_names()
    for path in files:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        assert dashboard["uid"]
        assert dashboard["panels"]
        for panel in dashboard["panels"]:
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                used = set(re.findall(r"\b(ferry_[a-z_]+|up)\b", target["expr"]))
                assert used, target["expr"]
                assert used <= exported, f"{path.name}: {panel['title']}: {used - exported}"
