"""``ferry gateway``: the webhook gateway, until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging

import click

from ferry.dotenv import load_dotenv
from ferry.errors import ConfigError


class ConfigProblem(click.ClickException):
    """A configuration error: one line naming the key, exit status 2, no traceback."""

    exit_code = 2


@click.command("gateway")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--host", default=None, help="Listen address [default: gateway.host]")
@click.option("--port", type=int, default=None, help="Listen port [default: gateway.port]")
def gateway(config_path: str | None, host: str | None, port: int | None) -> None:
    """Receive signed shop webhooks and put them on Kafka."""
    from ferry.settings import load_settings
    from producers.gateway.runner import run_until_signalled

    load_dotenv(".env")
    try:
        settings = load_settings(config_path)
        secret = settings.shop.webhook_secret.resolve("shop.webhook_secret")
    except ConfigError as exc:
        raise ConfigProblem(f"configuration: {exc}") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(run_until_signalled(settings, secret, host=host, port=port))
    except OSError as exc:  # e.g. the port is in use
        raise click.ClickException(f"gateway: {exc}") from None


def register(cli: click.Group) -> None:
    cli.add_command(gateway)
