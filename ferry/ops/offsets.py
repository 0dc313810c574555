"""Consumer group offsets: where a group stands, and moving it (``ferry offsets``).

A reset is refused while the group has members (as Kafka's own ``kafka-consumer-groups.sh``
refuses): stop the service first. Each partition's offset before and after is reported, with the
number of records the group will read again (or skip).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from ferry.kafka import KafkaTarget, connection
from ferry.ops.reading import partitions_of

__all__ = ["GroupBusy", "Move", "PartitionOffsets", "group_state", "offsets", "reset"]


class GroupBusy(RuntimeError):
    """The group has members: its offsets cannot be moved under them."""


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    topic: str
    partition: int
    committed: int | None
    start: int
    end: int

    @property
    def lag(self) -> int:
        return self.end - max(
            self.committed if self.committed is not None else self.start, self.start
        )


@dataclass(frozen=True, slots=True)
class Move:
    topic: str
    partition: int
    before: int | None
    after: int

    @property
    def reread(self) -> int:
        """Records read again (positive) or skipped (negative) by the move."""
        return (self.before if self.before is not None else self.after) - self.after


async def group_state(kafka: KafkaTarget, group: str) -> tuple[str, int]:
    """(state, number of members) of ``group``."""
    admin = AIOKafkaAdminClient(**connection(kafka))
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    described: Any = response.to_object()
    [entry] = described["groups"]
    return str(entry["state"]), len(entry["members"])


async def _tps(
    admin: AIOKafkaAdminClient, kafka: KafkaTarget, group: str, topics: Iterable[str]
) -> list[TopicPartition]:
    chosen = list(topics)
    if not chosen:
        committed = await admin.list_consumer_group_offsets(group)
        chosen = sorted({tp.topic for tp in committed})
    return [TopicPartition(t, p) for t in chosen for p in await partitions_of(kafka, t)]


async def offsets(
    kafka: KafkaTarget, group: str, topics: Iterable[str] = ()
) -> list[PartitionOffsets]:
    """Every partition ``group`` has committed (or of ``topics``): committed, start, end."""
    admin = AIOKafkaAdminClient(**connection(kafka))
    await admin.start()
    consumer = AIOKafkaConsumer(**connection(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await _tps(admin, kafka, group, topics)
        if not tps:
            return []
        committed = await admin.list_consumer_group_offsets(group, partitions=tps)
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
        await admin.close()
    out = []
    for tp in sorted(tps):
        meta = committed.get(tp)
        done = meta.offset if meta is not None and meta.offset >= 0 else None
        out.append(PartitionOffsets(tp.topic, tp.partition, done, starts[tp], ends[tp]))
    return out


async def reset(
    kafka: KafkaTarget,
    group: str,
    *,
    topics: Iterable[str] = (),
    to_datetime: datetime | None = None,
    to_earliest: bool = False,
    to_latest: bool = False,
    shift_by: int | None = None,
    dry_run: bool = False,
) -> list[Move]:
    """Move ``group``'s offsets (exactly one way given); GroupBusy while it has members."""
    ways = [to_datetime is not None, to_earliest, to_latest, shift_by is not None]
    if sum(ways) != 1:
        raise ValueError("choose one of --to-datetime, --to-earliest, --to-latest, --shift-by")
    state, members = await group_state(kafka, group)
    if members:
        raise GroupBusy(
            f"group {group} has {members} member(s) ({state}): stop its consumers first"
        )
    current = await offsets(kafka, group, topics)
    if not current:
        return []
    tps = [TopicPartition(p.topic, p.partition) for p in current]
    consumer = AIOKafkaConsumer(
        **connection(kafka),
        group_id=group,
        enable_auto_commit=False,
        client_id=f"ferry-offsets-{uuid.uuid4().hex[:8]}",
    )
    await consumer.start()
    try:
        found: dict[TopicPartition, Any] = {}
        if to_datetime is not None:
            stamp = int(to_datetime.timestamp() * 1000)
            found = await consumer.offsets_for_times(dict.fromkeys(tps, stamp))
        moves = []
        for part, tp in zip(current, tps, strict=True):
            if to_earliest:
                after = part.start
            elif to_latest:
                after = part.end
            elif shift_by is not None:
                base = part.committed if part.committed is not None else part.start
                after = min(max(base + shift_by, part.start), part.end)
            else:
                hit = found.get(tp)
                after = part.end if hit is None else int(hit.offset)
            moves.append(Move(part.topic, part.partition, part.committed, after))
        if not dry_run:
            consumer.assign(tps)
            await consumer.commit(
                {tp: OffsetAndMetadata(m.after, "") for tp, m in zip(tps, moves, strict=True)}
            )
        return moves
    finally:
        await consumer.stop()
