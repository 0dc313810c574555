"""``ferry kafka up|down|status``: a real Kafka (KRaft) in the background, from ``infra/kafka``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import click

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = REPO_ROOT / "var" / "kafka"


def _ports(value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        return [int(p) for p in value.split(",")]
    except ValueError as exc:
        raise click.BadParameter(f"not a comma-separated list of ports: {value!r}") from exc


def _state_dir_option() -> click.Option:
    return click.Option(
        ["--state-dir"],
        type=click.Path(file_okay=False, path_type=Path),
        default=DEFAULT_STATE_DIR,
        envvar="FERRY_KAFKA_STATE_DIR",
        show_default="var/kafka in the repository",
        help="Where the cluster keeps its config, data, logs and pid files.",
    )


def register(cli: click.Group) -> None:
    @cli.group()
    def kafka() -> None:
        """Run a real Apache Kafka (KRaft) on this machine, without Docker."""

    @kafka.command()
    @click.option("--nodes", type=click.Choice(["1", "3"]), default="1", show_default=True)
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--ports", help="Broker ports, comma-separated (default 9092, or N9092).")
    @click.option("--controller-ports", help="Controller ports (default 9093, or N9093).")
    @click.option("--heap-mb", type=click.IntRange(256, 4096), default=512, show_default=True)
    @click.option("--timeout", type=float, default=120.0, show_default=True)
    def up(
        state_dir: Path,
        nodes: str,
        host: str,
        ports: str | None,
        controller_ports: str | None,
        heap_mb: int,
        timeout: float,
    ) -> None:
        """Start Kafka in the background and wait until it serves requests."""
        from infra.kafka import KafkaCluster, KafkaClusterError

        try:
            cluster = KafkaCluster(
                state_dir,
                int(nodes),
                host=host,
                ports=_ports(ports),
                controller_ports=_ports(controller_ports),
                heap_mb=heap_mb,
                start_timeout=timeout,
            )
            if cluster.is_running():
                click.echo(f"Kafka is already running: {cluster.bootstrap_servers}")
                return
            seconds = cluster.start()
        except KafkaClusterError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(
            f"Kafka ready ({len(cluster.nodes)} node{'s' if len(cluster.nodes) > 1 else ''}) "
            f"in {seconds:.1f} s"
        )
        click.echo(f"bootstrap servers: {cluster.bootstrap_servers}")
        click.echo(f"state dir: {_shown(cluster.state_dir)}   stop it with `ferry kafka down`")

    @kafka.command()
    @click.option("--timeout", type=float, default=30.0, show_default=True)
    def down(state_dir: Path, timeout: float) -> None:
        """Stop the Kafka started by `ferry kafka up` (SIGTERM, then SIGKILL)."""
        from infra.kafka import KafkaCluster, KafkaClusterError

        try:
            cluster = KafkaCluster.from_state_dir(state_dir, stop_timeout=timeout)
        except KafkaClusterError:
            click.echo(f"no Kafka recorded in {_shown(state_dir)}: nothing to stop")
            return
        was = [s.node_id for s in cluster.status() if s.running]
        cluster.stop()
        click.echo(f"Kafka stopped (nodes {was})" if was else "Kafka was not running")

    @kafka.command()
    def status(state_dir: Path) -> None:
        """Show each node; exit 0 when all serve, 1 when some do, 3 when none runs."""
        from infra.kafka import KafkaCluster, KafkaClusterError

        try:
            cluster = KafkaCluster.from_state_dir(state_dir)
        except KafkaClusterError:
            click.echo(f"Kafka: not set up in {_shown(state_dir)}")
            raise SystemExit(3) from None
        nodes = cluster.status()
        listed: list[int] = []
        error = ""
        if any(n.running for n in nodes):
            try:
                listed = asyncio.run(cluster.brokers(request_timeout=3.0))
            except Exception as exc:
                error = f" ({type(exc).__name__}: {exc})"
        for node in nodes:
            if node.node_id in listed:
                state = "serving"
            elif node.running:
                state = "starting or unreachable" + error
            else:
                state = "stopped"
            pid = f"pid {node.pid}" if node.pid else "no process"
            click.echo(f"node {node.node_id}  {node.address:<22} {pid:<12} {state}")
        rss = cluster.rss_bytes()
        if rss:
            click.echo(f"memory (RSS): {sum(rss.values()) / 2**20:.0f} MiB")
        serving = [n for n in nodes if n.node_id in listed]
        if serving:
            click.echo(f"bootstrap servers: {cluster.bootstrap_servers}")
        if len(serving) == len(nodes):
            return
        raise SystemExit(1 if serving else 3)

    for command in (up, down, status):
        command.params.insert(0, _state_dir_option())


def _shown(path: Path) -> str:
    """The path relative to the working directory when it is below it (keeps output short)."""
    absolute = Path(path).resolve()
    cwd = Path(os.getcwd()).resolve()
    return str(absolute.relative_to(cwd)) if absolute.is_relative_to(cwd) else str(absolute)
