"""``python -m tests.support.dropping_streams --drop TOPIC:PARTITION:OFFSET [ferry streams
options]``: the streams worker, with a fault: its faust consumer drops that fetched event
once, as faust does with an event it fetched while its flow was suspended (a rebalance, a
table recovery), instead of handing it to the stream."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

import streams.app
from ferry.cli.streams import streams_command


def dropping(drop: tuple[str, int, int]) -> None:
    """Make every consumer the streams app creates drop the event at ``drop`` once."""
    new_consumer = streams.app._App._new_consumer
    dropped: list[int] = []

    def _new_consumer(self: Any) -> Any:
        consumer = new_consumer(self)
        deliver: Callable[[Any], Awaitable[None]] = consumer.callback

        async def callback(message: Any) -> None:
            at = (message.topic, message.partition, message.offset)
            if at == drop and not dropped:
                dropped.append(message.offset)
                print(f"fault: dropped {at}", flush=True)
                return
            await deliver(message)

        consumer.callback = callback
        return consumer

    streams.app._App._new_consumer = _new_consumer  # type: ignore[method-assign]


def main() -> None:
    args = sys.argv[1:]
    where = args.index("--drop")
    topic, partition, offset = args[where + 1].rsplit(":", 2)
    dropping((topic, int(partition), int(offset)))
    del args[where : where + 2]
    streams_command(args)


if __name__ == "__main__":
    main()
