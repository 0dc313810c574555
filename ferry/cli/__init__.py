"""The ``ferry`` command line. Each area registers its commands in its own module; systems
add theirs (:attr:`ferry.flow.System.cli`)."""

from __future__ import annotations

import importlib

import click

# Modules that each define ``register(cli: click.Group) -> None``.
_COMMAND_MODULES: tuple[str, ...] = (
    "ferry.cli.schemas",
    "ferry.cli.up",
    "ferry.cli.kafka",
    "ferry.cli.gateway",
    "ferry.cli.sink",
    "ferry.cli.streams",
    "ferry.cli.apps",
    "ferry.cli.publish",
    "ferry.cli.dlq",
    "ferry.cli.offsets",
    "ferry.cli.reconcile",
    "ferry.cli.console",
)


def _system_modules() -> tuple[str, ...]:
    """The command modules of the systems of the default registry."""
    from ferry.registry import import_object
    from ferry.settings import DEFAULT_REGISTRY

    flows = getattr(import_object(DEFAULT_REGISTRY, "registry"), "FLOWS", ())
    found: dict[str, None] = {}
    for flow in flows:
        for system in flow.systems:
            found.update(dict.fromkeys(system.cli))
    return tuple(found)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ferry")
def cli() -> None:
    """Ferry moves data between Odoo and the apps around it, through Kafka."""


for _name in (*_COMMAND_MODULES, *_system_modules()):
    importlib.import_module(_name).register(cli)


def main() -> None:
    cli()
