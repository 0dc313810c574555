"""A sink service: every enabled sink of one system, each with its own runner and group.

``ferry sink <system>`` runs :func:`run_sinks`: one connection to the system (its
:class:`~ferry.sink.Target`), then for each enabled flow that writes into it a
:class:`~consumers.runner.SinkRunner` with consumer group ``ferry-sink-<flow>``, and one ops
server (``services.<system>-sink``) whose ``/readyz`` is ready when every runner is.

Exit status: 0 after SIGINT/SIGTERM (in-flight records finished, offsets committed), 1 when a
runner stopped on purpose (credentials refused, the DLQ brake, a bug) or the ops port could
not be served; configuration problems raise :class:`~ferry.errors.ConfigError` (exit 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Mapping

from consumers.runner import SinkRunner, SinkStopped, group_id
from ferry.breaker import BreakerState, CircuitBreaker
from ferry.errors import AuthenticationError, ConfigError, TransientError
from ferry.flow import SinkContext
from ferry.kafka import make_consumer, make_producer
from ferry.metrics import ServiceMetrics
from ferry.reconcile import Job, Reconcile, run_every
from ferry.registry import Registry, sink_service
from ferry.retry import Backoff
from ferry.service import ops_app, serve
from ferry.sink import Target
from ferry.topics import ensure_topics
from ferry.versions import VersionStore

__all__ = ["run_sinks", "run_until_signalled"]

log = logging.getLogger(__name__)


def _connect(registry: Registry, system: str, environ: Mapping[str, str] | None) -> Target:
    spec = registry.systems.get(system)
    if spec is None or spec.connect is None or not registry.sink_flows(system):
        known = ", ".join(registry.sink_systems()) or "none"
        raise ConfigError("sink", f"no enabled flow writes into {system!r} (sink systems: {known})")
    return spec.connect(registry.system_settings(spec), environ)


async def run_sinks(
    registry: Registry,
    system: str,
    *,
    environ: Mapping[str, str] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Run the sinks of ``system`` until ``stop`` is set (or forever); return the exit status."""
    service = sink_service(system)
    target = _connect(registry, system, environ)
    metrics = ServiceMetrics(service)
    kafka = registry.settings.kafka
    stores: list[VersionStore] = []
    try:
        try:
            await target.check_credentials()
        except TransientError as exc:  # the system is down at start: records wait and retry
            log.warning("%s is not reachable yet (%s); starting anyway", system, exc)
        except AuthenticationError as exc:
            print(f"{service}: {exc}", file=sys.stderr)
            return 1
        await ensure_topics(kafka, registry.topics())
        runners = []
        retry = registry.settings.retry
        breaker_open = metrics.breaker_open.labels(service, system)
        breaker = CircuitBreaker(
            system, on_change=lambda state: breaker_open.set(state is not BreakerState.CLOSED)
        )
        for flow in registry.sink_flows(system):
            assert flow.sink is not None
            versions = VersionStore(kafka, flow.name)
            await versions.start()
            stores.append(versions)
            sink = flow.sink(SinkContext(flow, target, versions, metrics))
            tuning = registry.settings.flow(flow.name)
            runners.append(
                SinkRunner(
                    sink,
                    make_consumer(
                        kafka,
                        group_id=group_id(flow.name),
                        client_id=f"{service}-{flow.name}",
                        max_poll_records=tuning.batch_size,
                        co_partitioned=True,
                    ),
                    make_producer(kafka, client_id=f"{service}-{flow.name}"),
                    serde=registry.serde(),
                    metrics=metrics,
                    backoff=Backoff.from_settings(retry),
                    brake=registry.brake(flow),
                    batch_size=tuning.batch_size,
                    breaker=breaker,
                    park=retry.park,
                    give_up_after_s=retry.give_up_after_s,
                    lane_backoff=Backoff(
                        base_delay_s=1.0, max_delay_s=max(retry.lane_max_delay_s, 1.0)
                    ),
                )
            )

        async def ready() -> bool:
            return all([await runner.ready() for runner in runners])

        where = registry.service(service)
        ops = asyncio.create_task(serve(ops_app(metrics, ready), where.host, where.port))
        work = [asyncio.create_task(runner.run()) for runner in runners]
        checks = [
            asyncio.create_task(run_every(every, reconcile, job, metrics))
            for every, reconcile, job in _reconciliations(registry, system, target)
        ]
        waiter = asyncio.create_task(stop.wait()) if stop is not None else None
        try:
            waiting = {*work, ops} | ({waiter} if waiter else set())
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            for runner in runners:  # one stopped (or the ops server, or a signal): all stop
                runner.stop()
            status = 0
            for task in work:
                try:
                    await task
                except SinkStopped as exc:
                    print(f"{service}: {exc}", file=sys.stderr)
                    status = 1
            if ops.done() and ops.exception() is not None:
                print(f"{service}: cannot serve /metrics: {ops.exception()}", file=sys.stderr)
                status = 1
            return status
        finally:
            for pending in (ops, waiter, *checks):
                if pending is not None and not pending.done():
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await pending
    finally:
        for store in stores:
            await store.stop()
        await target.aclose()


def _reconciliations(
    registry: Registry, system: str, target: Target
) -> list[tuple[float, Reconcile, Job]]:
    """The scheduled reconciliations of ``system``'s sink flows (interval, function, job)."""
    spec = registry.systems[system]
    if spec.reconcile is None:
        return []
    kafka = registry.settings.kafka
    return [
        (every, spec.reconcile, Job(kafka, flow, registry.serde(), target))
        for flow in registry.sink_flows(system)
        if (every := registry.settings.flow(flow.name).reconcile_every_s) > 0
    ]


async def run_until_signalled(registry: Registry, system: str) -> int:
    """:func:`run_sinks` until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        return await run_sinks(registry, system, stop=stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
