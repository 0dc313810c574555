"""Ferry's Grafana dashboards as code: an overview and one drill-down per flow, from the registry.

``python -m infra.grafana.build`` writes them to ``infra/grafana/dashboards/`` (where compose
provisions them from); ``tests/unit/deploy/test_dashboards.py`` fails when the files there are not
what this module makes, so a new flow is one run of it away from its dashboard.

Metrics carry ``service`` and ``topic``; a flow is its topics (source, target, their retry
topic), so per-flow series are selected by topic here, where the registry knows them. Only the
end-to-end latency carries ``flow`` itself (the sink knows its flow).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consumers.runner import group_id
from ferry.flow import Flow
from ferry.registry import GATEWAY, STREAMS, Registry, load, sink_service
from ferry.topics import retry
from streams.app import APP_ID

__all__ = ["DASHBOARDS_DIR", "DATASOURCE_UID", "dashboards", "main", "render"]

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
DATASOURCE_UID = "ferry-prometheus"  # provisioning/datasources/prometheus.yml
RATE = "$__rate_interval"
_DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_UID}


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: Sequence[Query]
    unit: str = "short"


def _rate(metric: str, selector: str = "", by: str = "") -> str:
    grouped = f"sum by ({by}) " if by else "sum"
    return f"{grouped}(rate({metric}{{{selector}}}[{RATE}]))".replace("{}", "")


def _quantile(q: float, selector: str, by: str) -> str:
    return (
        f"histogram_quantile({q}, sum by (le, {by}) "
        f"(rate(ferry_e2e_latency_seconds_bucket{{{selector}}}[{RATE}])))"
    ).replace("{}", "")


def _topics(*topics: str) -> str:
    return "|".join(t.replace(".", "\\\\.") for t in topics)


def _sink(flow: Flow) -> str:
    return sink_service(flow.target.system.name)


# -- the overview ---------------------------------------------------------------------------


def overview_panels(registry: Registry) -> list[Panel]:
    flows = registry.sink_flows()
    sinks = sorted({_sink(f) for f in flows})
    lag_by_group = [
        Query(
            f'label_replace(sum by (topic) (ferry_consumer_lag{{service="{STREAMS}"}}), '
            f'"group", "{APP_ID}", "", "")',
            "{{group}} {{topic}}",
        )
    ] + [
        Query(
            f'label_replace(sum by (topic) (ferry_consumer_lag{{service="{_sink(f)}", '
            f'topic="{f.target.topic}"}}), "group", "{group_id(f.name)}", "", "")',
            "{{group}} {{topic}}",
        )
        for f in flows
    ]
    return [
        Panel(
            "Events in per flow",
            "Events each flow's streams stage read from its source topic, per second.",
            [
                Query(
                    _rate(
                        "ferry_events_in_total", f'service="{STREAMS}", topic="{f.source.topic}"'
                    ),
                    f.name,
                )
                for f in registry.enabled
            ],
        ),
        Panel(
            "Events out per flow",
            "Events each flow's sink applied to the target (confirmed writes), per second.",
            [
                Query(
                    _rate(
                        "ferry_events_out_total", f'service="{_sink(f)}", topic="{f.target.topic}"'
                    ),
                    f.name,
                )
                for f in flows
            ],
        ),
        Panel(
            "End-to-end latency p50 / p99",
            "From the change at its source (ce_time) to the target's confirmation, per flow.",
            [
                Query(_quantile(0.5, "", "flow"), "p50 {{flow}}"),
                Query(_quantile(0.99, "", "flow"), "p99 {{flow}}"),
            ],
            unit="s",
        ),
        Panel(
            "Dead letters per second by error class",
            "Events sent to a dlq.<topic>: inspect with `ferry dlq list`, fix, replay.",
            [Query(_rate("ferry_dlq_total", by="error_class"), "{{error_class}}")],
        ),
        Panel(
            "Consumer lag per group (records)",
            "Records behind the end of each consumed topic, per consumer group.",
            lag_by_group,
        ),
        Panel(
            "Retries and parked records per second",
            "Transient failures retried, and records parked on a retry.<topic> for later.",
            [
                Query(_rate("ferry_retries_total", by="service, topic"), "retry {{topic}}"),
                Query(_rate("ferry_parked_total", by="service, topic"), "parked {{topic}}"),
            ],
        ),
        Panel(
            "Target calls and errors per second",
            "Calls the sinks make to their targets, transient failures (retried) and "
            "permanent ones (dead-lettered by a sink).",
            [
                Query(
                    _rate("ferry_target_calls_total", by="system, model, method"),
                    "call {{system}} {{model}}.{{method}}",
                ),
                Query(
                    _rate("ferry_retries_total", f'service=~"{"|".join(sinks)}"', "service"),
                    "transient {{service}}",
                ),
                Query(
                    _rate(
                        "ferry_dlq_total", f'service=~"{"|".join(sinks)}"', "service, error_class"
                    ),
                    "permanent {{service}} {{error_class}}",
                ),
            ],
        ),
        Panel(
            "Circuit breakers open",
            "1 while a target's circuit breaker holds its sinks back (the target is down).",
            [Query("max by (service, system) (ferry_breaker_open)", "{{system}} ({{service}})")],
        ),
        Panel(
            "Capture freshness",
            "Seconds since the capture last polled each Odoo model without error, and the age "
            "of the newest change it emitted (its watermark; grows while nothing changes).",
            [
                Query(
                    "time() - max by (model) (ferry_capture_last_poll_timestamp_seconds)",
                    "since last poll {{model}}",
                ),
                Query(
                    "time() - max by (model) (ferry_capture_watermark_timestamp_seconds)",
                    "watermark age {{model}}",
                ),
            ],
            unit="s",
        ),
        Panel(
            "Gateway answers per second by status",
            "Webhooks and published events answered by the gateway; 503: Kafka unavailable.",
            [
                Query(
                    _rate("ferry_http_requests_total", f'service="{GATEWAY}"', "status"),
                    "{{status}}",
                )
            ],
        ),
        Panel(
            "Services ready",
            "1 when a service is connected and assigned (its /readyz).",
            [Query("max by (service) (ferry_ready)", "{{service}}")],
        ),
    ]


# -- one flow -------------------------------------------------------------------------------


def flow_panels(flow: Flow) -> list[Panel]:
    source, target, sink = flow.source.topic, flow.target.topic, _sink(flow)
    system = flow.target.system.name
    return [
        Panel(
            "Events per second",
            "In: read from the source topic; mapped: sent to the sink topic; applied: written "
            "to the target; duplicates: already there; filtered: nothing for the target.",
            [
                Query(
                    _rate("ferry_events_in_total", f'service="{STREAMS}", topic="{source}"'), "in"
                ),
                Query(
                    _rate("ferry_events_out_total", f'service="{STREAMS}", topic="{target}"'),
                    "mapped",
                ),
                Query(
                    _rate("ferry_events_out_total", f'service="{sink}", topic="{target}"'),
                    "applied",
                ),
                Query(
                    _rate("ferry_duplicates_total", f'topic="{target}"', "service"),
                    "duplicates {{service}}",
                ),
                Query(
                    _rate("ferry_filtered_total", f'service="{STREAMS}", topic="{source}"'),
                    "filtered",
                ),
            ],
        ),
        Panel(
            "End-to-end latency",
            "From the change at its source (ce_time) to the target's confirmation.",
            [
                Query(_quantile(q, f'flow="{flow.name}"', "flow"), f"p{round(q * 100)}")
                for q in (0.5, 0.9, 0.99)
            ],
            unit="s",
        ),
        Panel(
            "Dead letters per second",
            f"dlq.{source} (validation, mapping, decoding in streams) and dlq.{target} "
            "(refused by the sink or the target), by error class.",
            [
                Query(
                    _rate(
                        "ferry_dlq_total",
                        f'topic=~"{_topics(source, target, retry(target))}"',
                        "service, error_class",
                    ),
                    "{{service}} {{error_class}}",
                )
            ],
        ),
        Panel(
            "Consumer lag (records)",
            "Records behind the end of the source topic (streams) and the sink topic (sink).",
            [
                Query(
                    "sum by (service, topic) "
                    f'(ferry_consumer_lag{{topic=~"{_topics(source, target)}"}})',
                    "{{service}} {{topic}}",
                )
            ],
        ),
        Panel(
            "Retries and parked records per second",
            f"Transient failures on {target} retried, and records parked on {retry(target)}.",
            [
                Query(
                    _rate("ferry_retries_total", f'topic=~"{_topics(target, retry(target))}"'),
                    "retries",
                ),
                Query(_rate("ferry_parked_total", f'topic="{target}"'), "parked"),
            ],
        ),
        Panel(
            "Processing time p95",
            "One event in the streams stage of this flow, and in the sinks of its target.",
            [
                Query(
                    "histogram_quantile(0.95, sum by (le) (rate(ferry_processing_seconds_bucket"
                    f'{{service="{STREAMS}", stage="{flow.name}"}}[{RATE}])))',
                    "streams",
                ),
                Query(
                    "histogram_quantile(0.95, sum by (le) (rate(ferry_processing_seconds_bucket"
                    f'{{service="{sink}", stage="sink"}}[{RATE}])))',
                    sink,
                ),
            ],
            unit="s",
        ),
        Panel(
            f"Circuit breaker of {system}",
            f"1 while {system} is judged down and its sinks wait.",
            [Query(f'max by (service) (ferry_breaker_open{{system="{system}"}})', "{{service}}")],
        ),
    ]


# -- JSON -----------------------------------------------------------------------------------


def _panel_json(panel: Panel, ident: int) -> dict[str, Any]:
    index = ident - 1
    return {
        "id": ident,
        "type": "timeseries",
        "title": panel.title,
        "description": panel.description,
        "datasource": dict(_DATASOURCE),
        "gridPos": {"x": 12 * (index % 2), "y": 8 * (index // 2), "w": 12, "h": 8},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
        "targets": [
            {
                "refId": chr(ord("A") + n),
                "datasource": dict(_DATASOURCE),
                "expr": query.expr,
                "legendFormat": query.legend,
            }
            for n, query in enumerate(panel.queries)
        ],
    }


def _dashboard(uid: str, title: str, panels: Iterable[Panel], links: list[str]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["ferry"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "10s",
        "time": {"from": "now-30m", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": ["ferry"], "title": "Ferry", "asDropdown": True}]
        if links
        else [],
        "panels": [_panel_json(p, n) for n, p in enumerate(panels, start=1)],
    }


def dashboards(registry: Registry) -> dict[str, dict[str, Any]]:
    """File name → dashboard, for every dashboard of ``registry``'s flows."""
    made = {
        "ferry-overview.json": _dashboard(
            "ferry-overview", "Ferry — overview", overview_panels(registry), ["ferry"]
        )
    }
    for flow in registry.sink_flows():
        made[f"ferry-flow-{flow.name}.json"] = _dashboard(
            f"ferry-flow-{flow.name}"[:40],
            f"Ferry — flow {flow.name}",
            flow_panels(flow),
            ["ferry"],
        )
    return made


def render(dashboard: dict[str, Any]) -> str:
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    registry = load(environ={})
    made = dashboards(registry)
    for stale in DASHBOARDS_DIR.glob("ferry-*.json"):
        if stale.name not in made:
            stale.unlink()
    for name, dashboard in made.items():
        (DASHBOARDS_DIR / name).write_text(render(dashboard), encoding="utf-8")
        print(f"wrote {DASHBOARDS_DIR.name}/{name}")


if __name__ == "__main__":
    main()
