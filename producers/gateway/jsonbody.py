"""Strict JSON request bodies, for every JSON route of the gateway.

:func:`parse_json_strict` takes the raw body and returns the parsed value, or raises
:class:`JsonBodyError` naming the rule the body broke (and the field path, where there is one);
:meth:`JsonBodyError.rejection` is the 400 answer. The rules, all about the body as a whole:

- UTF-8 only: no byte order mark, no UTF-16 or UTF-32 (which ``json.loads`` on bytes would
  silently accept), no invalid byte sequence;
- JSON (RFC 8259) only: ``NaN`` and ``Infinity`` are refused, and so are duplicate keys in one
  object (two parsers could read different values from the same signed bytes);
- at most ``max_depth`` (64) nested arrays and objects;
- no lone surrogate (``"\\ud800"``) in a string or a key: no UTF-8 text can hold one, and it
  would break whatever encodes the value later;
- number literals of at most :data:`MAX_NUMBER_CHARS` characters whose value a ``Decimal``
  can hold.

Fractions and exponents become :class:`~decimal.Decimal` (never ``float``). The parser never
lets another exception out, whatever the bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from producers.gateway.rejections import Rejection

__all__ = [
    "DUPLICATE_KEYS_RULE",
    "ENCODING_RULE",
    "JSON_RULE",
    "MAX_DEPTH",
    "MAX_NUMBER_CHARS",
    "NUMBER_RULE",
    "SURROGATE_RULE",
    "JsonBodyError",
    "depth_rule",
    "parse_json_strict",
]

MAX_DEPTH = 64
MAX_NUMBER_CHARS = 1000

ENCODING_RULE = "UTF-8 without a byte order mark"
JSON_RULE = "JSON (RFC 8259)"
DUPLICATE_KEYS_RULE = "unique keys"
SURROGATE_RULE = "no lone surrogates"
NUMBER_RULE = f"numbers of at most {MAX_NUMBER_CHARS} characters within the decimal range"

_SURROGATE = re.compile("[\ud800-\udfff]")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def depth_rule(max_depth: int) -> str:
    return f"depth ≤ {max_depth}"


class JsonBodyError(ValueError):
    """The body is not JSON the gateway takes. ``rule`` names the rule it broke, ``field`` the
    path of the offending value when there is one (``line_items[0].sku``), ``reason`` is the
    short fixed phrase for logs and metrics. The message never holds the body."""

    def __init__(self, detail: str, *, rule: str, reason: str, field: str | None = None) -> None:
        super().__init__(f"malformed JSON: {detail}")
        self.detail = detail
        self.rule = rule
        self.reason = reason
        self.field = field

    def rejection(self) -> Rejection:
        """The 400 answer to this body."""
        return Rejection(400, str(self), reason=self.reason, field=self.field, rule=self.rule)


def parse_json_strict(body: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The body's JSON value; :class:`JsonBodyError` when it breaks one of the module's rules."""
    text = _text(body)
    try:
        value = json.loads(
            text,
            parse_float=_decimal,
            parse_int=_integer,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
    except JsonBodyError:
        raise
    except RecursionError:
        raise _too_deep(max_depth) from None
    except ValueError as exc:  # json.JSONDecodeError; its message names line and column only
        raise JsonBodyError(str(exc), rule=JSON_RULE, reason="malformed json") from None
    _check(value, max_depth)
    return value


def _text(body: bytes) -> str:
    if body.startswith(_BOMS):
        raise JsonBodyError(
            "a byte order mark is not allowed", rule=ENCODING_RULE, reason="not utf-8"
        )
    if b"\x00" in body:  # UTF-16 and UTF-32 text of JSON holds NUL bytes; JSON never does
        raise JsonBodyError(
            "NUL bytes: UTF-16 or UTF-32 is not allowed", rule=ENCODING_RULE, reason="not utf-8"
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonBodyError(
            f"not UTF-8 (invalid byte at {exc.start})", rule=ENCODING_RULE, reason="not utf-8"
        ) from None


def _too_deep(max_depth: int) -> JsonBodyError:
    return JsonBodyError(
        f"nested deeper than {max_depth} arrays or objects",
        rule=depth_rule(max_depth),
        reason="too deep",
    )


def _constant(name: str) -> Any:
    raise JsonBodyError(f"{name} is not valid JSON", rule=JSON_RULE, reason="malformed json")


def _number_error(detail: str) -> JsonBodyError:
    return JsonBodyError(detail, rule=NUMBER_RULE, reason="number out of range")


def _integer(literal: str) -> int:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _number_error(f"a number of more than {MAX_NUMBER_CHARS} characters")
    return int(literal)


def _decimal(literal: str) -> Decimal:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _number_error(f"a number of more than {MAX_NUMBER_CHARS} characters")
    try:
        return Decimal(literal)
    except ArithmeticError:  # an exponent beyond what a Decimal holds
        raise _number_error("a number beyond the decimal range") from None


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonBodyError(
                    "a key appears twice in one object",
                    rule=DUPLICATE_KEYS_RULE,
                    reason="duplicate key",
                    field=_printable(key),
                )
            seen.add(key)
    return value


def _check(value: Any, max_depth: int) -> None:
    """Depth and lone surrogates, without recursion: a stack of (container, depth, where)."""
    if isinstance(value, str):
        _check_text(value, None, None)
        return
    if not isinstance(value, dict | list):
        return
    stack: list[tuple[Any, int, _Where | None]] = [(value, 1, None)]
    while stack:
        node, depth, where = stack.pop()
        if depth > max_depth:
            raise _too_deep(max_depth)
        items: Iterable[tuple[str | int, Any]] = (
            node.items() if isinstance(node, dict) else enumerate(node)
        )
        for key, item in items:
            if isinstance(key, str):
                _check_text(key, where, key)
            if isinstance(item, str):
                _check_text(item, where, key)
            elif isinstance(item, dict | list):
                stack.append((item, depth + 1, _Where(where, key)))


class _Where:
    """A path in the body as a linked list, spelt out only for an error."""

    __slots__ = ("key", "parent")

    def __init__(self, parent: _Where | None, key: str | int) -> None:
        self.parent = parent
        self.key = key

    def path(self) -> str:
        keys: list[str | int] = []
        node: _Where | None = self
        while node is not None:
            keys.append(node.key)
            node = node.parent
        out = ""
        for key in reversed(keys):
            if isinstance(key, int):
                out += f"[{key}]"
            else:
                out += f".{_printable(key)}" if out else _printable(key)
        return out or "$"


def _check_text(text: str, where: _Where | None, key: str | int | None) -> None:
    if _SURROGATE.search(text) is None:
        return
    field = (_Where(where, key) if key is not None else where or _Where(None, "$")).path()
    raise JsonBodyError(
        "a lone surrogate (\\ud800 to \\udfff) is not text",
        rule=SURROGATE_RULE,
        reason="lone surrogate",
        field=field,
    )


def _printable(key: str) -> str:
    """``key`` with lone surrogates spelt ``\\udXXX``, so an answer or a log line can hold it."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8")
