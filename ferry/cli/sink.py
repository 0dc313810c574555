"""``ferry sink <system>``: every enabled sink that writes into one owning system."""

from __future__ import annotations

import asyncio

import click

from ferry.cli.config import ConfigProblem, config_option, load_registry
from ferry.errors import ConfigError
from ferry.logs import configure as configure_logging
from ferry.registry import sink_service


@click.command("sink")
@click.argument("system")
@config_option
def sink(system: str, config_path: str | None) -> None:
    """Apply the sink topics of SYSTEM's flows to it, until SIGINT or SIGTERM.

    Each flow has its own consumer group (ferry-sink-<flow>); /metrics, /healthz and /readyz
    are served on services.<system>-sink.
    """
    from consumers.service import run_until_signalled

    registry = load_registry(config_path)
    configure_logging(sink_service(system), registry.settings.logging)
    try:
        status = asyncio.run(run_until_signalled(registry, system))
    except ConfigError as exc:
        raise ConfigProblem(exc) from None
    if status:
        raise SystemExit(status)


def register(cli: click.Group) -> None:
    cli.add_command(sink)
