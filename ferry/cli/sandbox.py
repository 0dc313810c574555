"""``ferry sandbox odoo``: stand-ins for connected systems."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    from sandbox.odoo.cli import odoo_command

    group = cli.commands.get("sandbox")
    if not isinstance(group, click.Group):

        @click.group("sandbox")
        def sandbox() -> None:
            """Stand-ins for connected systems (Odoo emulator)."""

        group = sandbox
        cli.add_command(group)
    group.add_command(odoo_command)
