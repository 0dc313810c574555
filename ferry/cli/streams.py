"""``ferry streams``: run the stream processor (faust worker) until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from ferry.dotenv import load_dotenv
from ferry.errors import ConfigError
from ferry.settings import load_settings

__all__ = ["register", "streams_command"]


@click.command("streams")
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="ferry.yaml (default: $FERRY_CONFIG, else the embedded defaults).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def streams_command(config: Path | None, log_level: str) -> None:
    """Validate and map shop orders into Odoo sale orders (src.* -> sink.*)."""
    load_dotenv()
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from exc
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from streams.worker import run  # faust is slow to import: only when running

    sys.exit(run(settings, loglevel=log_level))


def register(cli: click.Group) -> None:
    cli.add_command(streams_command)
