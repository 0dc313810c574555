"""One event through one flow, without Kafka: decode, envelope, validate, ownership, map, encode.

:meth:`FlowProcessor.process` returns an :class:`Output` (the bytes for the target topic) or a
:class:`Failure` (the permanent error and its stage, for the dead letter); it does no I/O.
``Output.digest`` hashes the mapped content without the flow's version field (the Avro body
without that field, from the one pass of the encoder: :meth:`ferry.serde.Serde.encode_digest`),
so a re-sent event whose content did not change is recognised by the change-only filter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ferry.envelope import CloudEvent, Headers
from ferry.errors import DecodeError, PermanentError, ValidationError
from ferry.flow import Flow
from ferry.ops.dlq import REPLAY_COUNT
from ferry.ownership import OwnershipGuard
from ferry.serde import Serde

__all__ = ["Failure", "FlowProcessor", "Output"]


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


FUTURE_VERSION = "future_version"
DEFAULT_MAX_FUTURE = timedelta(hours=24)


def _arithmetic(exc: ArithmeticError) -> ValidationError:
    """An arithmetic error (overflow, division by zero) on an event's content: a dead letter
    with rule ``arithmetic``, never a crashed worker."""
    return ValidationError("(record)", "arithmetic", type(exc).__name__, str(exc) or None)


class FlowProcessor:
    """The pure part of one flow."""

    def __init__(
        self,
        flow: Flow,
        guard: OwnershipGuard,
        serde: Serde,
        *,
        max_future: timedelta = DEFAULT_MAX_FUTURE,
    ) -> None:
        self.flow = flow
        self.max_future = max_future
        self._guard = guard
        self._serde = serde
        self._source_type = flow.source.event_type
        self._target_type = flow.target.event_type
        self.source_system = flow.source.system.name
        self.target_system = flow.target.system.name
        self.ce_source = f"ferry/streams/{flow.name}"

    def process(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]] | None,
    ) -> Output | Failure | None:
        """The output, the failure, or ``None`` when the mapping has nothing for the target."""
        flow = self.flow
        try:
            if value is None:
                raise DecodeError("the record has no value (a tombstone is not an event)")
            envelope = CloudEvent.from_headers(headers)
            decoded = self._serde.decode(value)
            if decoded.event_type != self._source_type:
                raise DecodeError(
                    f"expected a {self._source_type} event on {flow.source.topic}, "
                    f"got {decoded.event_type}"
                )
        except PermanentError as exc:
            return Failure("decode", exc)
        try:
            flow.validate(decoded.record)
            self._guard.check(
                source=self.source_system, entity=flow.entity, target=self.target_system
            )
        except PermanentError as exc:
            return Failure("validate", exc)
        except ArithmeticError as exc:  # a rule's arithmetic on this content: the content's
            return Failure("validate", _arithmetic(exc))
        try:
            mapped = flow.map(decoded.record)
            if mapped is None:
                return None
            self._check_version(mapped)
            data, digest = self._serde.encode_digest(
                self._target_type, mapped, exclude=flow.version_field
            )
        except ValidationError as exc:
            stage = "validate" if exc.rule == FUTURE_VERSION else "map"
            return Failure(stage, exc)
        except PermanentError as exc:
            return Failure("map", exc)
        except ArithmeticError as exc:
            return Failure("map", _arithmetic(exc))
        time_header: bytes | None = None
        replays: bytes | None = None
        for name, raw in headers or ():
            if name == "ce_time":
                time_header = raw
            elif name == REPLAY_COUNT:
                replays = raw
        out_headers = envelope.derived_headers(
            type=self._target_type, source=self.ce_source, time_header=time_header
        )
        if replays is not None:  # a replay stays one downstream (its ce_time is the original's)
            out_headers.append((REPLAY_COUNT, replays))
        return Output(key, data, out_headers, digest)

    def _check_version(self, mapped: Mapping[str, Any]) -> None:
        """A version too far ahead would freeze the entity (nothing newer could ever win)."""
        name = self.flow.version_field
        version = mapped.get(name) if name else None
        if isinstance(version, datetime) and version.tzinfo is not None:
            limit = datetime.now(UTC) + self.max_future
            if version > limit:
                raise ValidationError(
                    str(name),
                    FUTURE_VERSION,
                    version.isoformat(),
                    f"more than {self.max_future} ahead of now",
                )
