"""``ferry up``: the whole platform on its embedded defaults, until Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import click

from ferry.cli.config import config_option, load_registry
from ferry.logs import configure as configure_logging
from ferry.registry import CONSOLE, GATEWAY, Registry
from ferry.stack import Stack, StackError
from ferry.supervisor import Supervisor

STATUS = "status.json"
SUPERVISOR = "supervisor"
log = logging.getLogger("ferry.supervisor")


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def _kafka(*args: str) -> int:
    return subprocess.call([sys.executable, "-m", "ferry.cli", "kafka", *args])


def _summary(registry: Registry, state: Path, seconds: float, ports: list[int]) -> str:
    lines = [f"\nFerry is up in {seconds:.1f} s. Logs: {state / 'log'}/\n", "Flows:"]
    for flow in registry.enabled:
        steps = [flow.source.topic, flow.target.topic]
        if flow.webhook is not None:
            gateway = registry.service(GATEWAY)
            steps.insert(0, f"POST http://{gateway.host}:{gateway.port}{flow.webhook.path}")
        else:
            steps.insert(0, flow.source.system.name)
        if flow.sink is not None:
            steps.append(flow.target.system.name)
        lines.append(f"  {flow.name}: {' -> '.join(steps)}")
    sandboxes = [s for s in registry.services(state) if s.probe != "/readyz"]
    if sandboxes:
        lines.append("\nSandboxes:")
        lines += [f"  {s.name}: http://127.0.0.1:{s.port}" for s in sandboxes]
    consoles = [s for s in registry.services(state) if s.name == CONSOLE]
    if consoles:
        lines.append(
            f"\nConsole: http://{registry.service(CONSOLE).host}:{consoles[0].port}/ "
            f"(the operator token: {registry.settings.console.token})"
        )
    lines.append(f"\nMetrics: /metrics on ports {', '.join(map(str, ports))}\n")
    tries = [s.try_it for s in registry.active_systems.values() if s.try_it]
    if tries:
        lines += ["From another terminal:\n", *(f"  {t}" for t in tries), ""]
    lines.append("Press Ctrl-C to stop everything.")
    return "\n".join(lines)


@click.command("up")
@config_option
@click.option(
    "--state-dir", default="var", show_default=True, help="Broker data, sandbox data, logs."
)
def up(config_path: str | None, state_dir: str) -> None:
    """Start Kafka, the sandbox systems and every Ferry service; Ctrl-C stops them all."""
    registry = load_registry(config_path, secrets=True)
    state = Path(state_dir)
    began = time.monotonic()
    specs = registry.services(state)
    try:
        Stack.refuse_taken_ports(specs)  # before anything starts
    except StackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("Starting Kafka…")
    if _kafka("up", "--state-dir", str(state / "kafka")) != 0:
        raise click.ClickException("Kafka did not start; see the lines above")
    stack = Stack(env=os.environ, log_dir=state / "log")
    # Explicit handlers: a parent may have left SIGINT ignored (e.g. a background job).
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        for spec in specs:
            click.echo(f"Starting {spec.name} on port {spec.port}…", nl=False)
            seconds = stack.start(spec)
            click.echo(f" ready in {seconds:.1f} s")
        ports = [s.port for s in specs if s.probe == "/readyz"]
        click.echo(_summary(registry, state, time.monotonic() - began, ports))
        # From here on its own lines (a service exited, restarted) are log lines in the
        # services' format, as service=supervisor.
        configure_logging(SUPERVISOR, registry.settings.logging)
        supervisor = Supervisor(stack, report=log.warning, status_file=state / STATUS)
        while True:
            supervisor.tick()
            time.sleep(0.5)
    except (KeyboardInterrupt, _Stop):
        click.echo("\nStopping…")
    except StackError as exc:
        click.echo(f"\nerror: {exc}", err=True)
        raise SystemExit(1) from None
    finally:
        (state / STATUS).unlink(missing_ok=True)
        stack.stop()
        _kafka("down", "--state-dir", str(state / "kafka"))
        click.echo("Stopped.")


def register(cli: click.Group) -> None:
    cli.add_command(up)
    cli.add_command(status)


@click.command("status")
@click.option("--state-dir", default="var", show_default=True, help="The state dir of ferry up.")
def status(state_dir: str) -> None:
    """Each service of a running ``ferry up``: state, pid, uptime, restarts, ready, lag."""
    from ferry.cli.status import show

    raise SystemExit(show(Path(state_dir) / STATUS))
