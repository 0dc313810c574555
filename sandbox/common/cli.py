"""What the emulators' commands share: their place under ``ferry sandbox``."""

from __future__ import annotations

import click


def add_to_sandbox(cli: click.Group, command: click.Command) -> None:
    """Add ``command`` to ``ferry sandbox`` (ferry's CLI is imported only then)."""
    from ferry.cli.sandbox import sandbox_group

    sandbox_group(cli).add_command(command)
