"""``ferry console``: the operator console, until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from ferry.cli.config import ConfigProblem, config_option, load_registry
from ferry.errors import ConfigError
from ferry.logs import configure as configure_logging
from ferry.registry import CONSOLE


@click.command("console")
@config_option
@click.option("--host", default=None, help="Listen address [default: services.console.host]")
@click.option("--port", type=int, default=None, help="Listen port [default: services.console.port]")
@click.option(
    "--state-dir",
    default="var",
    show_default=True,
    help="The state dir of ferry up (its status.json: the services page).",
)
def console(config_path: str | None, host: str | None, port: int | None, state_dir: str) -> None:
    """Pages for operators: flows, dead letters (and their replay), reconciliation, services."""
    from ferry.console.auth import resolve_token
    from ferry.console.service import run_until_signalled

    registry = load_registry(config_path)
    try:
        resolve_token(registry.settings.console)  # one line and exit 2 when it is missing
    except ConfigError as exc:
        raise ConfigProblem(exc) from None
    configure_logging(CONSOLE, registry.settings.logging)
    try:
        asyncio.run(run_until_signalled(registry, Path(state_dir), host=host, port=port))
    except OSError as exc:  # e.g. the port is in use
        raise click.ClickException(f"console: {exc}") from None


def register(cli: click.Group) -> None:
    cli.add_command(console)
