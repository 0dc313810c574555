"""``ferry sandbox shop`` / ``python -m sandbox.shop``."""

from __future__ import annotations

from pathlib import Path

import click

from sandbox.common.cli import add_to_sandbox

from .emulator import CLIENT_ID_ENV, CLIENT_SECRET_ENV, DEFAULT_CLIENT_ID, ShopConfig, ShopEmulator
from .schema import API_VERSION
from .server import serve


@click.command("shop")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8070, show_default=True, type=int)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep state in SQLite there (default: in memory).",
)
@click.option(
    "--client-id",
    envvar=CLIENT_ID_ENV,
    default=DEFAULT_CLIENT_ID,
    show_default=True,
    help=f"The app's client id (or ${CLIENT_ID_ENV}).",
)
@click.option(
    "--client-secret-env",
    default=CLIENT_SECRET_ENV,
    show_default=True,
    metavar="NAME",
    help="The environment variable that holds the app's client secret.",
)
@click.option("--webhook-url", default=None, help="Where orders/create webhooks are sent.")
def shop_command(
    host: str,
    port: int,
    data_dir: Path | None,
    client_id: str,
    client_secret_env: str,
    webhook_url: str | None,
) -> None:
    """Run the Shopify Admin API emulator (GraphQL 2026-10, client credentials, webhooks)."""
    try:
        config = ShopConfig.from_env(
            client_secret_env, client_id=client_id, data_dir=data_dir, webhook_url=webhook_url
        )
    except ValueError:
        raise click.UsageError(f"set the client secret in ${client_secret_env}") from None
    shop = ShopEmulator(config)
    click.echo(
        f"Shopify emulator: http://{host}:{port}/admin/api/{API_VERSION}/graphql.json"
        f" (client id {client_id!r}, webhooks to {webhook_url or 'nowhere'})"
    )
    try:
        serve(shop, host, port)
    finally:
        shop.close()


def register(cli: click.Group) -> None:
    """Add ``ferry sandbox shop``."""
    add_to_sandbox(cli, shop_command)
