"""``ferry gateway``: the webhook gateway, until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio

import click

from ferry.cli.config import ConfigProblem, config_option, load_registry
from ferry.errors import ConfigError
from ferry.logs import configure as configure_logging
from ferry.registry import GATEWAY


@click.command("gateway")
@config_option
@click.option("--host", default=None, help="Listen address [default: services.gateway.host]")
@click.option("--port", type=int, default=None, help="Listen port [default: services.gateway.port]")
def gateway(config_path: str | None, host: str | None, port: int | None) -> None:
    """Receive the flows' signed webhooks and put them on Kafka."""
    from producers.gateway.routes import webhook_routes
    from producers.gateway.runner import run_until_signalled

    registry = load_registry(config_path)
    try:
        webhook_routes(registry)  # every route's secret resolves, or one line and exit 2
    except ConfigError as exc:
        raise ConfigProblem(exc) from None
    configure_logging(GATEWAY, registry.settings.logging)
    try:
        asyncio.run(run_until_signalled(registry, host=host, port=port))
    except OSError as exc:  # e.g. the port is in use
        raise click.ClickException(f"gateway: {exc}") from None


def register(cli: click.Group) -> None:
    cli.add_command(gateway)
