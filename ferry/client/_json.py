"""JSON text for events: decimals exact, moments in RFC 3339, nothing lost on the way.

``json.dumps`` writes a ``Decimal`` only through ``float`` (``19.99`` may come out as
``19.989999...`` on the other side, and 20 significant digits never survive); :func:`dumps`
writes its own digits as a JSON number instead.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads"]

_MAX_DEPTH = 64  # the gateway refuses deeper bodies (400)
_string = json.encoder.encode_basestring_ascii  # ASCII text: a lone surrogate stays escaped


def dumps(value: Any, path: str = "") -> str:
    """``value`` as compact JSON text.

    Takes what ``json`` takes (mappings with string keys, lists and tuples, strings, ints,
    finite floats, bools, None), and ``Decimal`` (a JSON number with exactly its digits),
    aware ``datetime`` (RFC 3339 in UTC, ``2026-11-01T12:30:15.123456Z``), ``date``
    (``2026-11-01``) and ``UUID`` (its text). Raises ``ValueError`` for a NaN or an infinity,
    a naive datetime, or nesting deeper than 64, and ``TypeError`` for anything else; both
    name the place in ``value`` below ``path`` (``data.lines[0].price``).
    """
    out: list[str] = []
    _write(value, out, path, 0)
    return "".join(out)


def loads(text: str | bytes) -> Any:
    """JSON text with fractions as ``Decimal`` (exact), and no ``NaN`` or ``Infinity``."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    return json.loads(text, parse_float=Decimal, parse_constant=no_constants)


def _write(value: Any, out: list[str], path: str, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError(f"{path or 'value'}: nested deeper than {_MAX_DEPTH}")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path or 'value'}: {value!r} is not a JSON number")
        out.append(float.__repr__(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{path or 'value'}: {value} is not a JSON number")
        out.append(str(value))  # finite: always JSON number syntax (``-0``, ``1E+2``, ``0.5``)
    elif isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{path or 'value'}: a naive datetime; give it a time zone")
        text = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        out.append(_string(text))
    elif isinstance(value, date):
        out.append(_string(value.isoformat()))
    elif isinstance(value, uuid.UUID):
        out.append(_string(str(value)))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(
                    f"{path or 'value'}: a key must be a string, not {type(key).__name__}"
                )
            if index:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _write(item, out, f"{path}.{key}" if path else key, depth + 1)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out, f"{path}[{index}]", depth + 1)
        out.append("]")
    else:
        raise TypeError(f"{path or 'value'}: {type(value).__name__} is not JSON serialisable")
