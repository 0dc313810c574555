"""One event through one flow, without Kafka: decode, envelope, validate, ownership, map, encode.

:meth:`FlowProcessor.process` takes the raw key, value and headers of a source record and
returns either an :class:`Output` (the bytes to send to the target topic) or a :class:`Failure`
(the :class:`~ferry.errors.PermanentError` and the stage it happened in, for the dead letter).
It never does I/O, so the faust agent in :mod:`streams.app` only moves bytes, and the whole
pipeline is tested without a broker.

``Output.digest`` is a hash of the mapped content without ``source_updated_at``: a shop that
re-sends an order whose content did not change (only its ``updated_at``) is not a real change,
and the change-only filter drops it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ferry.envelope import CloudEvent, Headers
from ferry.errors import DecodeError, PermanentError
from ferry.serde import Serde
from ferry.settings import FlowSettings
from streams.flows.shop_orders.mapping import FlowMapping
from streams.ownership import OwnershipGuard, system_of_topic

__all__ = ["Failure", "FlowProcessor", "Output", "content_digest"]

Validator = Callable[[Mapping[str, Any]], None]
VERSION_FIELD = "source_updated_at"


@dataclass(frozen=True, slots=True)
class Output:
    key: bytes | None
    value: bytes
    headers: Headers
    digest: str


@dataclass(frozen=True, slots=True)
class Failure:
    stage: str  # decode | validate | map
    error: PermanentError


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot hash a {type(value).__name__}")


def content_digest(mapped: Mapping[str, Any]) -> str:
    """A stable hash of the mapped content, leaving out the source's version timestamp."""
    content = {k: v for k, v in mapped.items() if k != VERSION_FIELD}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=_jsonable)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class FlowProcessor:
    """The pure part of one flow (``settings.flows[i]`` with its mapping)."""

    def __init__(
        self,
        flow: FlowSettings,
        mapping: FlowMapping,
        validate: Validator,
        guard: OwnershipGuard,
        serde: Serde,
    ) -> None:
        self.flow = flow
        self.mapping = mapping
        self._validate = validate
        self._guard = guard
        self._serde = serde
        self.source_system = system_of_topic(flow.source)
        self.target_system = system_of_topic(flow.target)
        self.ce_source = f"ferry/streams/{flow.name}"

    def process(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]] | None,
    ) -> Output | Failure:
        try:
            if value is None:
                raise DecodeError("the record has no value (a tombstone is not an event)")
            envelope = CloudEvent.from_headers(headers)
            decoded = self._serde.decode(value)
            if decoded.event_type != self.mapping.source_type:
                raise DecodeError(
                    f"expected a {self.mapping.source_type} event on {self.flow.source}, "
                    f"got {decoded.event_type}"
                )
        except PermanentError as exc:
            return Failure("decode", exc)
        try:
            self._validate(decoded.record)
            self._guard.check(
                source=self.source_system, entity=self.mapping.entity, target=self.target_system
            )
        except PermanentError as exc:
            return Failure("validate", exc)
        try:
            mapped = self.mapping.map(decoded.record)
            data = self._serde.encode(self.mapping.target_type, mapped)
        except PermanentError as exc:
            return Failure("map", exc)
        derived = envelope.derive(type=self.mapping.target_type, source=self.ce_source)
        return Output(key, data, derived.to_headers(), content_digest(mapped))
