"""``ferry streams``: run the stream processor (faust worker) until SIGINT/SIGTERM."""

from __future__ import annotations

import sys

import click

from ferry.cli.config import config_option, load_registry
from ferry.logs import LEVELS
from ferry.logs import configure as configure_logging
from ferry.registry import STREAMS

__all__ = ["register", "streams_command"]


@click.command("streams")
@config_option
@click.option(
    "--log-level",
    default=None,
    type=click.Choice(LEVELS),
    help="Ferry's loggers at this level [default: logging.level]",
)
def streams_command(config_path: str | None, log_level: str | None) -> None:
    """Validate and map every enabled flow (src.* -> sink.*)."""
    registry = load_registry(config_path)
    configure_logging(STREAMS, registry.settings.logging, level=log_level)
    from streams.worker import run  # faust is slow to import: only when running

    sys.exit(run(registry))


def register(cli: click.Group) -> None:
    cli.add_command(streams_command)
