"""``ferry reconcile FLOW``: compare the source's latest state with what the target holds."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from ferry.cli.config import config_option, load_registry
from ferry.cli.dlq import parse_time

if TYPE_CHECKING:
    from ferry.reconcile import Report


def register(cli: click.Group) -> None:
    @cli.command()
    @config_option
    @click.argument("flow_name", metavar="FLOW")
    @click.option("--since", help="Only source records from this time or age (2h, 1d).")
    @click.option("--repair", is_flag=True, help="Replay what is missing or different.")
    @click.option(
        "--show", type=click.IntRange(0), default=20, show_default=True, help="Mismatches listed."
    )
    def reconcile(
        config_path: str | None, flow_name: str, since: str | None, repair: bool, show: int
    ) -> None:
        """Missing, different and unexpected records of FLOW's target (exit 1 if any)."""
        from rich.console import Console
        from rich.table import Table

        from ferry import reconcile as rec
        from ferry.kafka import make_producer

        registry = load_registry(config_path, secrets=True)
        try:
            flow = registry.flow(flow_name)
        except KeyError:
            names = ", ".join(f.name for f in registry.enabled)
            raise click.BadParameter(
                f"no flow {flow_name!r} (flows: {names})", param_hint="FLOW"
            ) from None
        system = flow.target.system
        if system.reconcile is None or system.connect is None:
            raise click.UsageError(f"{flow_name}: {system.name} offers no reconciliation")
        kafka = registry.settings.kafka
        moment = parse_time(since, "--since")
        reconcile_with = system.reconcile
        connect = system.connect

        async def run() -> tuple[Report | None, int]:
            target = connect(registry.system_settings(system), None)
            try:
                job = rec.Job(kafka, flow, registry.serde(), target, moment)
                report = await reconcile_with(job)
            finally:
                await target.aclose()
            repaired = 0
            if report is not None and repair and report.mismatches:
                producer = make_producer(kafka, client_id="ferry-reconcile")
                await producer.start()
                try:
                    repaired = await rec.repair(producer, flow.source.topic, report)
                finally:
                    await producer.stop()
            return report, repaired

        report, repaired = asyncio.run(run())
        if report is None:
            raise click.UsageError(
                f"{flow_name}: {system.name} does not reconcile {flow.target.event_type} records"
            )
        click.echo(report.summary())
        if report.mismatches and show:
            table = Table("kind", "external id", "detail")
            for mismatch in report.mismatches[:show]:
                table.add_row(mismatch.kind, mismatch.external_id, mismatch.detail[:120])
            Console().print(table)
        if repair:
            click.echo(f"replayed {repaired} source record(s) through the normal path")
        if report.mismatches and not repair:
            raise SystemExit(1)
