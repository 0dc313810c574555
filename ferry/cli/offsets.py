"""``ferry offsets show|reset`` and ``ferry replay``: consumer positions and time-range replays."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ferry.cli.config import config_option, load_registry
from ferry.cli.dlq import parse_time
from ferry.cli.guards import confirm, on_kafka, require_group, require_topic

if TYPE_CHECKING:
    from ferry.settings import KafkaSettings


def _kafka(config_path: str | None) -> KafkaSettings:
    """The configured Kafka: its bootstrap servers and how to sign in."""
    return load_registry(config_path).settings.kafka


def register(cli: click.Group) -> None:
    @cli.group()
    def offsets() -> None:
        """Where a consumer group stands, and moving it."""

    @offsets.command()
    @config_option
    @click.argument("group")
    @click.option("--topic", "topics", multiple=True, help="Only this topic (repeatable).")
    def show(config_path: str | None, group: str, topics: tuple[str, ...]) -> None:
        """Each partition: committed offset, log start and end, lag."""
        from rich.console import Console
        from rich.table import Table

        from ferry.ops.offsets import group_state
        from ferry.ops.offsets import offsets as read

        kafka = _kafka(config_path)
        require_group(kafka, group)
        for topic in topics:
            require_topic(kafka, topic)
        state, members = on_kafka(kafka, group_state(kafka, group))
        found = on_kafka(kafka, read(kafka, group, topics))
        click.echo(f"group {group}: {state}, {members} member(s)")
        if not found:
            click.echo("no committed offsets")
            return
        table = Table("topic", "partition", "committed", "start", "end", "lag")
        for p in found:
            committed = "-" if p.committed is None else str(p.committed)
            table.add_row(
                p.topic, str(p.partition), committed, str(p.start), str(p.end), str(p.lag)
            )
        Console().print(table)
        click.echo(f"total lag: {sum(p.lag for p in found)}")

    @offsets.command()
    @config_option
    @click.argument("group")
    @click.option("--topic", "topics", multiple=True, help="Only this topic (repeatable).")
    @click.option("--to-datetime", help="The first offset at or after this time (or age: 2h).")
    @click.option("--to-earliest", is_flag=True, help="The log start: read everything again.")
    @click.option("--to-latest", is_flag=True, help="The end: skip what is there.")
    @click.option("--shift-by", type=int, help="Move by N (negative: read N again).")
    @click.option("--dry-run", is_flag=True, help="Show the moves; change nothing.")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def reset(
        config_path: str | None,
        group: str,
        topics: tuple[str, ...],
        to_datetime: str | None,
        to_earliest: bool,
        to_latest: bool,
        shift_by: int | None,
        dry_run: bool,
        yes: bool,
    ) -> None:
        """Move GROUP's offsets (refused while the group has members)."""
        from ferry.ops.offsets import GroupBusy
        from ferry.ops.offsets import reset as move

        when = parse_time(to_datetime, "--to-datetime")
        kafka = _kafka(config_path)
        require_group(kafka, group)
        for topic in topics:
            require_topic(kafka, topic)
        options: dict[str, Any] = {
            "topics": topics,
            "to_datetime": when,
            "to_earliest": to_earliest,
            "to_latest": to_latest,
            "shift_by": shift_by,
        }
        try:
            planned = on_kafka(kafka, move(kafka, group, dry_run=True, **options))
        except (GroupBusy, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        if not planned:
            click.echo(f"group {group} has no offsets to move")
            return
        for m in planned:
            before = "-" if m.before is None else str(m.before)
            what = f"{m.reread} read again" if m.reread >= 0 else f"{-m.reread} skipped"
            click.echo(f"  {m.topic}[{m.partition}]: {before} -> {m.after} ({what})")
        total = sum(m.reread for m in planned)
        click.echo(f"{group}: {total} record(s) read again" if total >= 0 else f"{-total} skipped")
        if dry_run:
            return
        confirm("Move the offsets?", yes)
        try:
            on_kafka(kafka, move(kafka, group, **options))
        except GroupBusy as exc:
            raise click.ClickException(str(exc)) from None
        click.echo("moved")

    @cli.command()
    @config_option
    @click.argument("topic")
    @click.option("--from", "since", required=True, help="From this time (RFC 3339) or age (2h).")
    @click.option("--to", "until", help="Before this time [default: now].")
    @click.option("--key", help="Only this record key.")
    @click.option("--to-topic", help="Produce to this topic [default: TOPIC itself].")
    @click.option("--dry-run", is_flag=True, help="Count what would be replayed; send nothing.")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def replay(
        config_path: str | None,
        topic: str,
        since: str,
        until: str | None,
        key: str | None,
        to_topic: str | None,
        dry_run: bool,
        yes: bool,
    ) -> None:
        """Re-emit TOPIC's records of a time range; everything downstream is idempotent."""
        from rich.progress import Progress

        from ferry.kafka import make_producer
        from ferry.ops.replay import plan, replay_range

        start = parse_time(since, "--from")
        end = parse_time(until, "--to")
        assert start is not None
        registry = load_registry(config_path)
        kafka = registry.settings.kafka
        require_topic(kafka, topic)
        if to_topic:
            require_topic(kafka, to_topic)
        chosen = on_kafka(kafka, plan(kafka, topic, start, end))
        click.echo(f"{chosen.records} record(s) of {topic} in the range")
        for partition, (first, last) in sorted(chosen.ranges.items()):
            click.echo(f"  partition {partition}: offsets {first} to {last - 1}")
        if dry_run or not chosen.records:
            return
        confirm(f"Replay them to {to_topic or topic}?", yes)
        sent = 0

        def count(n: int) -> None:
            nonlocal sent
            sent += n

        async def run() -> int:
            producer = make_producer(kafka, client_id="ferry-replay")
            await producer.start()
            try:
                with Progress(transient=True) as progress:
                    task = progress.add_task("replaying", total=chosen.records)
                    return await replay_range(
                        kafka,
                        chosen,
                        producer,
                        to_topic=to_topic,
                        key=key.encode() if key else None,
                        progress=lambda n: progress.advance(task, n),
                        sent=count,
                    )
            finally:
                await producer.stop()

        try:
            done = on_kafka(kafka, run())
        except (KeyboardInterrupt, click.ClickException) as exc:
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"stopped: {exc}"
            raise click.ClickException(
                f"{reason}; {sent} of {chosen.records} record(s) were sent to "
                f"{to_topic or topic} (the sinks apply a record sent twice once)"
            ) from None
        click.echo(f"replayed {done} record(s) to {to_topic or topic}")
