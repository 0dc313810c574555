"""``ferry publish``: publish one event, or a JSON Lines file of them, through the publish API.

The app key comes from ``FERRY_APP_KEY`` or ``--key-file`` (never an option: it would land in
the shell's history); the gateway from ``--url`` or the configuration.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from ferry.cli.config import config_option, load_registry
from ferry.client import Event, FerryClient, PublishError

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
    service = load_registry(config_path).service("gateway")
    host = "127.0.0.1" if service.host in ("0.0.0.0", "::") else service.host
    return f"http://{host}:{service.port}"


def _parse(text: str, where: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError as exc:
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
    """One event per non-empty line: ``{"type", "data", "id"?, "subject"?}``."""
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                raw = json.loads(text, parse_float=Decimal)
            except ValueError as exc:
                yield Line(number, None, f"not JSON: {exc}")
                continue
            if (
                not isinstance(raw, dict)
                or not isinstance(raw.get("type"), str)
                or "data" not in raw
            ):
                yield Line(number, None, 'each line needs "type" (a string) and "data"')
                continue
            unknown = set(raw) - {"type", "data", "id", "subject"}
            if unknown:
                yield Line(number, None, f"unknown keys: {', '.join(sorted(unknown))}")
                continue
            yield Line(number, Event(raw["type"], raw["data"], raw.get("id"), raw.get("subject")))


def _publish_file(client: FerryClient, path: Path, batch_size: int) -> tuple[int, int, list[str]]:
    from rich.progress import Progress

    lines = list(read_lines(path))
    accepted, rejected, errors = 0, 0, []
    for line in lines:
        if line.problem is not None:
            rejected += 1
            errors.append(f"line {line.number}: {line.problem}")
    good = [line for line in lines if line.event is not None]
    with Progress(transient=True) as progress:
        task = progress.add_task("publishing", total=len(good))
        for start in range(0, len(good), batch_size):
            chunk = good[start : start + batch_size]
            answer = client.publish_batch([line.event for line in chunk if line.event])
            for line, result in zip(chunk, answer.results, strict=False):
                if result.accepted:
                    accepted += 1
                else:
                    rejected += 1
                    where = f" {result.field}" if result.field else ""
                    rule = f" ({result.rule})" if result.rule else ""
                    errors.append(f"line {line.number}:{where}{rule} {result.error}")
            progress.advance(task, len(chunk))
    return accepted, rejected, errors


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
        key = _key(key_file)
        client = client_factory(_url(url, config_path), key)
        try:
            if file is not None:
                if not file.exists():
                    raise click.UsageError(f"--file {file}: no such file")
                accepted, rejected, errors = _publish_file(client, file, batch_size)
                click.echo(f"accepted {accepted}, rejected {rejected}")
                for error in errors[:SHOWN_ERRORS]:
                    click.echo(f"  {error}", err=True)
                if len(errors) > SHOWN_ERRORS:
                    click.echo(f"  … and {len(errors) - SHOWN_ERRORS} more", err=True)
                if rejected:
                    sys.exit(1)
                return
            assert event_type is not None
            assert data is not None
            result = client.publish(event_type, _data(data), id=event_id)
            note = " (already published: nothing new)" if result.replayed else ""
            click.echo(f"accepted {', '.join(result.ids)}{note}")
        except PublishError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        finally:
            client.close()
