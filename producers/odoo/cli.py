"""``ferry capture odoo``: Odoo's changes onto Kafka."""

from __future__ import annotations

import asyncio

import click

from ferry.cli.config import ConfigProblem, config_option, load_registry
from ferry.errors import ConfigError
from ferry.logs import configure as configure_logging


def register(cli: click.Group) -> None:
    group = cli.commands.get("capture")
    if not isinstance(group, click.Group):

        @click.group("capture")
        def capture() -> None:
            """Change capture: a system's changes onto Kafka."""

        cli.add_command(capture)
        group = capture
    group.add_command(odoo)


@click.command("odoo")
@config_option
def odoo(config_path: str | None) -> None:
    """Poll Odoo's write_date for the models the flows read (systems.odoo.capture)."""
    from producers.odoo.service import run_until_signalled

    registry = load_registry(config_path)
    try:
        registry.secret("odoo", "api_key")
    except ConfigError as exc:
        raise ConfigProblem(exc) from None
    configure_logging("odoo-capture", registry.settings.logging)
    status = asyncio.run(run_until_signalled(registry))
    if status:
        raise SystemExit(status)
