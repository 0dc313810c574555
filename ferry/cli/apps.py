"""``ferry apps create|list|revoke|rotate``: connected apps, their grants and their keys.

Arguments are checked before Kafka is contacted: the app name, the rate, and each granted type
(an event type that an enabled flow takes from outside, ``Registry.publish_flows``). A key is
printed once, by ``create`` and ``rotate``; Ferry keeps only its hash.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import click

from ferry.cli.config import ConfigProblem, config_option, load_registry
from ferry.errors import ConfigError, FerryError

if TYPE_CHECKING:
    from ferry.apps import App, AppAdmin, KeyHash
    from ferry.registry import Registry

__all__ = ["ONCE", "check_grants", "parse_rate", "register"]

T = TypeVar("T")
_RATE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/s)?\s*")
ONCE = "This key is shown only once: Ferry keeps only its hash. Store it now."


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


def check_grants(registry: Registry, grants: Iterable[str]) -> list[str]:
    """``grants`` if each is an event type an enabled flow takes from outside; BadParameter
    naming the unknown ones and the publishable types otherwise."""
    chosen = list(dict.fromkeys(grants))
    known = {flow.source.event_type for flow in registry.publish_flows()}
    unknown = [g for g in chosen if g not in known]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)}: not an event type apps may publish "
            f"(those are the types enabled flows take from outside: "
            f"{', '.join(sorted(known)) or 'none'})",
            param_hint="--publish",
        )
    return chosen


def _check_name(name: str) -> None:
    from ferry.apps import check_name

    try:
        check_name(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None


def _run(registry: Registry, work: Callable[[AppAdmin], Awaitable[T]]) -> T:
    """``work`` with an :class:`AppAdmin` on the configured Kafka; errors as one line."""
    from ferry.apps import AppAdmin, AppError, resolve_pepper

    settings = registry.settings
    try:
        pepper = resolve_pepper(settings.apps)
    except ConfigError as exc:
        raise ConfigProblem(exc) from None

    async def run() -> T:
        async with AppAdmin(settings.kafka, settings.apps, pepper) as admin:
            return await work(admin)

    try:
        return asyncio.run(run())
    except AppError as exc:
        raise click.ClickException(str(exc)) from None
    except FerryError as exc:
        raise click.ClickException(
            f"Kafka at {settings.kafka.bootstrap_servers}: {exc} (is it running? `ferry kafka up`)"
        ) from None


def _describe(app: App) -> str:
    grants = ", ".join(sorted(app.grants))
    return f"{app.name}: {app.state}, publishes {grants} at up to {app.rate_per_s:g}/s"


def _key_state(key: KeyHash, moment: datetime) -> str:
    if key.expires_at is None:
        return "no expiry"
    when = f"{key.expires_at:%Y-%m-%d %H:%M} UTC"
    return f"valid until {when}" if key.valid(moment) else f"expired {when}"


def _show_key(app: App, key: str) -> None:
    click.echo(_describe(app))
    click.echo(f"key: {key}")
    click.echo(ONCE)


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
        "--rate",
        default=None,
        metavar="N/s",
        help="Events per second, e.g. 50/s [default: apps.default_rate_per_s].",
    )
    def create(
        config_path: str | None, name: str, grants: tuple[str, ...], rate: str | None
    ) -> None:
        """Create an app NAME; its key is printed once.

        NAME: 1 to 40 lowercase letters, digits and -, starting with a letter or digit.
        """
        per_s = parse_rate(rate)
        _check_name(name)
        registry = load_registry(config_path)
        chosen = check_grants(registry, grants)

        async def work(admin: AppAdmin) -> tuple[App, str]:
            return await admin.create(name, chosen, per_s)

        app, key = _run(registry, work)
        _show_key(app, key)

    @apps.command("list")
    @config_option
    def list_apps(config_path: str | None) -> None:
        """Every app: its grants, rate, state and keys (with their expiry)."""
        from rich.console import Console
        from rich.table import Table

        from ferry.apps.model import now

        async def work(admin: AppAdmin) -> list[App]:
            return admin.list()

        found = _run(load_registry(config_path), work)
        if not found:
            click.echo("no apps yet: ferry apps create NAME --publish TYPE")
            return
        moment = now()
        table = Table("app", "publishes", "rate", "state", "keys")
        for app in found:
            keys = "\n".join(_key_state(k, moment) for k in app.keys) or "none"
            table.add_row(
                app.name,
                "\n".join(sorted(app.grants)),
                f"{app.rate_per_s:g}/s",
                app.state,
                keys,
            )
        Console(soft_wrap=True).print(table)

    @apps.command()
    @config_option
    @click.argument("name")
    def revoke(config_path: str | None, name: str) -> None:
        """Revoke app NAME: every gateway refuses its keys within seconds."""
        _check_name(name)

        async def work(admin: AppAdmin) -> App:
            return await admin.revoke(name)

        click.echo(_describe(_run(load_registry(config_path), work)))

    @apps.command()
    @config_option
    @click.argument("name")
    @click.option(
        "--grace",
        type=click.FloatRange(min=0),
        default=None,
        metavar="SECONDS",
        help="How long the old keys stay valid [default: apps.rotation_grace_s].",
    )
    def rotate(config_path: str | None, name: str, grace: float | None) -> None:
        """A new key for app NAME, printed once; the old ones stay valid for a grace period."""
        _check_name(name)

        async def work(admin: AppAdmin) -> tuple[App, str]:
            return await admin.rotate(name, grace)

        app, key = _run(load_registry(config_path), work)
        _show_key(app, key)
