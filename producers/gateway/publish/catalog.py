"""What connected apps may publish: the event types of the flows that take them from outside.

The flow registry is the one source: a flow with a :class:`~ferry.flow.PublishSource` makes its
source event type publishable, produced to the flow's source topic, validated against the
type's latest schema and keyed by the flow's ``key``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ferry.registry import Registry
from ferry.schemas import SchemaVersion

__all__ = ["PublishType", "publish_types"]


@dataclass(frozen=True, slots=True)
class PublishType:
    event_type: str
    topic: str
    schema: SchemaVersion
    key: Callable[[Mapping[str, Any]], str]


def publish_types(registry: Registry) -> dict[str, PublishType]:
    """Event type → how to publish it, for every enabled flow that connected apps may feed."""
    found: dict[str, PublishType] = {}
    for flow in registry.publish_flows():
        assert flow.publish is not None
        event_type = flow.source.event_type
        found[event_type] = PublishType(
            event_type=event_type,
            topic=flow.source.topic,
            schema=registry.schemas.latest(event_type),
            key=flow.publish.key,
        )
    return found
