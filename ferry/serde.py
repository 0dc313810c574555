"""Avro values on the bus: single-object encoding, or the Confluent wire format.

Both put a small header before the Avro binary body::

    single object   C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint | body
    confluent       00    | 4-byte big-endian schema id                   | body

A ``Serde`` encodes with the latest version of an event type's schema (or a given version)
and decodes by finding the writer schema from the header, then resolving the body to the
reader's schema: the latest version of the same type, unless a version is given. Decimals are
``decimal.Decimal``; timestamps are timezone-aware ``datetime`` (a naive one is refused, since
fastavro would read it as the machine's local time).

Every failure to decode raises :class:`ferry.errors.DecodeError`; a record that does not fit
its schema raises :class:`ferry.errors.ValidationError` at encode time.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import fastavro
from fastavro.validation import validate

from ferry import privacy
from ferry.errors import DecodeError, ValidationError
from ferry.schemas import SchemaError, SchemaRegistry, SchemaVersion, default_registry

__all__ = [
    "AVRO_CONTENT_TYPE",
    "CONFLUENT_MAGIC",
    "SINGLE_OBJECT_MAGIC",
    "BytesLike",
    "ConfluentSerde",
    "Decoded",
    "Serde",
    "SingleObjectSerde",
]

AVRO_CONTENT_TYPE = "application/avro"
SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"
BytesLike = bytes | bytearray | memoryview
_SO_HEADER = len(SINGLE_OBJECT_MAGIC) + 8
_CF_HEADER = len(CONFLUENT_MAGIC) + 4


class Decoded(NamedTuple):
    event_type: str
    record: dict[str, Any]
    writer: SchemaVersion
    """The schema the bytes were written with (the record has the reader's shape)."""


class Serde(Protocol):
    """Turns an event's record into the bytes of a Kafka value, and back."""

    content_type: str

    def encode(
        self, event_type: str, record: Mapping[str, Any], *, version: int | None = None
    ) -> bytes: ...

    def decode(self, data: BytesLike, *, reader_version: int | None = None) -> Decoded: ...

    def encode_digest(
        self, event_type: str, record: Mapping[str, Any], *, exclude: str | None = None
    ) -> tuple[bytes, str]:
        """:meth:`encode` with the latest version, and a digest of the Avro body without
        the top-level field ``exclude``: equal content (that field aside) gives an equal
        digest, in one pass of the encoder."""
        ...


_NO_DEFAULT = object()


@dataclass(frozen=True, slots=True)
class _Split:
    """A record schema cut around one field: the fields before it, it, the fields after."""

    head: Any  # parsed schemas
    field: Any
    name: str
    default: Any  # the field's default (_NO_DEFAULT: none)
    tail: Any

    @classmethod
    def of(cls, sv: SchemaVersion, name: str) -> _Split | None:
        """None when the schema has no such top-level field."""
        source = dict(sv.source)
        fields = list(source["fields"])
        at = next((i for i, f in enumerate(fields) if f["name"] == name), None)
        if at is None:
            return None

        def part(suffix: str, chosen: list[Any]) -> dict[str, Any]:
            record = {"type": "record", "name": f"{source['name']}__{suffix}", "fields": chosen}
            if "namespace" in source:
                record["namespace"] = source["namespace"]
            return record

        named: dict[str, Any] = {}  # named types in encoding order: defined once, then named
        head = fastavro.parse_schema(part("head", fields[:at]), named)
        field = fastavro.parse_schema(fields[at]["type"], named)
        tail = fastavro.parse_schema(part("tail", fields[at + 1 :]), named)
        return cls(head, field, name, fields[at].get("default", _NO_DEFAULT), tail)

    def write(self, buf: io.BytesIO, record: Mapping[str, Any]) -> str:
        """Write ``record``'s body (the same bytes as the whole schema writes); return the
        digest of the bytes before and after the field."""
        start = buf.tell()
        fastavro.schemaless_writer(buf, self.head, record)
        cut = buf.tell()
        value = record.get(self.name, self.default)
        if value is _NO_DEFAULT:
            raise KeyError(self.name)
        fastavro.schemaless_writer(buf, self.field, value)
        resume = buf.tell()
        fastavro.schemaless_writer(buf, self.tail, record)
        view = buf.getbuffer()
        try:
            digest = hashlib.blake2b(view[start:cut], digest_size=16)
            digest.update(view[resume:])
        finally:
            view.release()
        return digest.hexdigest()


class _AvroCodec:
    """The Avro body, shared by both wire formats; caches what it can per schema."""

    content_type = AVRO_CONTENT_TYPE

    def __init__(self, registry: SchemaRegistry | None = None) -> None:
        self.registry = registry if registry is not None else default_registry()
        self._tz_checks: dict[int, _Check | None] = {}
        self._splits: dict[tuple[int, str | None], _Split | None] = {}

    def _writer_for(self, event_type: str, version: int | None) -> SchemaVersion:
        if version is None:
            return self.registry.latest(event_type)
        return self.registry.get(event_type, version)

    def _reader_for(self, writer: SchemaVersion, reader_version: int | None) -> SchemaVersion:
        try:
            return self._writer_for(writer.event_type, reader_version)
        except SchemaError as exc:
            raise DecodeError(f"{writer.ref}: no reader schema: {exc}") from exc

    def _write_header(self, buf: io.BytesIO, sv: SchemaVersion) -> None:
        raise NotImplementedError

    def encode_digest(
        self, event_type: str, record: Mapping[str, Any], *, exclude: str | None = None
    ) -> tuple[bytes, str]:
        sv = self._writer_for(event_type, None)
        cached = (sv.fingerprint, exclude)
        if cached not in self._splits:
            self._splits[cached] = None if exclude is None else _Split.of(sv, exclude)
        split = self._splits[cached]
        buf = io.BytesIO()
        self._write_header(buf, sv)
        start = buf.tell()
        if split is None:
            self._write_body(buf, sv, record)
            body = buf.getbuffer()[start:]
            try:
                digest = hashlib.blake2b(body, digest_size=16).hexdigest()
            finally:
                body.release()
            return buf.getvalue(), digest
        self._check_timestamps(sv, record)
        try:
            digest = split.write(buf, record)
        except Exception:  # the whole schema's writer names the field and the rule
            self._write_body(io.BytesIO(), sv, record)
            raise
        return buf.getvalue(), digest

    def _check_timestamps(self, sv: SchemaVersion, record: Mapping[str, Any]) -> None:
        fp = sv.fingerprint
        if fp not in self._tz_checks:
            self._tz_checks[fp] = _tz_check(sv.parsed, {})
        check = self._tz_checks[fp]
        if check is not None:
            try:
                check(record)
            except _NaiveDatetime as exc:
                raise ValidationError(
                    ".".join(reversed(exc.path)), "timezone-aware datetime", exc.value
                ) from None

    def _write_body(self, buf: io.BytesIO, sv: SchemaVersion, record: Mapping[str, Any]) -> None:
        self._check_timestamps(sv, record)
        try:
            fastavro.schemaless_writer(buf, sv.parsed, record)
        except Exception as exc:  # fastavro raises ValueError, TypeError, KeyError, ...
            raise _encode_error(sv, record, exc) from exc

    def _read_body(
        self, data: bytes, offset: int, writer: SchemaVersion, reader: SchemaVersion
    ) -> dict[str, Any]:
        buf = io.BytesIO(data)
        buf.seek(offset)
        try:
            if reader is writer:
                record = fastavro.schemaless_reader(buf, writer.parsed, None)
            else:
                record = fastavro.schemaless_reader(buf, writer.parsed, reader.parsed)
        except Exception as exc:  # EOFError, struct.error, IndexError, UnicodeDecodeError, ...
            detail = str(exc) or "unexpected end of data"
            raise DecodeError(
                f"{writer.ref}: corrupt or truncated Avro body "
                f"({len(data) - offset} bytes): {type(exc).__name__}: {detail}"
            ) from exc
        if buf.tell() != len(data):
            raise DecodeError(
                f"{writer.ref}: {len(data) - buf.tell()} trailing bytes after the Avro body"
            )
        if not isinstance(record, dict):
            raise DecodeError(f"{writer.ref}: the body is not a record")
        return record


class SingleObjectSerde(_AvroCodec):
    """Avro single-object encoding; the writer schema is found by its fingerprint."""

    def encode(
        self, event_type: str, record: Mapping[str, Any], *, version: int | None = None
    ) -> bytes:
        sv = self._writer_for(event_type, version)
        buf = io.BytesIO()
        self._write_header(buf, sv)
        self._write_body(buf, sv, record)
        return buf.getvalue()

    def _write_header(self, buf: io.BytesIO, sv: SchemaVersion) -> None:
        buf.write(SINGLE_OBJECT_MAGIC)
        buf.write(sv.fingerprint_bytes)

    def decode(self, data: BytesLike, *, reader_version: int | None = None) -> Decoded:
        data = bytes(data)  # a no-op for bytes
        if len(data) < _SO_HEADER:
            raise DecodeError(
                f"too short for Avro single-object encoding: {len(data)} bytes, "
                f"the header alone is {_SO_HEADER}"
            )
        if data[:2] != SINGLE_OBJECT_MAGIC:
            raise DecodeError(
                f"not Avro single-object encoding: magic {data[:2].hex()}, expected c301"
            )
        fingerprint = int.from_bytes(data[2:_SO_HEADER], "little")
        writer = self.registry.by_fingerprint(fingerprint)
        if writer is None:
            raise DecodeError(
                f"unknown writer schema fingerprint {data[2:_SO_HEADER].hex()}: "
                "no schema under schemas/ has it"
            )
        reader = self._reader_for(writer, reader_version)
        return Decoded(writer.event_type, self._read_body(data, _SO_HEADER, writer, reader), writer)


class ConfluentSerde(_AvroCodec):
    """Confluent Schema Registry wire format, with ids from a fixed mapping (no server).

    ``schema_ids`` maps each registry id to the ``(event_type, version)`` it stands for.
    """

    def __init__(
        self,
        schema_ids: Mapping[int, tuple[str, int]],
        registry: SchemaRegistry | None = None,
    ) -> None:
        super().__init__(registry)
        self._by_id: dict[int, SchemaVersion] = {}
        self._id_of: dict[int, int] = {}
        for schema_id, (event_type, version) in schema_ids.items():
            if not 0 <= schema_id < 2**31:
                raise SchemaError(str(schema_id), "a schema id is a non-negative 32-bit int")
            sv = self.registry.get(event_type, version)
            if sv.fingerprint in self._id_of:
                raise SchemaError(sv.ref, "mapped to two schema ids")
            self._by_id[schema_id] = sv
            self._id_of[sv.fingerprint] = schema_id

    def encode(
        self, event_type: str, record: Mapping[str, Any], *, version: int | None = None
    ) -> bytes:
        sv = self._writer_for(event_type, version)
        buf = io.BytesIO()
        self._write_header(buf, sv)
        self._write_body(buf, sv, record)
        return buf.getvalue()

    def _write_header(self, buf: io.BytesIO, sv: SchemaVersion) -> None:
        schema_id = self._id_of.get(sv.fingerprint)
        if schema_id is None:
            raise SchemaError(sv.ref, "has no Confluent schema id in the mapping")
        buf.write(CONFLUENT_MAGIC)
        buf.write(schema_id.to_bytes(4, "big"))

    def decode(self, data: BytesLike, *, reader_version: int | None = None) -> Decoded:
        data = bytes(data)  # a no-op for bytes
        if len(data) < _CF_HEADER:
            raise DecodeError(
                f"too short for the Confluent wire format: {len(data)} bytes, "
                f"the header alone is {_CF_HEADER}"
            )
        if data[:1] != CONFLUENT_MAGIC:
            raise DecodeError(f"not the Confluent wire format: magic {data[:1].hex()}, expected 00")
        schema_id = int.from_bytes(data[1:_CF_HEADER], "big")
        writer = self._by_id.get(schema_id)
        if writer is None:
            raise DecodeError(f"unknown Confluent schema id {schema_id}: not in the mapping")
        reader = self._reader_for(writer, reader_version)
        return Decoded(writer.event_type, self._read_body(data, _CF_HEADER, writer, reader), writer)


def _encode_error(sv: SchemaVersion, record: Mapping[str, Any], exc: Exception) -> ValidationError:
    field, value = sv.event_type, None
    try:
        validate(record, sv.parsed, raise_errors=True)
    except Exception as found:
        errors = getattr(found, "errors", None)
        if errors:
            # fastavro names the field by its record's full name: io.ferry.<system>.<Record>.<field>
            field = ".".join(str(errors[0].field).split(".")[-2:])
            value = errors[0].datum
    # The value of a personal field is masked by ValidationError (in the detail too).
    detail = privacy.scrub(f"{type(exc).__name__}: {exc}")
    return ValidationError(field, f"does not fit {sv.ref}", value, detail)


# -- timezone-aware timestamps -------------------------------------------------------------

_Check = Callable[[Any], None]
_TIMESTAMPS = frozenset({"timestamp-millis", "timestamp-micros"})


class _NaiveDatetime(Exception):
    def __init__(self, value: datetime, name: str) -> None:
        super().__init__(name)
        self.value = value
        self.path = [name] if name else []


def _check_aware(value: Any) -> None:
    if isinstance(value, datetime) and value.utcoffset() is None:
        raise _NaiveDatetime(value, "")


def _tz_check(
    schema: Any, named: dict[str, Any], visiting: frozenset[str] = frozenset()
) -> _Check | None:
    """A function that walks only the parts of a record that hold timestamps, or None."""
    if isinstance(schema, str):
        if schema in visiting or schema not in named:
            return None  # a primitive, or a recursive reference (already being checked)
        return _tz_check(named[schema], named, visiting)
    if isinstance(schema, list):
        checks = [c for c in (_tz_check(b, named, visiting) for b in schema) if c is not None]
        if not checks:
            return None

        def check_union(value: Any) -> None:
            for check in checks:
                check(value)

        return check_union
    kind = schema.get("type")
    if schema.get("logicalType") in _TIMESTAMPS:
        return _check_aware
    if kind == "record":
        name = schema["name"]
        named[name] = schema
        inside = visiting | {name}
        fields = [
            (f["name"], c) for f in schema["fields"] if (c := _tz_check(f["type"], named, inside))
        ]
        if not fields:
            return None

        def check_record(value: Any) -> None:
            if isinstance(value, Mapping):
                for field_name, check in fields:
                    if field_name in value:
                        try:
                            check(value[field_name])
                        except _NaiveDatetime as exc:
                            exc.path.append(field_name)
                            raise

        return check_record
    if kind in ("array", "map"):
        inner = _tz_check(schema["items" if kind == "array" else "values"], named, visiting)
        if inner is None:
            return None

        def check_items(value: Any) -> None:
            if isinstance(value, Mapping):
                value = value.values()
            elif not isinstance(value, list | tuple):
                return
            for item in value:
                inner(item)

        return check_items
    if isinstance(kind, dict | list):
        return _tz_check(kind, named, visiting)
    return None
