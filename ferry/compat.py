"""Schema evolution rules: every version must read what every earlier version wrote.

The policy is BACKWARD_TRANSITIVE: for each event type, version N as reader is checked against
every version M < N as writer with ``avro.compatibility``. On top of Avro's resolution rules,
a change of a logical type (``decimal`` precision or scale, ``timestamp-millis`` to
``-micros``) is refused too: Avro resolves on the underlying type alone, so such a change would
read every old value with a different meaning, without an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from avro.schema import ArraySchema, MapSchema, RecordSchema, Schema, UnionSchema, parse

from ferry.schemas import SchemaRegistry, SchemaVersion

__all__ = ["Incompatibility", "Mode", "PairResult", "check_pair", "check_registry"]

Mode = Literal["BACKWARD_TRANSITIVE", "FULL_TRANSITIVE"]

_LOGICAL_PROPS = ("logicalType", "precision", "scale")


@dataclass(frozen=True, slots=True)
class Incompatibility:
    location: str
    """Avro's JSON-pointer-like location in the reader schema, e.g. ``/fields/4/type``."""
    field: str | None
    """The same location as a field path, e.g. ``lines[].unit_price``, where it resolves."""
    kind: str
    message: str

    def __str__(self) -> str:
        if self.field is None:
            where = self.location
        elif self.field == self.location:
            where = f"field {self.field}"
        else:
            where = f"field {self.field} ({self.location})"
        return f"{where}: {self.kind}: {self.message}"


@dataclass(frozen=True, slots=True)
class PairResult:
    event_type: str
    reader_version: int
    writer_version: int
    incompatibilities: tuple[Incompatibility, ...]

    @property
    def ok(self) -> bool:
        return not self.incompatibilities


def check_pair(reader: SchemaVersion, writer: SchemaVersion) -> PairResult:
    """Can ``reader`` read every value written with ``writer``?"""
    reader_avro = _to_avro(reader.source)
    writer_avro = _to_avro(writer.source)
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(reader_avro, writer_avro)
    found: list[Incompatibility] = []
    if result.compatibility is SchemaCompatibilityType.incompatible:
        kinds = ", ".join(sorted({k.value for k in result.incompatibilities}))
        message = "; ".join(sorted(result.messages))
        # avro's merge keeps the root "/" of the compatible parts next to the real locations
        locations = sorted(result.locations - {"/"}) or ["/"]
        found.extend(
            Incompatibility(loc, _field_path(reader_avro, loc), kinds, message) for loc in locations
        )
    found.extend(_logical_changes(reader_avro, writer_avro, "", set()))
    return PairResult(reader.event_type, reader.version, writer.version, tuple(found))


def check_registry(
    registry: SchemaRegistry, mode: Mode = "BACKWARD_TRANSITIVE"
) -> Iterator[PairResult]:
    """Check each version against every earlier one, oldest first.

    ``BACKWARD_TRANSITIVE``: version N reads what every earlier version wrote (the policy: a
    reader always decodes with the latest schema it knows). ``FULL_TRANSITIVE`` also asks that
    every earlier version reads what N writes, so removing a field without a default fails too.
    """
    for event_type in registry.event_types():
        versions = registry.versions(event_type)
        for n, newer in enumerate(versions):
            for older in versions[:n]:
                yield check_pair(newer, older)
                if mode == "FULL_TRANSITIVE":
                    yield check_pair(older, newer)


def _to_avro(source: Any) -> Schema:
    return parse(json.dumps(source))


def _field_path(schema: Schema, location: str) -> str | None:
    """Translate ``/fields/4/type/items/fields/2/type`` into ``lines[].unit_price``."""
    parts: list[str] = []
    node: Any = schema
    steps = [t for t in location.split("/") if t]
    i = 0
    while i < len(steps):
        step = steps[i]
        if step == "fields" and i + 1 < len(steps) and isinstance(node, RecordSchema):
            index = int(steps[i + 1])
            if index >= len(node.fields):
                break
            fld = node.fields[index]
            parts.append(fld.name)
            node = fld.type
            i += 2
            continue
        if step == "items" and isinstance(node, ArraySchema):
            parts[-1:] = [f"{parts[-1]}[]"] if parts else ["[]"]
            node = node.items
        elif step == "values" and isinstance(node, MapSchema):
            parts[-1:] = [f"{parts[-1]}{{}}"] if parts else ["{}"]
            node = node.values
        elif step.isdigit() and isinstance(node, UnionSchema):
            node = node.schemas[int(step)] if int(step) < len(node.schemas) else node
        i += 1
        # "type", "name", "size", "symbols" stay at the current field
    return ".".join(parts) or None


def _logical(schema: Schema) -> tuple[Any, ...]:
    return tuple(schema.props.get(p) for p in _LOGICAL_PROPS)


def _logical_changes(
    reader: Schema, writer: Schema, path: str, seen: set[tuple[int, int]]
) -> Iterator[Incompatibility]:
    """Walk the parts both schemas share and report changed logical types."""
    if (id(reader), id(writer)) in seen:
        return
    seen.add((id(reader), id(writer)))
    if isinstance(reader, UnionSchema) or isinstance(writer, UnionSchema):
        readers = reader.schemas if isinstance(reader, UnionSchema) else [reader]
        writers = writer.schemas if isinstance(writer, UnionSchema) else [writer]
        for w in writers:
            for r in readers:
                if r.type == w.type and getattr(r, "fullname", None) == getattr(
                    w, "fullname", None
                ):
                    yield from _logical_changes(r, w, path, seen)
                    break
        return
    if reader.type != writer.type:
        return  # avro's checker reports (or allows, by promotion) a change of type
    if _logical(reader) != _logical(writer):
        yield Incompatibility(
            location=path or "/",
            field=path or None,
            kind="logical_type_mismatch",
            message=(
                f"reader {_describe(reader)} would misread writer {_describe(writer)}: "
                "Avro resolves the underlying type only"
            ),
        )
    if isinstance(reader, RecordSchema) and isinstance(writer, RecordSchema):
        for fld in reader.fields:
            wfld = writer.fields_dict.get(fld.name)
            if wfld is not None:
                yield from _logical_changes(fld.type, wfld.type, _join(path, fld.name), seen)
    elif isinstance(reader, ArraySchema) and isinstance(writer, ArraySchema):
        yield from _logical_changes(reader.items, writer.items, f"{path}[]", seen)
    elif isinstance(reader, MapSchema) and isinstance(writer, MapSchema):
        yield from _logical_changes(reader.values, writer.values, f"{path}{{}}", seen)


def _describe(schema: Schema) -> str:
    logical, precision, scale = _logical(schema)
    if logical is None:
        return str(schema.type)
    if logical == "decimal":
        return f"{schema.type}/decimal({precision},{scale})"
    return f"{schema.type}/{logical}"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
