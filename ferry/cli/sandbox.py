"""``ferry sandbox <system>``: stand-ins for connected systems; each system adds its own."""

from __future__ import annotations

import click

__all__ = ["sandbox_group"]


def sandbox_group(cli: click.Group) -> click.Group:
    """The ``sandbox`` group of ``cli``, created on first use."""
    group = cli.commands.get("sandbox")
    if isinstance(group, click.Group):
        return group

    @click.group("sandbox")
    def sandbox() -> None:
        """Stand-ins for connected systems, for the demo and the tests."""

    cli.add_command(sandbox)
    return sandbox
