"""``ferry schemas check`` and ``ferry schemas list``."""

from __future__ import annotations

from pathlib import Path

import click

from ferry.compat import Mode, check_registry
from ferry.schemas import SchemaError, SchemaRegistry

_DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Schema directory (default: $FERRY_SCHEMAS_DIR, else schemas/ of the repository).",
)


def _load(directory: Path | None) -> SchemaRegistry:
    try:
        return SchemaRegistry.load(directory)
    except SchemaError as exc:
        raise click.ClickException(f"schema {exc}") from exc


@click.group("schemas")
def schemas() -> None:
    """The Avro contracts under schemas/."""


@schemas.command("check")
@_DIR_OPTION
@click.option(
    "--mode",
    type=click.Choice(["BACKWARD_TRANSITIVE", "FULL_TRANSITIVE"]),
    default="BACKWARD_TRANSITIVE",
    show_default=True,
    help="BACKWARD: each version reads all earlier data; FULL: and earlier versions read it.",
)
def check(directory: Path | None, mode: Mode) -> None:
    """Parse every schema and check each version against every earlier one."""
    registry = _load(directory)
    failures = 0
    for event_type in registry.event_types():
        names = ", ".join(f"v{sv.version}" for sv in registry.versions(event_type))
        click.echo(f"{event_type}: {names}: parsed")
    for result in check_registry(registry, mode):
        pair = f"v{result.reader_version} reads v{result.writer_version}"
        if result.ok:
            click.echo(f"{result.event_type}: {pair}: ok")
            continue
        failures += 1
        click.echo(f"{result.event_type}: {pair}: INCOMPATIBLE", err=True)
        for problem in result.incompatibilities:
            click.echo(f"  {problem}", err=True)
    if failures:
        raise click.ClickException(f"{failures} incompatible schema pair(s) ({mode})")
    click.echo(f"{len(registry)} schema(s) of {len(registry.event_types())} type(s): {mode} ok")


@schemas.command("list")
@_DIR_OPTION
def list_(directory: Path | None) -> None:
    """Print each event type's versions with their CRC-64-AVRO fingerprints (wire order, hex)."""
    registry = _load(directory)
    for sv in registry:
        latest = " (latest)" if sv is registry.latest(sv.event_type) else ""
        click.echo(f"{sv.event_type}\tv{sv.version}\t{sv.fingerprint_hex}{latest}")


def register(cli: click.Group) -> None:
    cli.add_command(schemas)
