"""The operator console (``ferry console``): server-rendered pages over the flows' metrics,
the dead letters (browse, inspect, replay), reconciliation and the supervisor's status.

:func:`~ferry.console.app.create_app` builds the Starlette app from a
:class:`~ferry.console.sources.Sources` (what comes from Kafka, the services and the targets);
:func:`~ferry.console.service.run_console` serves it with the live sources.
"""

from __future__ import annotations

from ferry.console.app import create_app
from ferry.console.sources import LiveSources, Scrape, Sources

__all__ = ["LiveSources", "Scrape", "Sources", "create_app"]
