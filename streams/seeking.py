"""Where a stream partition starts after a rebalance: its committed offset, or its beginning.

faust seeks every assigned partition to its committed offset once a rebalance is done
(``Consumer.perform_seek``), through aiokafka's ``seek_to_committed``, which leaves a partition
alone when its committed offset is missing or 0. On a group that has committed nothing yet for
a partition, the records faust fetched for it before the rebalance and then skipped (the
stream drops what a previous generation queued) are then never fetched again: the partition
goes on past them, and they stay unprocessed until the group is restarted. Here such a
partition is sought to its beginning (Ferry's streams read from the earliest offset) or to 0,
so it starts where its committed offset says it should. Paused partitions (a table's
changelog, which recovery positions itself) are left where they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

__all__ = ["committed_or_beginning", "cover_uncommitted_partitions"]


async def committed_or_beginning(
    consumer: AIOKafkaConsumer,
) -> Mapping[TopicPartition, int | None]:
    """Seek every assigned partition that is not paused to its committed offset, or to its
    beginning if it has none; return the committed offsets of all assigned partitions
    (``None``: none yet), as aiokafka's ``seek_to_committed`` does."""
    committed: Mapping[TopicPartition, int | None] = await consumer.seek_to_committed()
    paused = consumer.paused()
    uncommitted = []
    for tp, offset in committed.items():
        if tp in paused:
            continue
        if offset is None:
            uncommitted.append(tp)
        elif offset == 0:
            consumer.seek(tp, 0)
    if uncommitted:
        await consumer.seek_to_beginning(*uncommitted)
    return committed


def cover_uncommitted_partitions(consumer: Any) -> None:
    """Make the faust ``consumer`` (its aiokafka driver thread) seek with
    :func:`committed_or_beginning` whenever it seeks to committed offsets."""
    thread = consumer._thread

    async def seek_to_committed() -> Mapping[TopicPartition, int | None]:
        result: Mapping[TopicPartition, int | None] = await thread.call_thread(
            committed_or_beginning, thread._ensure_consumer()
        )
        return result

    thread.seek_to_committed = seek_to_committed
