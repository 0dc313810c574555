"""``ferry reconcile FLOW``: compare the source's latest state with Odoo's sale orders."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from ferry.cli.config import config_option, load_registry
from ferry.cli.dlq import parse_time


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

        from consumers.odoo import reconcile as rec
        from ferry.kafka import make_producer

        registry = load_registry(config_path, secrets=True)
        try:
            flow = registry.flow(flow_name)
        except KeyError:
            names = ", ".join(f.name for f in registry.enabled)
            raise click.BadParameter(
                f"no flow {flow_name!r} (flows: {names})", param_hint="FLOW"
            ) from None
        if flow.target.event_type != "odoo.sale_order.upsert":
            raise click.ClickException(
                f"{flow_name}: reconciliation covers flows into Odoo sale orders"
            )
        kafka = registry.settings.kafka
        moment = parse_time(since, "--since")

        async def run() -> tuple[rec.Report, int]:
            expected, invalid = await rec.expected_orders(
                kafka.bootstrap_servers, flow, registry.serde(), since=moment
            )
            system = flow.target.system
            assert system.connect is not None
            target: Any = system.connect(registry.system_settings(system), None)
            try:
                found = await rec.odoo_orders(
                    target.odoo, None if moment is None else sorted(expected)
                )
            finally:
                await target.aclose()
            report = rec.judge(flow.name, expected, found, invalid, all_of_target=moment is None)
            repaired = 0
            if repair and report.mismatches:
                producer = make_producer(kafka, client_id="ferry-reconcile")
                await producer.start()
                try:
                    repaired = await rec.repair(producer, flow, report)
                finally:
                    await producer.stop()
            return report, repaired

        report, repaired = asyncio.run(run())
        counts = ", ".join(f"{report.count(kind)} {kind}" for kind in rec.KINDS)
        click.echo(
            f"{flow.name}: {report.checked} checked, {counts}; "
            f"{report.invalid} invalid (dead letters)"
        )
        if report.mismatches and show:
            table = Table("kind", "external id", "detail")
            for mismatch in report.mismatches[:show]:
                table.add_row(mismatch.kind, mismatch.external_id, mismatch.detail[:120])
            Console().print(table)
        if repair:
            click.echo(f"replayed {repaired} source record(s) through the normal path")
        if report.mismatches and not repair:
            raise SystemExit(1)
