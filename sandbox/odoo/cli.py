"""``ferry sandbox odoo`` / ``python -m sandbox.odoo``."""

from __future__ import annotations

from pathlib import Path

import click

from sandbox.common.cli import add_to_sandbox

from .emulator import API_KEY_ENV, SUPPORTED_VERSIONS, EmulatorConfig, OdooEmulator
from .server import serve


def _webhook(value: str) -> tuple[str, str]:
    model, sep, url = value.partition("=")
    if not sep or not model or not url:
        raise click.BadParameter(f"expected MODEL=URL, got {value!r}")
    return (model, url)


@click.command("odoo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8069, show_default=True, type=int)
@click.option(
    "--api-key",
    "api_key",
    envvar=API_KEY_ENV,
    default=None,
    help=f"API key registered for admin (or ${API_KEY_ENV}).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep state in SQLite there (default: in memory).",
)
@click.option(
    "--odoo-version", type=click.Choice(SUPPORTED_VERSIONS), default="18.0", show_default=True
)
@click.option("--database", default="ferry", show_default=True)
@click.option(
    "--webhook",
    "webhooks",
    multiple=True,
    metavar="MODEL=URL",
    envvar="SANDBOX_ODOO_WEBHOOKS",
    help="Send automation webhooks for MODEL's creates and writes to URL "
    "(or $SANDBOX_ODOO_WEBHOOKS, space-separated: a URL may hold a secret token).",
)
def odoo_command(
    host: str,
    port: int,
    api_key: str | None,
    data_dir: Path | None,
    odoo_version: str,
    database: str,
    webhooks: tuple[str, ...],
) -> None:
    """Run the Odoo external-API emulator (user admin, password admin)."""
    config = EmulatorConfig(
        version=odoo_version,
        database=database,
        api_keys=[api_key] if api_key else [],
        data_dir=data_dir,
        webhooks=[_webhook(w) for w in webhooks],
    )
    emulator = OdooEmulator(config)
    click.echo(f"Odoo {odoo_version} emulator: http://{host}:{port} database {database!r}")
    try:
        serve(emulator, host, port)
    finally:
        emulator.close()


def register(cli: click.Group) -> None:
    """Add ``ferry sandbox odoo``."""
    add_to_sandbox(cli, odoo_command)
