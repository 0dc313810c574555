"""The Grafana dashboards: what infra/grafana/build.py makes from the registry, well formed,
plotting only series Ferry's services export, provisioned where compose mounts them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from ferry.metrics import ServiceMetrics
from ferry.registry import load
from infra.grafana.build import DASHBOARDS_DIR, DATASOURCE_UID, dashboards, render

ROOT = Path(__file__).resolve().parents[3]
GRAFANA = ROOT / "infra" / "grafana"
# Grafana's own variables a query may use; any other $name must be a template variable.
BUILTINS = {"__rate_interval", "__interval", "__range", "__interval_ms", "__range_s"}


def _exported_names() -> set[str]:
    metrics = ServiceMetrics("any", CollectorRegistry())
    names = {"up"}
    suffixes = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
    for family in metrics.registry.collect():
        names |= {family.name + suffix for suffix in suffixes[family.type]}
    return names


def _committed() -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DASHBOARDS_DIR.glob("*.json"))
    }


@pytest.fixture(scope="module")
def committed() -> dict[str, dict[str, Any]]:
    found = _committed()
    assert found, "no dashboards"
    return found


def test_the_committed_dashboards_are_what_the_registry_makes() -> None:
    made = dashboards(load(environ={}))
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in DASHBOARDS_DIR.glob("*.json")}

    assert sorted(on_disk) == sorted(made), "run: python -m infra.grafana.build"
    for name, dashboard in made.items():
        assert on_disk[name] == render(dashboard), f"{name} is stale: python -m infra.grafana.build"


def test_an_overview_and_one_drill_down_per_flow() -> None:
    registry = load(environ={})
    made = dashboards(registry)

    assert "ferry-overview.json" in made
    for flow in registry.sink_flows():
        board = made[f"ferry-flow-{flow.name}.json"]
        exprs = " ".join(t["expr"] for p in board["panels"] for t in p["targets"])
        assert flow.source.topic in exprs
        assert flow.target.topic in exprs
        assert f'flow="{flow.name}"' in exprs


def test_dashboards_are_well_formed(committed: dict[str, dict[str, Any]]) -> None:
    uids = [d["uid"] for d in committed.values()]
    assert len(set(uids)) == len(uids)
    for name, dashboard in committed.items():
        assert 0 < len(dashboard["uid"]) <= 40, name  # Grafana's limit
        assert dashboard["title"], name
        assert dashboard["schemaVersion"] >= 36, name
        variables = {v["name"] for v in dashboard.get("templating", {}).get("list", [])}
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(set(ids)) == len(ids), f"{name}: panel ids repeat"
        cells: set[tuple[int, int]] = set()
        for panel in dashboard["panels"]:
            where = f"{name}: {panel['title']}"
            assert panel["type"] == "timeseries", where
            assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}, where
            grid = panel["gridPos"]
            assert min(grid["w"], grid["h"]) > 0, where
            assert grid["x"] + grid["w"] <= 24, where
            mine = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not cells & mine, f"{where} overlaps another panel"
            cells |= mine
            assert panel["targets"], where
            refs = [t["refId"] for t in panel["targets"]]
            assert len(set(refs)) == len(refs), where
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == DATASOURCE_UID, where
                assert target["expr"].count("(") == target["expr"].count(")"), where
                used = set(re.findall(r"\$\{?(\w+)", target["expr"]))
                assert used <= BUILTINS | variables, f"{where}: undefined {used - BUILTINS}"


def test_dashboards_plot_only_exported_metrics(committed: dict[str, dict[str, Any]]) -> None:
    exported = _exported_names()
    for name, dashboard in committed.items():
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                used = set(re.findall(r"\b(ferry_[a-z0-9_]+|up)\b", target["expr"]))
                assert used, target["expr"]
                assert used <= exported, f"{name}: {panel['title']}: {used - exported}"


def test_compose_provisions_the_dashboards_and_the_datasource() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    grafana = compose["services"]["grafana"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in grafana["volumes"])
    provider = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "ferry.yml").read_text(encoding="utf-8")
    )
    datasource = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )

    assert mounts["./infra/grafana/dashboards"] == provider["providers"][0]["options"]["path"]
    assert mounts["./infra/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert [d["uid"] for d in datasource["datasources"]] == [DATASOURCE_UID]
    assert "prometheus" in compose["services"]
