"""Avro binary bodies read and written by Python compiled for one schema.

fastavro interprets a parsed schema for every value it reads or writes (a dictionary lookup and
a type dispatch per value, a named-schema table per call); for the small records on Ferry's
topics that costs more than the bytes. :func:`compile_schema` turns a parsed schema into a
reader and a writer that do only that schema's work, once per schema.

They are a fast path, never a second definition of the format: they produce exactly what
fastavro produces (the same bytes, the same Python values: ``Decimal`` with the schema's scale,
UTC ``datetime``), and take only what they are sure of. Any value of another type, any doubt
(a union other than ``null`` and one type, a logical type other than ``decimal`` on ``bytes``
and ``timestamp-millis``/``-micros`` on ``long``, a number out of range, a corrupt body) raises,
and the caller does the work again with fastavro, which gives its own result or error. Schemas
they do not cover compile to ``None``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal
from typing import Any

__all__ = ["Compiled", "FastPathMiss", "compile_schema"]

Reader = Callable[[bytes, int], tuple[dict[str, Any], int]]
# The writer appends the body to the bytearray; it returns where the marked top-level field's
# bytes start and end in it ((0, 0) without a mark).
Writer = Callable[[Any, bytearray], tuple[int, int]]

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_US = timedelta(microseconds=1)
_INT, _LONG = 2**31, 2**63


class FastPathMiss(Exception):
    """The compiled code does not take this value or body; fastavro must."""


class _Unsupported(Exception):
    """The schema uses something the compiler does not cover."""


@dataclass(frozen=True, slots=True)
class Compiled:
    """The reader and writer of one schema; ``mark`` is the top-level field whose position the
    writer reports (``None``: no mark)."""

    read: Reader
    write: Writer
    mark: str | None


def _read_varint(d: bytes, p: int, b: int) -> tuple[int, int]:
    """The rest of a zig-zag varint whose first byte ``b`` (>= 0x80) was at ``p - 1``."""
    z, shift = b & 0x7F, 7
    while True:
        b = d[p]
        p += 1
        z |= (b & 0x7F) << shift
        if b < 0x80:
            return (z >> 1) ^ -(z & 1), p
        shift += 7
        if shift > 63:
            raise FastPathMiss("varint longer than 10 bytes")


def _write_varint(out: bytearray, n: int) -> None:
    z = (n << 1) ^ (n >> 63)
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)


def _decimal_bytes(x: Decimal, precision: int, scale: int, context: Context) -> bytes:
    """fastavro's ``prepare_bytes_decimal``, for a ``Decimal``."""
    _, digits, exponent = x.as_tuple()
    if type(exponent) is not int or len(digits) > precision or exponent + scale < 0:
        raise FastPathMiss("a decimal fastavro refuses or rounds")
    n = int(x.scaleb(scale, context))
    return n.to_bytes((abs(n).bit_length() + 8) // 8, "big", signed=True)


class _Compiler:
    def __init__(self, mark: str | None) -> None:
        self.mark = mark
        self.names: dict[str, Any] = {}  # named types by full name
        self.functions: dict[str, str] = {}  # record full name -> function suffix
        self.code: list[str] = []
        self.env: dict[str, Any] = {
            "Miss": FastPathMiss,
            "rvar": _read_varint,
            "wvar": _write_varint,
            "dbytes": _decimal_bytes,
            "unpack_f": struct.Struct("<f").unpack_from,
            "unpack_d": struct.Struct("<d").unpack_from,
            "pack_f": struct.Struct("<f").pack,
            "pack_d": struct.Struct("<d").pack,
            "Decimal": Decimal,
            "datetime": datetime,
            "EPOCH": _EPOCH,
            "MS": _MS,
            "US": _US,
            "timedelta": timedelta,
            "INT": _INT,
            "LONG": _LONG,
        }
        self._n = 0

    def var(self, prefix: str = "v") -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def const(self, value: Any) -> str:
        name = self.var("k")
        self.env[name] = value
        return name

    # -- types ----------------------------------------------------------------------------

    def resolve(self, schema: Any) -> Any:
        """A type as a dict or a primitive name; a named reference stays a name."""
        if isinstance(schema, dict):
            kind = schema.get("type")
            if kind in _PRIMITIVES or isinstance(kind, dict | list):
                logical = schema.get("logicalType")
                if isinstance(kind, dict | list):
                    return self.resolve(kind) if logical is None else _unsupported(schema)
                return schema if logical is not None else kind
            if kind in ("record", "error", "enum", "fixed"):
                self.names.setdefault(schema["name"], schema)
            return schema
        if isinstance(schema, list):
            return schema
        if isinstance(schema, str) and (schema in _PRIMITIVES or schema in self.names):
            return schema
        return _unsupported(schema)

    def record_function(self, schema: dict[str, Any]) -> str:
        name = schema["name"]
        suffix = self.functions.get(name)
        if suffix is None:
            suffix = self.functions[name] = str(len(self.functions))
            self._record(schema, suffix)
        return suffix

    def _record(self, schema: dict[str, Any], suffix: str) -> None:
        fields = schema["fields"]
        for field in fields:  # nested named types first: they are referenced by name later
            self.resolve(field["type"])
        reads: list[str] = [f"def r{suffix}(d, p):", "    L = len(d)"]
        values = []
        for field in fields:
            value = self.var()
            self.read(field["type"], value, reads, 1)
            values.append(f"{field['name']!r}: {value}")
        reads.append(f"    return {{{', '.join(values)}}}, p")
        writes = [
            f"def w{suffix}(v, out):",
            "    if type(v) is not dict:",
            "        raise Miss('not a dict')",
            "    s = e = 0",
        ]
        for field in fields:
            value = self.var("x")
            writes.append(f"    {value} = v[{field['name']!r}]")
            marked = field["name"] == self.mark
            if marked:
                writes.append("    s = len(out)")
            self.write(field["type"], value, writes, 1)
            if marked:
                writes.append("    e = len(out)")
        writes.append("    return s, e")
        self.code += reads + writes

    # -- readers --------------------------------------------------------------------------

    def read_varint(self, target: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        out += [
            f"{pad}b = d[p]",
            f"{pad}p += 1",
            f"{pad}if b < 0x80:",
            f"{pad}    {target} = (b >> 1) ^ -(b & 1)",
            f"{pad}else:",
            f"{pad}    {target}, p = rvar(d, p, b)",
        ]

    def read_span(self, out: list[str], depth: int) -> str:
        """Read a length; leave the end in the returned variable (checked)."""
        pad = "    " * depth
        end = self.var("e")
        self.read_varint(end, out, depth)
        out += [
            f"{pad}if {end} < 0:",
            f"{pad}    raise Miss('negative length')",
            f"{pad}{end} += p",
            f"{pad}if {end} > L:",
            f"{pad}    raise Miss('truncated')",
        ]
        return end

    def read(self, schema: Any, target: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        schema = self.resolve(schema)
        if isinstance(schema, str) and schema in self.names:
            schema = self.names[schema]
        if isinstance(schema, list):  # the index, zig-zag, in one byte (else: a miss)
            if len(schema) > 63:
                _unsupported(schema)
            out += [f"{pad}b = d[p]", f"{pad}p += 1"]
            for i, branch in enumerate(schema):
                out.append(f"{pad}{'if' if i == 0 else 'elif'} b == {2 * i}:")
                self.read(branch, target, out, depth + 1)
            out += [f"{pad}else:", f"{pad}    raise Miss('union index')"]
        elif isinstance(schema, dict):
            self._read_complex(schema, target, out, depth)
        elif schema == "null":
            out.append(f"{pad}{target} = None")
        elif schema == "boolean":
            out += [
                f"{pad}b = d[p]",
                f"{pad}p += 1",
                f"{pad}if b > 1:",
                f"{pad}    raise Miss('boolean')",
                f"{pad}{target} = b == 1",
            ]
        elif schema in ("int", "long"):
            self.read_varint(target, out, depth)
            if schema == "int":
                out += [f"{pad}if not -INT <= {target} < INT:", f"{pad}    raise Miss('int')"]
        elif schema in ("float", "double"):
            size, unpack = (4, "unpack_f") if schema == "float" else (8, "unpack_d")
            out += [f"{pad}{target} = {unpack}(d, p)[0]", f"{pad}p += {size}"]
        else:  # bytes, string
            end = self.read_span(out, depth)
            text = ".decode()" if schema == "string" else ""
            out += [f"{pad}{target} = d[p:{end}]{text}", f"{pad}p = {end}"]

    def _read_complex(
        self, schema: dict[str, Any], target: str, out: list[str], depth: int
    ) -> None:
        pad = "    " * depth
        kind, logical = schema["type"], schema.get("logicalType")
        if logical is not None:
            if kind == "bytes" and logical == "decimal":
                precision, scale = int(schema["precision"]), int(schema.get("scale", 0))
                context = self.const(Context(prec=precision))
                end = self.read_span(out, depth)
                out += [
                    f"{pad}{target} = int.from_bytes(d[p:{end}], 'big', signed=True)",
                    f"{pad}p = {end}",
                    f"{pad}if not -{10**precision} < {target} < {10**precision}:",
                    f"{pad}    raise Miss('decimal precision')",
                    f"{pad}{target} = Decimal({target}).scaleb({-scale}, {context})",
                ]
            elif kind == "long" and logical in ("timestamp-millis", "timestamp-micros"):
                self.read_varint(target, out, depth)
                factor = " * 1000" if logical == "timestamp-millis" else ""
                out.append(f"{pad}{target} = EPOCH + timedelta(microseconds={target}{factor})")
            else:
                _unsupported(schema)
        elif kind == "record" or kind == "error":
            out.append(f"{pad}{target}, p = r{self.record_function(schema)}(d, p)")
        elif kind == "enum":
            symbols = self.const(tuple(schema["symbols"]))
            self.read_varint(target, out, depth)
            out += [
                f"{pad}if not 0 <= {target} < {len(schema['symbols'])}:",
                f"{pad}    raise Miss('enum index')",
                f"{pad}{target} = {symbols}[{target}]",
            ]
        elif kind == "fixed":
            size = int(schema["size"])
            out += [
                f"{pad}if p + {size} > L:",
                f"{pad}    raise Miss('truncated')",
                f"{pad}{target} = d[p:p + {size}]",
                f"{pad}p += {size}",
            ]
        elif kind in ("array", "map"):
            count, item, key = self.var("c"), self.var(), self.var()
            out.append(f"{pad}{target} = {'[]' if kind == 'array' else '{}'}")
            self.read_varint(count, out, depth)
            out += [
                f"{pad}while {count}:",
                f"{pad}    if {count} < 0:",
                f"{pad}        {count} = -{count}",
            ]
            self.read_varint("_", out, depth + 2)  # the block's size in bytes
            out.append(f"{pad}    for _ in range({count}):")
            if kind == "map":
                self.read("string", key, out, depth + 2)
            self.read(schema["items" if kind == "array" else "values"], item, out, depth + 2)
            if kind == "array":
                out.append(f"{pad}        {target}.append({item})")
            else:
                out.append(f"{pad}        {target}[{key}] = {item}")
            self.read_varint(count, out, depth + 1)
        else:
            _unsupported(schema)

    # -- writers --------------------------------------------------------------------------

    def write_varint(self, value: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        out += [
            f"{pad}if -64 <= {value} < 64:",
            f"{pad}    out.append(({value} << 1) ^ ({value} >> 63))",
            f"{pad}else:",
            f"{pad}    wvar(out, {value})",
        ]

    def write_blob(self, value: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        out += [
            f"{pad}n = len({value})",
            f"{pad}if n < 64:",
            f"{pad}    out.append(n << 1)",
            f"{pad}else:",
            f"{pad}    wvar(out, n)",
            f"{pad}out += {value}",
        ]

    def write(self, schema: Any, value: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        schema = self.resolve(schema)
        if isinstance(schema, str) and schema in self.names:
            schema = self.names[schema]
        if isinstance(schema, list):
            self._write_union(schema, value, out, depth)
        elif isinstance(schema, dict):
            self._write_complex(schema, value, out, depth)
        elif schema == "null":
            out += [f"{pad}if {value} is not None:", f"{pad}    raise Miss('null')"]
        elif schema == "boolean":
            out += [
                f"{pad}if {value} is True:",
                f"{pad}    out.append(1)",
                f"{pad}elif {value} is False:",
                f"{pad}    out.append(0)",
                f"{pad}else:",
                f"{pad}    raise Miss('boolean')",
            ]
        elif schema in ("int", "long"):
            limit = "INT" if schema == "int" else "LONG"
            out += [
                f"{pad}if type({value}) is not int or not -{limit} <= {value} < {limit}:",
                f"{pad}    raise Miss('{schema}')",
            ]
            self.write_varint(value, out, depth)
        elif schema in ("float", "double"):
            pack = "pack_f" if schema == "float" else "pack_d"
            out += [
                f"{pad}if type({value}) is not float:",
                f"{pad}    raise Miss('{schema}')",
                f"{pad}out += {pack}({value})",
            ]
        else:  # bytes, string
            python = "str" if schema == "string" else "bytes"
            out += [f"{pad}if type({value}) is not {python}:", f"{pad}    raise Miss('{schema}')"]
            if schema == "string":
                out.append(f"{pad}{value} = {value}.encode()")
            self.write_blob(value, out, depth)

    def _write_union(self, schema: list[Any], value: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        kinds = [self.resolve(branch) for branch in schema]
        if len(kinds) != 2 or kinds.count("null") != 1:
            _unsupported(schema)
        null = kinds.index("null")
        out += [f"{pad}if {value} is None:", f"{pad}    out.append({null * 2})", f"{pad}else:"]
        out.append(f"{pad}    out.append({(1 - null) * 2})")
        self.write(schema[1 - null], value, out, depth + 1)

    def _write_complex(
        self, schema: dict[str, Any], value: str, out: list[str], depth: int
    ) -> None:
        pad = "    " * depth
        kind, logical = schema["type"], schema.get("logicalType")
        if logical is not None:
            if kind == "bytes" and logical == "decimal":
                precision, scale = int(schema["precision"]), int(schema.get("scale", 0))
                context = self.const(Context(prec=precision))
                out += [
                    f"{pad}if type({value}) is not Decimal:",
                    f"{pad}    raise Miss('decimal')",
                    f"{pad}{value} = dbytes({value}, {precision}, {scale}, {context})",
                ]
                self.write_blob(value, out, depth)
            elif kind == "long" and logical in ("timestamp-millis", "timestamp-micros"):
                unit = "MS" if logical == "timestamp-millis" else "US"
                out += [
                    f"{pad}if type({value}) is not datetime or {value}.tzinfo is None:",
                    f"{pad}    raise Miss('timestamp')",
                    f"{pad}{value} = ({value} - EPOCH) // {unit}",
                    f"{pad}if not -LONG <= {value} < LONG:",
                    f"{pad}    raise Miss('long')",
                ]
                self.write_varint(value, out, depth)
            else:
                _unsupported(schema)
        elif kind == "record" or kind == "error":
            out.append(f"{pad}w{self.record_function(schema)}({value}, out)")
        elif kind == "enum":
            index = self.const({s: i for i, s in enumerate(schema["symbols"])})
            out += [
                f"{pad}if type({value}) is not str or {value} not in {index}:",
                f"{pad}    raise Miss('enum')",
                f"{pad}{value} = {index}[{value}]",
            ]
            self.write_varint(value, out, depth)
        elif kind == "fixed":
            out += [
                f"{pad}if type({value}) is not bytes or len({value}) != {int(schema['size'])}:",
                f"{pad}    raise Miss('fixed')",
                f"{pad}out += {value}",
            ]
        elif kind in ("array", "map"):
            item, key = self.var("x"), self.var("x")
            python = "list" if kind == "array" else "dict"
            out += [
                f"{pad}if type({value}) is not {python}:",
                f"{pad}    raise Miss('{kind}')",
                f"{pad}if {value}:",
            ]
            self.write_varint(f"len({value})", out, depth + 1)
            if kind == "array":
                out.append(f"{pad}    for {item} in {value}:")
            else:
                out.append(f"{pad}    for {key}, {item} in {value}.items():")
                self.write("string", key, out, depth + 2)
            self.write(schema["items" if kind == "array" else "values"], item, out, depth + 2)
            out.append(f"{pad}out.append(0)")
        else:
            _unsupported(schema)


def _unsupported(schema: Any) -> Any:
    raise _Unsupported(repr(schema)[:80])


def compile_schema(parsed: Any, mark: str | None = None) -> Compiled | None:
    """The compiled reader and writer of a record schema parsed by fastavro, or ``None`` when
    the schema uses something this module leaves to fastavro."""
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        return None
    compiler = _Compiler(mark)
    try:
        suffix = compiler.record_function(parsed)
    except (_Unsupported, KeyError, TypeError, ValueError):
        return None
    namespace = dict(compiler.env)
    exec("\n".join(compiler.code), namespace)  # noqa: S102 (code made from a schema, above)
    return Compiled(namespace[f"r{suffix}"], namespace[f"w{suffix}"], mark)
