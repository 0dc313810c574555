"""An event's ``data`` (JSON) as a record of its Avro schema, and the JSON Schema of that form.

The JSON form of a record is the obvious one: objects for records, arrays, strings for
strings and enum symbols, JSON numbers for ``int``/``long``/``float``/``double``, decimals as
strings (``"12.50"``) or JSON numbers, timestamps as RFC 3339 strings with an offset, ``null``
for a union's null branch. :func:`from_json` converts strictly and raises
:class:`~ferry.errors.ValidationError` naming the field path (``lines[0].unit_price``) and the
rule it breaks; it never lets another exception out, whatever the input. :func:`json_schema`
describes the same form for the OpenAPI document, from the same schema.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ferry.errors import PermanentError, ValidationError

__all__ = ["DataError", "from_json", "json_schema"]

_INT = {"int": (-(2**31), 2**31 - 1, "int32"), "long": (-(2**63), 2**63 - 1, "int64")}
_DECIMAL_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]{1,4})?")
_TIMESTAMP = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{1,9})?"
    r"([Zz]|[-+][0-9]{2}:[0-9]{2})"
)
_TIMESTAMP_RULE = "RFC 3339 timestamp with an offset, years 1970 to 9999"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def from_json(schema: Mapping[str, Any], value: Any) -> dict[str, Any]:
    """``value`` as a record of the (unparsed, ``.avsc``) record ``schema``."""
    names: dict[str, Any] = {}
    record = _Converter(names).convert(schema, value, "", None)
    assert isinstance(record, dict)
    return record


def json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON Schema (2020-12, as OpenAPI 3.1 uses) of what :func:`from_json` accepts."""
    return _Describer({}).describe(schema, None)


class DataError(ValidationError):
    """``data`` breaks its schema: ``field`` (a path in ``data``) and ``rule`` say where and
    how; the message says it in words (never the whole value, which may be huge)."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        PermanentError.__init__(self, f"{field}: {message} (rule: {rule})")
        self.field = field
        self.rule = rule
        self.value = None


def _fail(path: str, rule: str, message: str) -> DataError:
    return DataError(path or "data", rule, message)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _fullname(schema: Mapping[str, Any], namespace: str | None) -> tuple[str, str | None]:
    name = str(schema["name"])
    space = schema.get("namespace", namespace)
    if "." in name:
        return name, name.rpartition(".")[0]
    return (f"{space}.{name}" if space else name), space


class _Names:
    def __init__(self, names: dict[str, Any]) -> None:
        self.names = names

    def resolve(self, schema: Any, namespace: str | None) -> tuple[Any, str | None]:
        """A named type's definition for a reference; ``schema`` itself otherwise (and the
        namespace that applies inside it)."""
        if isinstance(schema, str) and schema not in _PRIMITIVES:
            full = schema if "." in schema or not namespace else f"{namespace}.{schema}"
            found: tuple[Any, str | None] | None = self.names.get(full, self.names.get(schema))
            if found is None:
                raise ValueError(f"unknown Avro type {schema!r}")
            return found
        if isinstance(schema, Mapping) and schema.get("type") in ("record", "enum", "fixed"):
            full, space = _fullname(schema, namespace)
            self.names[full] = self.names[str(schema["name"])] = (schema, space)
            return schema, space
        return schema, namespace


class _Converter(_Names):
    def convert(self, schema: Any, value: Any, path: str, namespace: str | None) -> Any:
        schema, namespace = self.resolve(schema, namespace)
        if isinstance(schema, list):
            return self._union(schema, value, path, namespace)
        if isinstance(schema, str):
            return self._primitive(schema, value, path)
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if kind == "record":
            return self._record(schema, value, path, namespace)
        if kind == "array":
            if not isinstance(value, list):
                raise _fail(path, "array", f"expected an array, got {_kind(value)}")
            return [
                self.convert(schema["items"], item, f"{path}[{i}]", namespace)
                for i, item in enumerate(value)
            ]
        if kind == "map":
            if not isinstance(value, dict):
                raise _fail(path, "object", f"expected an object, got {_kind(value)}")
            return {
                _text(k, path, "key"): self.convert(schema["values"], v, _join(path, k), namespace)
                for k, v in value.items()
            }
        if kind == "enum":
            symbols = list(schema["symbols"])
            if value not in symbols or not isinstance(value, str):
                raise _fail(path, f"one of {symbols}", f"expected one of {symbols}")
            return value
        if kind == "bytes" and logical == "decimal":
            return _decimal(value, path, int(schema["precision"]), int(schema.get("scale", 0)))
        if kind == "long" and logical in ("timestamp-millis", "timestamp-micros"):
            return _timestamp(value, path)
        if kind == "fixed":
            return _bytes(value, path, size=int(schema["size"]))
        if isinstance(kind, str):
            return self._primitive(kind, value, path)
        return self.convert(kind, value, path, namespace)

    def _record(
        self, schema: Mapping[str, Any], value: Any, path: str, namespace: str | None
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _fail(path, "object", f"expected an object, got {_kind(value)}")
        fields = schema["fields"]
        known = {f["name"] for f in fields}
        for key in value:
            if key not in known:
                name = _join(path, _text(key, path, "key"))
                raise _fail(name, "known field", f"{name} is not a field of {schema['name']}")
        out: dict[str, Any] = {}
        for field in fields:
            name = field["name"]
            where = _join(path, name)
            if name in value:
                out[name] = self.convert(field["type"], value[name], where, namespace)
            elif "default" in field:
                out[name] = self.convert(field["type"], field["default"], where, namespace)
            else:
                raise _fail(where, "required", "is required")
        return out

    def _union(self, branches: list[Any], value: Any, path: str, namespace: str | None) -> Any:
        if value is None and "null" in branches:
            return None
        first: ValidationError | None = None
        for branch in branches:
            if branch == "null":
                continue
            try:
                return self.convert(branch, value, path, namespace)
            except ValidationError as exc:
                first = first or exc
        raise first or _fail(path, "not null", "must not be null")

    def _primitive(self, kind: str, value: Any, path: str) -> Any:
        if kind == "null":
            if value is not None:
                raise _fail(path, "null", f"expected null, got {_kind(value)}")
            return None
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _fail(path, "boolean", f"expected true or false, got {_kind(value)}")
            return value
        if kind in _INT:
            low, high, rule = _INT[kind]
            if isinstance(value, bool) or not isinstance(value, int):
                raise _fail(path, rule, f"expected an integer, got {_kind(value)}")
            if not low <= value <= high:
                raise _fail(path, rule, f"{value} is outside the {rule} range")
            return value
        if kind in ("float", "double"):
            return _number(value, path)
        if kind == "string":
            return _text(value, path, "string")
        if kind == "bytes":
            return _bytes(value, path)
        raise _fail(path, kind, f"unsupported type {kind}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _text(value: Any, path: str, what: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, "string", f"expected a string, got {_kind(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(path, "valid Unicode", f"the {what} holds a lone surrogate") from None
    return value


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _fail(path, "number", f"expected a number, got {_kind(value)}")
    try:
        number = float(value)
    except (OverflowError, ValueError):
        number = float("inf")
    if number in (float("inf"), float("-inf")) or number != number:
        raise _fail(path, "finite number", "is beyond the range of a double")
    return number


def _decimal(value: Any, path: str, precision: int, scale: int) -> Decimal:
    rule = f"decimal({precision},{scale})"
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            raise _fail(path, rule, f"{value[:40]!r} is not a decimal number")
        number = Decimal(value)
    elif isinstance(value, Decimal | int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        raise _fail(path, rule, f"expected a decimal (string or number), got {_kind(value)}")
    if not number.is_finite():
        raise _fail(path, rule, "must be a finite number")
    if number and number.adjusted() >= precision - scale:
        raise _fail(path, rule, f"has more than {precision - scale} digits before the point")
    try:
        held = number.quantize(Decimal(1).scaleb(-scale))
    except InvalidOperation:
        raise _fail(path, rule, "cannot be held at this precision") from None
    if held != number:
        raise _fail(path, rule, f"has more than {scale} decimal places")
    return held


def _timestamp(value: Any, path: str) -> datetime:
    text = _text(value, path, "timestamp")
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise _fail(path, _TIMESTAMP_RULE, f"{text[:40]!r} is not an RFC 3339 timestamp")
    day, clock, fraction, zone = match.groups()
    micros = (fraction or ".0")[1:7].ljust(6, "0")
    offset = "+00:00" if zone in ("Z", "z") else zone
    try:
        parsed = datetime.fromisoformat(f"{day}T{clock}.{micros}{offset}")
        when = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _fail(path, _TIMESTAMP_RULE, f"{text[:40]!r} is not a valid time") from None
    if when < _EPOCH or when.year > 9999:
        raise _fail(path, _TIMESTAMP_RULE, f"{text[:40]!r} is outside 1970 to 9999")
    return when


def _bytes(value: Any, path: str, size: int | None = None) -> bytes:
    text = _text(value, path, "base64 text")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(path, "base64", "is not base64") from None
    if size is not None and len(raw) != size:
        raise _fail(path, f"{size} bytes", f"must be {size} bytes")
    return raw


class _Describer(_Names):
    def describe(self, schema: Any, namespace: str | None) -> dict[str, Any]:
        schema, namespace = self.resolve(schema, namespace)
        if isinstance(schema, list):
            options = [self.describe(branch, namespace) for branch in schema]
            return options[0] if len(options) == 1 else {"anyOf": options}
        if isinstance(schema, str):
            return _describe_primitive(schema)
        kind = schema.get("type")
        logical = schema.get("logicalType")
        described: dict[str, Any]
        if kind == "record":
            fields = schema["fields"]
            described = {
                "type": "object",
                "properties": {f["name"]: self._field(f, namespace) for f in fields},
                "required": [f["name"] for f in fields if "default" not in f],
                "additionalProperties": False,
            }
        elif kind == "array":
            described = {"type": "array", "items": self.describe(schema["items"], namespace)}
        elif kind == "map":
            described = {
                "type": "object",
                "additionalProperties": self.describe(schema["values"], namespace),
            }
        elif kind == "enum":
            described = {"type": "string", "enum": list(schema["symbols"])}
        elif kind == "bytes" and logical == "decimal":
            precision, scale = int(schema["precision"]), int(schema.get("scale", 0))
            described = {
                "type": ["string", "number"],
                "pattern": _DECIMAL_TEXT.pattern,
                "description": f"decimal({precision},{scale}): at most {scale} decimal places",
            }
        elif kind == "long" and logical in ("timestamp-millis", "timestamp-micros"):
            described = {"type": "string", "format": "date-time"}
        elif kind == "fixed":
            described = {"type": "string", "contentEncoding": "base64"}
        elif isinstance(kind, str):
            described = _describe_primitive(kind)
        else:
            described = self.describe(kind, namespace)
        if schema.get("doc"):
            described.setdefault("description", str(schema["doc"]))
        return described

    def _field(self, field: Mapping[str, Any], namespace: str | None) -> dict[str, Any]:
        described = dict(self.describe(field["type"], namespace))
        if field.get("doc"):
            described["description"] = str(field["doc"])
        return described


def _describe_primitive(kind: str) -> dict[str, Any]:
    if kind in _INT:
        low, high, rule = _INT[kind]
        return {"type": "integer", "minimum": low, "maximum": high, "format": rule}
    return {
        "null": {"type": "null"},
        "boolean": {"type": "boolean"},
        "float": {"type": "number"},
        "double": {"type": "number"},
        "string": {"type": "string"},
        "bytes": {"type": "string", "contentEncoding": "base64"},
    }.get(kind, {})
