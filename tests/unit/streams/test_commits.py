"""A stream partition's commit never passes an offset that was not acked (faust's own
consumer, no broker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from faust.types import TP
from faust.types.tuples import Message

from streams.app import StreamsApp
from tests.support.flows import shop_orders_alone

TOPIC = "src.shop.orders"
TP2 = TP(TOPIC, 2)


@pytest.fixture
def consumer(tmp_path: Path) -> Any:
    app = StreamsApp(shop_orders_alone(tmp_path)).app
    app.topics.acking_topics.add(TOPIC)  # as once the agent subscribed
    return app.consumer


def ack(consumer: Any, *offsets: int) -> None:
    for offset in offsets:
        message = Message(TOPIC, 2, offset, 0.0, 0, [], b"k", b"v", None, tp=TP2)
        assert consumer.ack(message)


def test_an_unacked_event_at_the_committed_offset_holds_the_commit(consumer: Any) -> None:
    """The case faust lets through: 7729 committed (next to read), 7730.. acked, 7729 not."""
    consumer._committed_offset[TP2] = 7729
    ack(consumer, 7730, 7731, 7732)
    assert consumer._new_offset(TP2) is None
    ack(consumer, 7729)  # the event at the head is done: all four go
    assert consumer._new_offset(TP2) == 7733


def test_a_run_from_the_committed_offset_commits_up_to_its_first_hole(consumer: Any) -> None:
    consumer._committed_offset[TP2] = 10
    ack(consumer, 10, 11, 12, 14)
    assert consumer._new_offset(TP2) == 13


def test_an_offset_known_to_hold_no_record_counts_as_acked(consumer: Any) -> None:
    consumer._committed_offset[TP2] = 40
    consumer._gap[TP2].addi(40, 42)  # 40 and 41 hold no record (transaction markers)
    ack(consumer, 42, 43)
    assert consumer._new_offset(TP2) == 44


def test_a_partition_with_nothing_committed_commits_its_first_run(consumer: Any) -> None:
    ack(consumer, 0, 1, 2)
    assert consumer._new_offset(TP2) == 3
