"""``ferry streams``: run the stream processor (faust worker) until SIGINT/SIGTERM."""

from __future__ import annotations

import sys

import click

from ferry.cli.config import config_option, load_registry
from ferry.logs import configure as configure_logging

__all__ = ["register", "streams_command"]


@click.command("streams")
@config_option
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def streams_command(config_path: str | None, log_level: str) -> None:
    """Validate and map every enabled flow (src.* -> sink.*)."""
    registry = load_registry(config_path)
    configure_logging(log_level.upper())
    from streams.worker import run  # faust is slow to import: only when running

    sys.exit(run(registry, loglevel=log_level))


def register(cli: click.Group) -> None:
    cli.add_command(streams_command)
