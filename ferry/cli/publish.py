"""``ferry publish``: publish one event, or a JSON Lines file of them, through the publish API.

The app key comes from ``FERRY_APP_KEY`` or ``--key-file`` (never an option: it would land in
the shell's history); the gateway from ``--url`` or the configuration.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ferry.cli.config import ConfigProblem, config_option, load_registry
from ferry.client import Event, FerryClient, PublishError
from ferry.client._json import dumps, loads
from ferry.errors import ConfigError

KEY_VARIABLE = "FERRY_APP_KEY"
SHOWN_ERRORS = 10

# The seam tests replace: how a client is made from (url, key).
client_factory: Callable[[str, str], FerryClient] = lambda url, key: FerryClient(url, key)  # noqa: E731


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    event: Event | None
    problem: str | None = None


def _key(key_file: Path | None) -> str:
    if key_file is not None:
        try:
            key = key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise click.UsageError(f"--key-file: cannot read it ({exc.strerror})") from None
    else:
        key = os.environ.get(KEY_VARIABLE, "").strip()
    if not key:
        raise click.UsageError(f"no app key: set {KEY_VARIABLE} or pass --key-file")
    return key


def _url(url: str | None, config_path: str | None) -> str:
    if url:
        return url
    try:
        service = load_registry(config_path).service("gateway")
    except ConfigError as exc:
        raise ConfigProblem(exc) from None
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(service.host, service.host)
    return f"http://{f'[{host}]' if ':' in host else host}:{service.port}"


def _parse(text: str, where: str) -> Any:
    try:
        return loads(text)  # fractions as Decimal: sent back with exactly their digits
    except (ValueError, RecursionError) as exc:
        raise click.UsageError(f"{where}: not JSON ({exc})") from None


def _data(value: str) -> Any:
    if value == "-":
        return _parse(sys.stdin.read(), "--data -")
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            return _parse(path.read_text(encoding="utf-8"), f"--data {value}")
        except OSError as exc:
            raise click.UsageError(f"--data {value}: cannot read it ({exc.strerror})") from None
    return _parse(value, "--data")


def read_lines(path: Path) -> Iterator[Line]:
    """One event per non-empty line: ``{"type", "data", "id"?, "subject"?}``; a line that is
    not one is a :class:`Line` with its ``problem`` (and is not sent)."""
    with path.open("rb") as lines:
        for number, raw_line in enumerate(lines, start=1):
            try:
                text = raw_line.decode("utf-8")
            except UnicodeDecodeError:
                yield Line(number, None, "not UTF-8")
                continue
            if not text.strip():
                continue
            try:
                raw = loads(text)
            except (ValueError, RecursionError) as exc:
                yield Line(number, None, f"not JSON: {exc}")
                continue
            if not isinstance(raw, dict):
                yield Line(number, None, 'not a JSON object {"type", "data", "id"?, "subject"?}')
                continue
            try:
                event = Event.of(raw)
                dumps(event.data, "data")  # what could not be sent fails here, on its line
            except (TypeError, ValueError) as exc:
                yield Line(number, None, str(exc))
                continue
            yield Line(number, event)


@dataclass(slots=True)
class Tally:
    """What a file's publishing came to: counts, line-numbered errors, and the refusal of a
    whole batch that stopped it (the events from there on were not sent)."""

    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: PublishError | None = None
    unsent: int = 0


def _publish_file(client: FerryClient, path: Path, batch_size: int) -> Tally:
    from rich.console import Console
    from rich.progress import Progress

    lines = list(read_lines(path))
    tally = Tally()
    for line in lines:
        if line.problem is not None:
            tally.rejected += 1
            tally.errors.append(f"line {line.number}: {line.problem}")
    good = [line for line in lines if line.event is not None]
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("publishing", total=len(good))
        for start in range(0, len(good), batch_size):
            chunk = good[start : start + batch_size]
            try:
                answer = client.publish_batch([line.event for line in chunk if line.event])
            except PublishError as exc:
                tally.stopped = exc
                tally.unsent = len(good) - start
                break
            for line, result in zip(chunk, answer.results, strict=True):
                if result.accepted:
                    tally.accepted += 1
                else:
                    tally.rejected += 1
                    where = f" {result.field}" if result.field else ""
                    rule = f" ({result.rule})" if result.rule else ""
                    tally.errors.append(f"line {line.number}:{where}{rule} {result.error}")
            progress.advance(task, len(chunk))
    return tally


def register(cli: click.Group) -> None:
    @cli.command()
    @config_option
    @click.argument("event_type", metavar="TYPE", required=False)
    @click.option("--data", "data", help="The event's data: JSON, @file.json, or - for stdin.")
    @click.option("--id", "event_id", help="The event's id [default: a new UUID].")
    @click.option(
        "--file", "file", type=click.Path(dir_okay=False, path_type=Path), help="A JSON Lines file."
    )
    @click.option("--batch-size", type=click.IntRange(1, 500), default=100, show_default=True)
    @click.option("--url", help="The gateway [default: services.gateway from the config].")
    @click.option(
        "--key-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"A file holding the app key [default: ${KEY_VARIABLE}].",
    )
    def publish(
        config_path: str | None,
        event_type: str | None,
        data: str | None,
        event_id: str | None,
        file: Path | None,
        batch_size: int,
        url: str | None,
        key_file: Path | None,
    ) -> None:
        """Publish an event of TYPE (--data), or every event of a JSON Lines file (--file)."""
        if (file is None) == (event_type is None):
            raise click.UsageError("give TYPE with --data, or --file (not both)")
        if event_type is not None and data is None:
            raise click.UsageError("TYPE needs --data (JSON, @file.json or -)")
        if file is not None and (data is not None or event_id is not None):
            raise click.UsageError("--data and --id go with TYPE; a --file line has its own")
        if file is not None and not file.is_file():
            raise click.UsageError(f"--file {file}: no such file")
        key = _key(key_file)
        value = _data(data) if data is not None else None
        try:
            client = client_factory(_url(url, config_path), key)
        except ValueError as exc:  # an unusable key: the message does not show it
            raise click.UsageError(str(exc)) from None
        try:
            if file is not None:
                tally = _publish_file(client, file, batch_size)
                click.echo(f"accepted {tally.accepted}, rejected {tally.rejected}")
                for error in tally.errors[:SHOWN_ERRORS]:
                    click.echo(f"  {error}", err=True)
                if len(tally.errors) > SHOWN_ERRORS:
                    click.echo(f"  … and {len(tally.errors) - SHOWN_ERRORS} more", err=True)
                if tally.stopped is not None:
                    click.echo(f"error: {tally.stopped}", err=True)
                    click.echo(f"{tally.unsent} events not sent", err=True)
                if tally.rejected or tally.stopped is not None:
                    sys.exit(1)
                return
            assert event_type is not None
            try:
                result = client.publish(event_type, value, id=event_id)
            except (TypeError, ValueError) as exc:  # an empty type or id, say
                raise click.UsageError(str(exc)) from None
            note = " (already published: nothing new)" if result.replayed else ""
            click.echo(f"accepted {', '.join(result.ids)}{note}")
        except PublishError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        finally:
            client.close()
