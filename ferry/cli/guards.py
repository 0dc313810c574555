"""What the operations commands check before they touch anything.

An unknown topic or group is a one-line error naming it (exit 2), like a wrong option; a
command that changes something asks first on a terminal and refuses without one unless given
``--yes``; a broker that cannot be reached is one line too, not a traceback.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import click
from aiokafka.errors import KafkaError

from ferry.cli.config import ConfigProblem
from ferry.errors import ConfigError

if TYPE_CHECKING:
    from ferry.kafka import KafkaTarget

__all__ = ["NotFound", "confirm", "on_kafka", "require_group", "require_topic"]

T = TypeVar("T")


class NotFound(click.ClickException):
    """A topic or a group that is not there: one line, exit status 2."""

    exit_code = 2


def _where(kafka: KafkaTarget) -> str:
    """The bootstrap servers of ``kafka``, to name it in a message (never its password)."""
    from ferry.kafka import kafka_settings

    return kafka_settings(kafka).bootstrap_servers


def on_kafka(kafka: KafkaTarget, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``; a Kafka error (an unreachable broker, a refused record) is one line
    naming ``kafka``'s bootstrap servers, and so is a SASL password that cannot be read."""
    try:
        return asyncio.run(work)
    except ConfigError as exc:
        raise ConfigProblem(exc) from None
    except (KafkaError, OSError) as exc:
        raise click.ClickException(
            f"Kafka ({_where(kafka)}): {type(exc).__name__}: {exc}"
        ) from None


def require_topic(kafka: KafkaTarget, topic: str) -> None:
    from ferry.ops.reading import partitions_of

    if not on_kafka(kafka, partitions_of(kafka, topic)):
        raise NotFound(f"no topic {topic!r} on {_where(kafka)}")


async def _known_group(kafka: KafkaTarget, group: str) -> tuple[bool, list[str]]:
    from aiokafka.admin import AIOKafkaAdminClient

    from ferry.kafka import connection

    admin = AIOKafkaAdminClient(**connection(kafka))
    await admin.start()
    try:
        groups = sorted(str(entry[0]) for entry in await admin.list_consumer_groups())
    finally:
        await admin.close()
    return group in groups, groups


def require_group(kafka: KafkaTarget, group: str) -> None:
    """A group Kafka knows (it has members or committed offsets)."""
    known, groups = on_kafka(kafka, _known_group(kafka, group))
    if not known:
        shown = ", ".join(groups[:10]) + (" …" if len(groups) > 10 else "")
        raise NotFound(
            f"no consumer group {group!r} on {_where(kafka)} (groups: {shown or 'none'})"
        )


def confirm(question: str, yes: bool, *, interactive: Callable[[], bool] | None = None) -> None:
    """Go on with ``--yes``; else ask on a terminal (no: abort), and refuse without one."""
    if yes:
        return
    on_terminal = interactive() if interactive is not None else sys.stdin.isatty()
    if not on_terminal:
        raise click.ClickException(
            f"refused: {question!r} needs an answer and there is no terminal to ask on; "
            "add --yes to go on (or --dry-run to see what it would do)"
        )
    click.confirm(question, abort=True)
