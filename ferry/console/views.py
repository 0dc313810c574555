"""What each page shows, computed from what the sources returned: no I/O here.

The flows page reads the services' own counters, by the topics of each flow; rates come from
two scrapes (the previous one is kept in memory: :class:`Rates`), so the first view after a
start shows totals only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
from prometheus_client.parser import text_string_to_metric_families

from ferry.flow import Flow
from ferry.ops.dlq import Filters
from ferry.reconcile import KINDS
from ferry.registry import Registry
from ferry.timefmt import format_timestamp
from ferry.topics import retry

from .sources import Scrape

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "FilterProblem",
    "FlowView",
    "Rates",
    "ReconcileView",
    "Series",
    "ServiceView",
    "StageRow",
    "dlq_topics",
    "flow_views",
    "parse_filters",
    "reconcile_views",
    "series_of",
    "service_views",
]

IN, OUT = "ferry_events_in_total", "ferry_events_out_total"
DLQ, LAG, READY = "ferry_dlq_total", "ferry_consumer_lag", "ferry_ready"
MISMATCHES, CHECKED = "ferry_reconcile_mismatches", "ferry_reconcile_checked"
LAST_RUN = "ferry_reconcile_last_run_timestamp_seconds"
DEFAULT_LIMIT = 200
MAX_LIMIT = 10_000
FILTER_FIELDS = ("topic", "since", "until", "error_class", "field", "rule", "key", "limit")


@dataclass(frozen=True, slots=True)
class Series:
    service: str
    name: str
    labels: Mapping[str, str]
    value: float


def series_of(scrapes: Sequence[Scrape]) -> list[Series]:
    """Every sample of every readable scrape (a scrape that does not parse counts as none)."""
    found: list[Series] = []
    for scrape in scrapes:
        if scrape.text is None:
            continue
        try:
            for family in text_string_to_metric_families(scrape.text):
                for sample in family.samples:
                    found.append(
                        Series(scrape.service, sample.name, dict(sample.labels), sample.value)
                    )
        except ValueError:
            continue
    return found


# -- flows --------------------------------------------------------------------------------------


class Rates:
    """Per-second rates of counters between this scrape and the previous one."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._previous: tuple[float, dict[tuple[str, str, str], float]] | None = None
        self.seconds: float | None = None  # between the two scrapes compared last

    def observe(
        self, totals: dict[tuple[str, str, str], float]
    ) -> dict[tuple[str, str, str], float]:
        """``totals`` (service, metric, flow) → value; returns the rates known, by key."""
        now = self._clock()
        previous, self._previous = self._previous, (now, dict(totals))
        self.seconds = None
        if previous is None:
            return {}
        then, before = previous
        elapsed = now - then
        if elapsed < 0.5:  # too close to say anything: keep the older scrape as the base
            self._previous = previous
            return {}
        self.seconds = elapsed
        return {
            key: (value - before[key]) / elapsed
            for key, value in totals.items()
            if key in before and value >= before[key]  # a counter reset: no rate
        }


@dataclass
class StageRow:
    service: str
    events_in: float | None = None
    events_out: float | None = None
    in_rate: float | None = None
    out_rate: float | None = None
    dead_letters: float | None = None
    lag: float | None = None


@dataclass
class FlowView:
    name: str
    source: str
    target: str
    owner: str
    dlq_topics: list[str]
    stages: list[StageRow] = field(default_factory=list)
    mismatches: int | None = None

    @property
    def dead_letters(self) -> float:
        return sum(s.dead_letters or 0 for s in self.stages)

    @property
    def lag(self) -> float:
        return sum(s.lag or 0 for s in self.stages)


def _flow_topics(flow: Flow) -> set[str]:
    topics = {flow.source.topic, flow.target.topic}
    if flow.sink is not None:
        topics.add(retry(flow.target.topic))
    return topics


def dlq_topics(registry: Registry, flow: Flow | None = None) -> list[str]:
    """The dead-letter topics of ``flow`` (or of every enabled flow), in order."""
    names: dict[str, None] = {}
    for one in [flow] if flow is not None else registry.enabled:
        names[one.source_dlq] = None
        if one.sink is not None:
            names[one.target_dlq] = None
    return list(names)


def flow_views(registry: Registry, scrapes: Sequence[Scrape], rates: Rates) -> list[FlowView]:
    """Each enabled flow with, per service that counts its topics: events in and out (totals
    and rates), dead letters and consumer lag."""
    series = series_of(scrapes)
    order = [s.service for s in scrapes]
    views: list[FlowView] = []
    totals: dict[tuple[str, str, str], float] = {}
    for flow in registry.enabled:
        topics = _flow_topics(flow)
        view = FlowView(
            flow.name,
            flow.source.topic,
            flow.target.topic,
            flow.owner,
            dlq_topics(registry, flow),
        )
        rows: dict[str, StageRow] = {}
        for one in series:
            if one.labels.get("topic") not in topics or one.name not in (IN, OUT, DLQ, LAG):
                continue
            row = rows.setdefault(one.service, StageRow(one.service))
            attr = {IN: "events_in", OUT: "events_out", DLQ: "dead_letters", LAG: "lag"}[one.name]
            setattr(row, attr, (getattr(row, attr) or 0) + one.value)
        view.stages = sorted(rows.values(), key=lambda r: order.index(r.service))
        for row in view.stages:
            for metric, value in ((IN, row.events_in), (OUT, row.events_out)):
                if value is not None:
                    totals[(row.service, metric, flow.name)] = value
        mismatches = [
            s.value for s in series if s.name == MISMATCHES and s.labels.get("flow") == flow.name
        ]
        view.mismatches = int(sum(mismatches)) if mismatches else None
        views.append(view)
    known = rates.observe(totals)
    for view in views:
        for row in view.stages:
            row.in_rate = known.get((row.service, IN, view.name))
            row.out_rate = known.get((row.service, OUT, view.name))
    return views


# -- reconciliation -----------------------------------------------------------------------------


@dataclass
class ReconcileView:
    flow: str
    target: str
    can_run: bool
    service: str | None = None
    checked: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    last_run: str | None = None


def reconcile_views(registry: Registry, scrapes: Sequence[Scrape]) -> list[ReconcileView]:
    """Each enabled flow with a sink: the last scheduled reconciliation's gauges."""
    series = series_of(scrapes)
    views = []
    for flow in registry.sink_flows():
        system = flow.target.system
        view = ReconcileView(
            flow.name,
            flow.target.topic,
            can_run=system.reconcile is not None and system.connect is not None,
        )
        for one in series:
            if one.labels.get("flow") != flow.name:
                continue
            if one.name == MISMATCHES and one.labels.get("kind") in KINDS:
                view.counts[one.labels["kind"]] = int(one.value)
                view.service = one.service
            elif one.name == CHECKED:
                view.checked = int(one.value)
            elif one.name == LAST_RUN and one.value > 0:
                view.last_run = format_timestamp(datetime.fromtimestamp(one.value, UTC))
        views.append(view)
    return views


# -- services -----------------------------------------------------------------------------------


@dataclass
class ServiceView:
    name: str
    state: str
    pid: str
    uptime: str
    restarts: str
    last_exit: str
    ready: str
    lag: str


def _uptime(entry: Mapping[str, Any], now: float) -> str:
    if entry.get("state") != "running":
        return "-"
    seconds = max(0, int(now - float(entry.get("started_at", now))))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def service_views(
    status: Mapping[str, Any], scrapes: Sequence[Scrape], now: float | None = None
) -> list[ServiceView]:
    """``ferry status``'s table: the supervisor's record of each service, with readiness and
    lag from the services' own metrics."""
    moment = time.time() if now is None else now
    series = series_of(scrapes)
    scraped = {s.service: s for s in scrapes}
    views = []
    for entry in status.get("services", []):
        name = str(entry.get("name", "?"))
        ready = "-"
        if name in scraped:
            flags = [s.value for s in series if s.service == name and s.name == READY]
            if scraped[name].text is None:
                ready = "no"
            elif flags:
                ready = "yes" if all(v == 1 for v in flags) else "no"
        lags = [s.value for s in series if s.service == name and s.name == LAG]
        code = entry.get("last_exit_code")
        views.append(
            ServiceView(
                name,
                str(entry.get("state", "?")),
                str(entry.get("pid", "-")),
                _uptime(entry, moment),
                str(entry.get("restarts", 0)),
                "-" if code is None else str(code),
                ready,
                f"{sum(lags):.0f}" if lags else "-",
            )
        )
    return views


# -- dead letters -------------------------------------------------------------------------------


class FilterProblem(ValueError):
    """A filter the page cannot use: the field and what it accepts."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name
        self.problem = problem


def _time(query: Mapping[str, str], name: str) -> datetime | None:
    from ferry.cli.dlq import parse_time

    value = query.get(name, "").strip() or None
    try:
        return parse_time(value, name)
    except click.BadParameter as exc:
        raise FilterProblem(name, exc.message) from None


def parse_filters(
    query: Mapping[str, str], known_topics: Sequence[str]
) -> tuple[list[str], Filters, int]:
    """The topics to read, the filters and the number of (newest) dead letters to show.
    Raises :class:`FilterProblem` naming the field."""
    topic = query.get("topic", "").strip()
    if topic:
        name = topic if topic.startswith("dlq.") else f"dlq.{topic}"
        if name not in known_topics:
            raise FilterProblem(
                "topic",
                f"{topic!r} is not a dead-letter topic of an enabled flow "
                f"(known: {', '.join(known_topics)})",
            )
        topics = [name]
    else:
        topics = list(known_topics)
    raw_limit = query.get("limit", "").strip()
    limit = DEFAULT_LIMIT
    if raw_limit:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise FilterProblem("limit", f"a whole number from 1 to {MAX_LIMIT}")
        limit = int(raw_limit)
    filters = Filters(
        since=_time(query, "since"),
        until=_time(query, "until"),
        error_class=query.get("error_class", "").strip() or None,
        field=query.get("field", "").strip() or None,
        rule=query.get("rule", "").strip() or None,
        key=query.get("key", "").strip() or None,
    )
    return topics, filters, limit
