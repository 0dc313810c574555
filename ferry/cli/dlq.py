"""``ferry dlq list|show|replay``: look into dead-letter topics and replay what was fixed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ferry.cli.config import config_option, load_registry
from ferry.cli.guards import confirm, on_kafka, require_topic
from ferry.timefmt import parse_timestamp

if TYPE_CHECKING:
    from ferry.settings import KafkaSettings

T = TypeVar("T")
_AGO = re.compile(r"([0-9]+)\s*([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_time(value: str | None, option: str) -> datetime | None:
    """An RFC 3339 time, or a time ago (``30m``, ``2h``, ``1d``)."""
    if value is None:
        return None
    match = _AGO.fullmatch(value.strip())
    if match is not None:
        amount, unit = int(match.group(1)), match.group(2)
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: amount})
    moment = parse_timestamp(value)
    if moment is None:
        raise click.BadParameter(
            f"{value!r} is not a time: give an RFC 3339 time with its offset "
            "(2026-12-01T09:00:00Z, 2026-12-01T10:00:00+01:00) or an age: a number with "
            "s, m, h or d (90s, 30m, 2h, 1d)",
            param_hint=option,
        )
    return moment


def _filters(**options: Any) -> Any:
    from ferry.ops.dlq import Filters

    return Filters(
        since=parse_time(options["since"], "--since"),
        until=parse_time(options["until"], "--until"),
        error_class=options["error_class"],
        field=options["field"],
        rule=options["rule"],
        key=options["key"],
        limit=options["limit"],
    )


def _filter_options(function: Callable[..., T]) -> Callable[..., T]:
    for option in reversed(
        [
            click.option("--topic", help="One dead-letter topic [default: every flow's]."),
            click.option("--since", help="From this time (RFC 3339) or age (30m, 2h, 1d)."),
            click.option("--until", help="Before this time or age."),
            click.option("--error-class", help="Only this error class (e.g. ValidationError)."),
            click.option("--field", help="Only errors naming this field."),
            click.option("--rule", help="Only errors naming this rule."),
            click.option("--key", help="Only this record key."),
            click.option("--limit", type=click.IntRange(1), help="At most this many."),
        ]
    ):
        function = option(function)
    return function


def _topics(config_path: str | None, topic: str | None) -> tuple[KafkaSettings, list[str]]:
    """The configured Kafka, and the dead-letter topics asked for (TOPIC's, else every
    enabled flow's)."""
    registry = load_registry(config_path)
    kafka = registry.settings.kafka
    if topic:
        name = topic if topic.startswith("dlq.") else f"dlq.{topic}"
        require_topic(kafka, name)
        return kafka, [name]
    names: dict[str, None] = {}
    for flow in registry.enabled:
        names[flow.source_dlq] = None
        if flow.sink is not None:
            names[flow.target_dlq] = None
    return kafka, list(names)


def register(cli: click.Group) -> None:
    @cli.group()
    def dlq() -> None:
        """Dead letters: list them, show one, replay them to their origin topic."""

    @dlq.command("list")
    @config_option
    @_filter_options
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
    def list_letters(
        config_path: str | None, topic: str | None, as_json: bool, **options: Any
    ) -> None:
        """The dead letters, oldest first: time, key, stage, error, field, rule, origin."""
        from rich.console import Console
        from rich.table import Table

        from ferry.ops.dlq import dead_letters

        filters = _filters(**options)
        kafka, topics = _topics(config_path, topic)
        letters = on_kafka(kafka, dead_letters(kafka, topics, filters))
        if as_json:
            for letter in letters:
                click.echo(json.dumps(letter.summary()))
            return
        if not letters:
            click.echo(f"no dead letters in {', '.join(topics)}")
            return
        table = Table()
        # What names a record (to show or replay it) folds onto more lines, never cut short.
        for column in ("dead letter", "time", "key"):
            table.add_column(column, overflow="fold")
        for column in ("stage", "error", "field", "rule", "message"):
            table.add_column(column)
        table.add_column("origin", overflow="fold")
        table.add_column("attempts", justify="right")
        table.add_column("replayed", overflow="fold")
        for letter in letters:
            row = letter.summary()
            table.add_row(
                row["ref"],
                row["time"],
                row["key"],
                row["stage"],
                row["class"],
                row["field"],
                row["rule"],
                row["message"][:80],
                row["origin"],
                row["attempts"] or "-",
                row["replayed_at"] or "-",
            )
        Console().print(table)
        click.echo(f"{len(letters)} dead letter(s)")

    @dlq.command()
    @config_option
    @click.argument("ref", metavar="TOPIC:PARTITION:OFFSET")
    def show(config_path: str | None, ref: str) -> None:
        """One dead letter, whole: every header, the key and the value."""
        from ferry.ops.dlq import dead_letters, parse_ref, shown_value

        parsed = parse_ref(ref)
        if parsed is None:
            raise click.BadParameter(f"{ref!r}: give TOPIC:PARTITION:OFFSET", param_hint="REF")
        topic, partition, offset = parsed
        kafka, _ = _topics(config_path, None)
        require_topic(kafka, topic)
        wanted = (partition, offset)
        found = [
            letter
            for letter in on_kafka(kafka, dead_letters(kafka, [topic]))
            if (letter.partition, letter.offset) == wanted
        ]
        if not found:
            raise click.ClickException(f"no dead letter at {ref}")
        letter = found[0]
        click.echo(
            f"{letter.ref}  {letter.time.isoformat()}  replayed: {letter.replayed_at or 'no'}"
        )
        click.echo(f"key: {letter.key_text}")
        for name, value in letter.headers:
            click.echo(f"  {name}: {value.decode('utf-8', 'replace')}")
        shown = shown_value(load_registry(None), letter.value)
        click.echo(f"value: {shown}")

    @dlq.command("replay")
    @config_option
    @_filter_options
    @click.option("--dry-run", is_flag=True, help="Say what would be replayed; send nothing.")
    @click.option("--again", is_flag=True, help="Replay dead letters that were replayed before.")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def replay_letters(
        config_path: str | None,
        topic: str | None,
        dry_run: bool,
        again: bool,
        yes: bool,
        **options: Any,
    ) -> None:
        """Produce the chosen dead letters to their origin topic, through the normal path."""
        from rich.progress import Progress

        from ferry.kafka import make_producer
        from ferry.ops.dlq import REPLAYED_TOPIC, dead_letters, replay
        from ferry.topics import TopicSpec, ensure_topics

        filters = _filters(**options)
        kafka, topics = _topics(config_path, topic)
        letters = on_kafka(kafka, dead_letters(kafka, topics, filters))
        before = [letter for letter in letters if letter.replayed_at]
        chosen = letters if again else [letter for letter in letters if not letter.replayed_at]
        click.echo(
            f"{len(chosen)} dead letter(s) to replay"
            + (
                f" ({len(before)} replayed before: left out, add --again)"
                if before and not again
                else ""
            )
        )
        for origin in sorted({letter.origin for letter in chosen}):
            count = sum(1 for letter in chosen if letter.origin == origin)
            click.echo(f"  {count} to {origin}")
        if dry_run or not chosen:
            return
        confirm("Replay them?", yes)
        done = 0

        async def run() -> None:
            nonlocal done
            await ensure_topics(
                kafka, [TopicSpec.for_name(REPLAYED_TOPIC, 1, kafka.replication_factor)]
            )
            producer = make_producer(kafka, client_id="ferry-dlq-replay")
            await producer.start()
            try:
                with Progress(transient=True) as progress:
                    task = progress.add_task("replaying", total=len(chosen))
                    for letter in chosen:
                        # One at a time, each remembered once Kafka has it: an interrupted run
                        # is resumed by running it again, without sending any twice.
                        done += await replay(producer, [letter])
                        progress.advance(task)
            finally:
                await producer.stop()

        try:
            on_kafka(kafka, run())
        except (KeyboardInterrupt, click.ClickException) as exc:
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"stopped: {exc}"
            raise click.ClickException(
                f"{reason}; replayed {done} of {len(chosen)} dead letter(s), each remembered: "
                "run the same command again to replay the rest"
                + (" (without --again)" if again else "")
            ) from None
        click.echo(f"replayed {done} dead letter(s)")
