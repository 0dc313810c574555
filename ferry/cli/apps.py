"""``ferry apps create|list|revoke|rotate``: connected apps, their grants and their keys."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click

from ferry.cli.config import ConfigProblem, config_option, load_registry
from ferry.errors import ConfigError

if TYPE_CHECKING:
    from ferry.apps import App, AppAdmin
    from ferry.registry import Registry

T = TypeVar("T")
_RATE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/s)?\s*")


def parse_rate(value: str | None) -> float | None:
    """``50/s`` or ``50`` → 50.0 (events per second); None when not given."""
    if value is None:
        return None
    match = _RATE.fullmatch(value)
    if match is None or float(match.group(1)) <= 0:
        raise click.BadParameter(
            f"{value!r}: give events per second, e.g. 50/s", param_hint="--rate"
        )
    return float(match.group(1))


def _run(config_path: str | None, work: Callable[[AppAdmin, Registry], Awaitable[T]]) -> T:
    from ferry.apps import AppAdmin, AppError, resolve_pepper

    registry = load_registry(config_path)
    settings = registry.settings
    try:
        pepper = resolve_pepper(settings.apps)
    except ConfigError as exc:
        raise ConfigProblem(exc) from None

    async def run() -> T:
        async with AppAdmin(settings.kafka, settings.apps, pepper) as admin:
            return await work(admin, registry)

    try:
        return asyncio.run(run())
    except AppError as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, ConnectionError) as exc:
        raise click.ClickException(f"Kafka is not reachable: {exc}") from None


def _describe(app: App) -> str:
    rate = f"{app.rate_per_s:g}/s"
    return f"{app.name}: {app.state}, publishes {', '.join(sorted(app.grants))} at {rate}"


def register(cli: click.Group) -> None:
    @cli.group()
    def apps() -> None:
        """Connected apps that publish events (POST /v1/events) and their keys."""

    @apps.command()
    @config_option
    @click.argument("name")
    @click.option(
        "--publish",
        "grants",
        multiple=True,
        required=True,
        metavar="TYPE",
        help="An event type the app may publish (repeat for more).",
    )
    @click.option(
        "--rate", default=None, help="Events per second [default: apps.default_rate_per_s]."
    )
    def create(
        config_path: str | None, name: str, grants: tuple[str, ...], rate: str | None
    ) -> None:
        """Create an app; its key is printed once."""
        from ferry.apps import check_name

        per_s = parse_rate(rate)
        try:
            check_name(name)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="NAME") from None

        async def work(admin: AppAdmin, registry: Registry) -> tuple[App, str]:
            known = {flow.source.event_type for flow in registry.publish_flows()}
            unknown = sorted(set(grants) - known)
            if unknown:
                raise click.BadParameter(
                    f"{', '.join(unknown)}: not a type apps may publish "
                    f"(these are: {', '.join(sorted(known)) or 'none'})",
                    param_hint="--publish",
                )
            return await admin.create(name, grants, per_s)

        app, key = _run(config_path, work)
        click.echo(_describe(app))
        click.echo(f"key: {key}")
        click.echo("This key is shown once: store it in the app's secret store now.", err=True)

    @apps.command("list")
    @config_option
    def list_apps(config_path: str | None) -> None:
        """Every app: state, grants, rate and its keys' expiry."""
        from rich.console import Console
        from rich.table import Table

        async def work(admin: AppAdmin, registry: Registry) -> list[App]:
            return admin.list()

        found = _run(config_path, work)
        if not found:
            click.echo("no apps yet: ferry apps create NAME --publish TYPE")
            return
        table = Table("app", "state", "publishes", "rate", "keys")
        for app in found:
            keys = ", ".join(
                "valid" if k.expires_at is None else f"until {k.expires_at:%Y-%m-%d %H:%M}Z"
                for k in app.keys
            )
            table.add_row(
                app.name, app.state, ", ".join(sorted(app.grants)), f"{app.rate_per_s:g}/s", keys
            )
        Console().print(table)

    @apps.command()
    @config_option
    @click.argument("name")
    def revoke(config_path: str | None, name: str) -> None:
        """Revoke an app: every gateway refuses its keys within seconds."""

        async def work(admin: AppAdmin, registry: Registry) -> App:
            return await admin.revoke(name)

        click.echo(_describe(_run(config_path, work)))

    @apps.command()
    @config_option
    @click.argument("name")
    @click.option(
        "--grace",
        type=float,
        default=None,
        help="Seconds the old keys stay valid [default: apps.rotation_grace_s].",
    )
    def rotate(config_path: str | None, name: str, grace: float | None) -> None:
        """A new key for an app; the old ones stay valid for a grace period."""

        async def work(admin: AppAdmin, registry: Registry) -> tuple[App, str]:
            return await admin.rotate(name, grace)

        app, key = _run(config_path, work)
        click.echo(_describe(app))
        click.echo(f"key: {key}")
        click.echo("This key is shown once: store it in the app's secret store now.", err=True)
