"""CloudEvents 1.0 in Kafka's binary binding: metadata in headers, the Avro data as the value.

``ce_id`` is deterministic: derived from the source and the source's delivery id (a webhook's
delivery id), or from source, entity and version, so a redelivered webhook yields the same id and
is recognised downstream. ``traceparent`` (W3C) follows one change across stages.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ferry.errors import DecodeError
from ferry.timefmt import format_timestamp, parse_timestamp

__all__ = [
    "AVRO_CONTENT_TYPE",
    "CloudEvent",
    "Headers",
    "deterministic_id",
    "header",
    "new_traceparent",
]

Headers = list[tuple[str, bytes]]

SPECVERSION = "1.0"
_SPECVERSION_BYTES = SPECVERSION.encode()
AVRO_CONTENT_TYPE = "application/avro"
# Namespace for ce_id UUIDs: uuid5(NAMESPACE_URL, "https://ferry.dev/ce_id").
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://ferry.dev/ce_id")


_ID_PREFIX = _ID_NAMESPACE.bytes


def deterministic_id(source: str, *parts: str) -> str:
    """The same inputs always give the same id (a UUIDv5).

    ``uuid.uuid5`` without its ``UUID`` object: SHA-1 of namespace and name, the version and
    variant bits set, in the canonical 8-4-4-4-12 form.
    """
    name = "\x1f".join((source, *parts)).encode()
    raw = bytearray(hashlib.sha1(_ID_PREFIX + name).digest()[:16])  # noqa: S324 (UUIDv5 is SHA-1)
    raw[6] = (raw[6] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    x = raw.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


# Trace and span ids need to be unique, not secret (W3C Trace Context: "randomly generated"):
# the PRNG of ``random`` (seeded from the OS, and again in a forked child), without a system
# call per id (``secrets`` makes one each time).
def _span_id() -> str:
    return f"{random.getrandbits(64) or 1:016x}"  # all zeros is invalid


def new_traceparent() -> str:
    return f"00-{random.getrandbits(128) or 1:032x}-{_span_id()}-01"


def child_traceparent(parent: str | None) -> str:
    """Same trace, new span id; a missing or malformed parent starts a new trace."""
    parts = (parent or "").split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
        return f"{parts[0]}-{parts[1]}-{_span_id()}-{parts[3]}"
    return new_traceparent()


def header(headers: Iterable[tuple[str, bytes]] | None, name: str) -> str | None:
    """The last value of header ``name`` decoded as UTF-8, or None."""
    found: str | None = None
    for key, value in headers or ():
        if key == name:
            found = value.decode("utf-8", "replace") if value is not None else None
    return found


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """The envelope's attributes. ``subject`` is the entity key ``<system>:<model>:<id>``."""

    id: str
    source: str
    type: str
    subject: str
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    traceparent: str = field(default_factory=new_traceparent)
    content_type: str = AVRO_CONTENT_TYPE

    def to_headers(self) -> Headers:
        return [
            ("ce_specversion", SPECVERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", format_timestamp(self.time).encode()),
            ("ce_subject", self.subject.encode()),
            ("content-type", self.content_type.encode()),
            ("traceparent", self.traceparent.encode()),
        ]

    def derived_headers(
        self, *, type: str, source: str, time_header: bytes | None = None
    ) -> Headers:
        """``derive(type=..., source=...).to_headers()`` without the object in between; the
        stream stage's path for every event. ``time_header`` is the source event's ``ce_time``
        header as received, carried over as it is (the derived event's time is the source
        event's); without it the time is spelled anew."""
        return [
            ("ce_specversion", _SPECVERSION_BYTES),
            ("ce_id", deterministic_id(source, type, self.id).encode()),
            ("ce_source", source.encode()),
            ("ce_type", type.encode()),
            ("ce_time", time_header or format_timestamp(self.time).encode()),
            ("ce_subject", self.subject.encode()),
            ("content-type", self.content_type.encode()),
            ("traceparent", child_traceparent(self.traceparent).encode()),
        ]

    def derive(self, *, type: str, source: str, subject: str | None = None) -> CloudEvent:
        """The envelope of an event made from this one (same trace, derived deterministic id).

        ``time`` stays the source event's: the occurrence is the same change, and the sink that
        applies the derived event measures the end-to-end latency from it.
        """
        return CloudEvent(
            deterministic_id(source, type, self.id),
            source,
            type,
            subject or self.subject,
            self.time,
            child_traceparent(self.traceparent),
            self.content_type,
        )

    @classmethod
    def from_headers(cls, headers: Sequence[tuple[str, bytes]] | None) -> CloudEvent:
        values = {k: v.decode("utf-8", "replace") for k, v in headers or () if v is not None}
        missing = [n for n in ("ce_id", "ce_source", "ce_type") if not values.get(n)]
        if missing:
            raise DecodeError(f"not a CloudEvent: header {missing[0]} is missing")
        if values.get("ce_specversion", SPECVERSION) != SPECVERSION:
            raise DecodeError(
                f"ce_specversion: unsupported version {values['ce_specversion']!r} (expected 1.0)"
            )
        raw_time = values.get("ce_time")
        moment = parse_timestamp(raw_time) if raw_time else datetime.now(UTC)
        if moment is None:
            raise DecodeError(f"ce_time: not an RFC 3339 timestamp ({raw_time!r})")
        return cls(
            id=values["ce_id"],
            source=values["ce_source"],
            type=values["ce_type"],
            subject=values.get("ce_subject", ""),
            time=moment,
            traceparent=values.get("traceparent") or new_traceparent(),
            content_type=values.get("content-type", AVRO_CONTENT_TYPE),
        )
