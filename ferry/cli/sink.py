"""``ferry sink odoo``: the sinks that write Ferry's events into their owning systems."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    @cli.group()
    def sink() -> None:
        """Run a sink consumer until SIGINT or SIGTERM."""

    @sink.command("odoo")
    @click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
    def odoo(config_path: str | None) -> None:
        """Apply sink.odoo.sale_orders to Odoo (group ferry-sink-odoo, /metrics on 9101)."""
        from consumers.odoo.service import main

        status = main(config_path)
        if status:
            raise SystemExit(status)
