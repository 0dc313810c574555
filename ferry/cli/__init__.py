"""The ``ferry`` command line. Each area registers its commands in its own module."""

from __future__ import annotations

import importlib

import click

# Modules that each define ``register(cli: click.Group) -> None``.
_COMMAND_MODULES: tuple[str, ...] = (
    "ferry.cli.schemas",
    "ferry.cli.up",
    "ferry.cli.kafka",
    "ferry.cli.gateway",
    "ferry.cli.shop",
    "ferry.cli.sink",
    "ferry.cli.sandbox",
    "ferry.cli.streams",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ferry")
def cli() -> None:
    """Ferry moves data between Odoo and the apps around it, through Kafka."""


for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(cli)


def main() -> None:
    cli()
