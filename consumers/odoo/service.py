"""The Odoo sink service: settings in, a running :class:`SinkRunner` out, until a signal.

Exit status: 0 after SIGINT/SIGTERM (in-flight records finished, offsets committed), 1 when the
runner stopped on purpose (Odoo refused the API key, the DLQ brake tripped, a bug), 2 for a
configuration problem (raised to the caller as :class:`~ferry.errors.ConfigError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Mapping

from consumers.odoo.sink import TOPIC, OdooSaleOrderSink
from consumers.runner import SinkRunner, SinkStopped, group_id
from ferry.errors import AuthenticationError, ConfigError, TransientError
from ferry.kafka import make_consumer, make_producer
from ferry.metrics import ServiceMetrics
from ferry.odoo import OdooClient
from ferry.retry import Backoff
from ferry.serde import SingleObjectSerde
from ferry.service import ops_app, serve
from ferry.settings import Settings
from ferry.topics import TopicSpec, dlq, ensure_topics

__all__ = ["SERVICE", "key_hint", "run", "run_until_signalled"]

log = logging.getLogger("ferry.sink.odoo")

SERVICE = "odoo-sink"


def key_hint(settings: Settings) -> str:
    """Where the operator fixes the Odoo API key: the env variable or the secret file."""
    ref = settings.odoo.api_key
    return ref.target if ref.kind == "env" else f"the secret file {ref.target} (odoo.api_key)"


async def run(
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Run the sink until ``stop`` is set (or forever); return the exit status.

    Raises :class:`ConfigError` when the API key cannot be resolved (before any connection).
    """
    odoo = OdooClient.from_settings(settings.odoo, environ=environ)
    metrics = ServiceMetrics(SERVICE)
    sink = OdooSaleOrderSink(odoo, key_hint=key_hint(settings))
    kafka = settings.kafka
    try:
        try:
            await sink.check_credentials()
        except TransientError as exc:  # Odoo down at start: records wait and retry
            log.warning("Odoo is not reachable yet (%s); starting anyway", exc)
        except AuthenticationError as exc:
            print(f"odoo-sink: {exc}", file=sys.stderr)
            return 1
        specs = [
            TopicSpec.for_name(n, kafka.partitions, kafka.replication_factor)
            for n in (TOPIC, dlq(TOPIC))
        ]
        await ensure_topics(kafka.bootstrap_servers, specs)
        runner = SinkRunner(
            sink,
            make_consumer(kafka, group_id=group_id(sink.name), client_id=SERVICE),
            make_producer(kafka, client_id=SERVICE),
            serde=SingleObjectSerde(),
            metrics=metrics,
            backoff=Backoff.from_settings(settings.retry),
            brake=settings.dlq,
        )
        ops = asyncio.create_task(
            serve(ops_app(metrics, runner.ready), settings.odoo_sink.host, settings.odoo_sink.port)
        )
        work = asyncio.create_task(runner.run())
        waiter = asyncio.create_task(stop.wait()) if stop is not None else None
        try:
            waiting = {work, ops} | ({waiter} if waiter else set())
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if ops.done() and not work.done():
                runner.stop()  # the ops server could not start (port in use): stop cleanly
            elif not work.done():
                runner.stop()
            try:
                await work
            except SinkStopped as exc:
                print(f"odoo-sink: {exc}", file=sys.stderr)
                return 1
            if ops.done() and ops.exception() is not None:
                print(f"odoo-sink: cannot serve /metrics: {ops.exception()}", file=sys.stderr)
                return 1
            return 0
        finally:
            for task in (ops, waiter):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
    finally:
        await odoo.aclose()


async def run_until_signalled(settings: Settings) -> int:
    """:func:`run` until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        return await run(settings, stop=stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def main(config_path: str | None = None) -> int:
    """Load ``.env`` and the settings, resolve the key, run; the process's exit status."""
    from ferry.dotenv import load_dotenv
    from ferry.settings import load_settings

    load_dotenv(".env")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Odoo call is noise
    try:
        settings = load_settings(config_path)
        settings.odoo.api_key.resolve("odoo.api_key")
    except ConfigError as exc:
        print(f"odoo-sink: configuration: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_until_signalled(settings))
    except ConfigError as exc:
        print(f"odoo-sink: configuration: {exc}", file=sys.stderr)
        return 2
