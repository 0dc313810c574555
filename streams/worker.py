"""Run the streams worker in this process until SIGINT/SIGTERM (or a crash)."""

from __future__ import annotations

import asyncio
import logging

import faust

from ferry.registry import Registry
from ferry.topics import ensure_topics
from streams.app import StreamsApp

__all__ = ["run"]

log = logging.getLogger(__name__)


def run(registry: Registry) -> int:
    """Create the flows' topics, then run the faust worker; return the exit status.

    mode's worker installs SIGINT/SIGTERM handlers that stop the app cleanly (the consumer
    commits what was acked, the producer flushes). A crash (the DLQ brake, a failed send) is
    logged and gives exit status 1.
    """
    if not registry.enabled:
        log.critical("no flow is enabled: nothing to run")
        return 1
    streams = StreamsApp(registry)
    asyncio.run(ensure_topics(registry.settings.kafka, registry.topics()))
    # override_logging=False: mode would replace the root logger's handlers with its own
    # format; faust's, mode's and aiokafka's lines go through Ferry's (ferry.logs) instead,
    # which the caller configured.
    worker = faust.Worker(streams.app, quiet=True, redirect_stdouts=False, override_logging=False)
    # No start-up spinner: with one, faust sets the root logger to DEBUG (the spinner's handler
    # takes every record) and leaves it there, so every debug call of faust and aiokafka on
    # the hot path (several per event) builds a log record that is then thrown away.
    worker.spinner = None
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:
        log.critical("streams worker crashed: %s: %s", type(exc).__name__, exc)
        return 1
