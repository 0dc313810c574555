"""``ferry up``: the whole platform on its embedded defaults, until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import click

from ferry.dotenv import load_dotenv
from ferry.errors import ConfigError
from ferry.settings import load_settings
from ferry.stack import Stack, StackError, platform_services


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def _kafka(*args: str) -> int:
    return subprocess.call([sys.executable, "-m", "ferry.cli", "kafka", *args])


@click.command("up")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--state-dir", default="var", show_default=True, help="Broker data, Odoo data, logs.")
def up(config_path: str | None, state_dir: str) -> None:
    """Start Kafka, the sandbox Odoo and every Ferry service; Ctrl-C stops them all."""
    load_dotenv(".env")
    try:
        settings = load_settings(config_path)
        settings.shop.webhook_secret.resolve("shop.webhook_secret")
        settings.odoo.api_key.resolve("odoo.api_key")
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None
    state = Path(state_dir)
    began = time.monotonic()
    click.echo("Starting Kafka…")
    if _kafka("up", "--state-dir", str(state / "kafka")) != 0:
        raise click.ClickException("Kafka did not start; see the lines above")
    stack = Stack(env=os.environ, log_dir=state / "log")
    # Explicit handlers: a parent may have left SIGINT ignored (e.g. a background job).
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        for spec in platform_services(settings, odoo_data_dir=str(state / "odoo")):
            click.echo(f"Starting {spec.name} on port {spec.port}…", nl=False)
            seconds = stack.start(spec)
            click.echo(f" ready in {seconds:.1f} s")
        click.echo(
            f"\nFerry is up in {time.monotonic() - began:.1f} s. Logs: {state / 'log'}/\n\n"
            f"  gateway       http://{settings.gateway.host}:{settings.gateway.port}/webhooks/shop\n"
            f"  sandbox Odoo  {settings.odoo.url} (database {settings.odoo.database})\n"
            f"  metrics       /metrics on ports {settings.gateway.port}, "
            f"{settings.streams.port}, {settings.odoo_sink.port}\n\n"
            "Send a signed sample order from another terminal:\n\n"
            "  .venv/bin/ferry shop send-sample\n\n"
            "Press Ctrl-C to stop everything."
        )
        while True:
            dead = stack.dead()
            if dead:
                raise StackError("a service stopped: " + ", ".join(dead))
            time.sleep(0.5)
    except (KeyboardInterrupt, _Stop):
        click.echo("\nStopping…")
    except StackError as exc:
        click.echo(f"\nerror: {exc}", err=True)
        raise SystemExit(1) from None
    finally:
        stack.stop()
        _kafka("down", "--state-dir", str(state / "kafka"))
        click.echo("Stopped.")


def register(cli: click.Group) -> None:
    cli.add_command(up)
