"""Personal data: which fields hold it, and how a value of one is shown where operators look.

A schema marks a field that holds personal data (an e-mail address, a person's name, a street)
with the field property ``"ferry.pii": true``. Avro allows such properties and leaves them out
of the Parsing Canonical Form, so marking a field changes no fingerprint. Every schema loaded by
:class:`ferry.schemas.SchemaRegistry` registers its marks here; the first question asked before
any was loaded reads the default schema directory.

The rule, for every error message, dead-letter header and log line: name the field and the
rule, and show a value only where it is not personal. A personal value is shown masked
(:func:`mask`): an e-mail address as ``j***@example.com`` (its first character and its domain),
anything else by its length only (``<masked: 12 characters>``); an absent or blank value is
shown as it is, since it says nothing about anyone. :func:`scrub` masks e-mail addresses in
free text (a target's error message, an exception's text) as a second line of defence; names
in free text cannot be recognised, which is why errors name fields and keep values apart.

A field path is matched without list indexes (``lines[2].title`` is ``lines.title``), exactly
or, when it has two parts or more, as the end of a longer path; ``Record.field`` (fastavro's
way of naming a field) matches too. Errors name a field but not its schema, so a field marked
in one schema is personal wherever a path names it.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "PII_PROPERTY",
    "Masked",
    "is_personal",
    "mask",
    "mask_email",
    "personal_paths",
    "register",
    "registered",
    "scrub",
    "shown",
]

PII_PROPERTY = "ferry.pii"

_INDEX = re.compile(r"\[[^\]]*\]")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
# An e-mail address inside free text: no spaces, quotes or brackets around the "@".
_EMAIL_IN_TEXT = re.compile(r"[^\s<>()\[\]{}\"',;:]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

_lock = threading.Lock()
_paths: set[str] = set()
_loaded = False


class Masked:
    """A personal value as it may be shown. ``str`` gives the masked text, ``repr`` the same
    quoted when it stands for text (a masked e-mail address), so ``f"(got {value!r})"`` reads
    ``(got 'j***@example.com')`` or ``(got <masked: 5 characters>)``."""

    __slots__ = ("quoted", "text")

    def __init__(self, text: str, *, quoted: bool = False) -> None:
        self.text = text
        self.quoted = quoted

    def __repr__(self) -> str:
        return repr(self.text) if self.quoted else self.text

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Masked) and (other.text, other.quoted) == (self.text, self.quoted)

    def __hash__(self) -> int:
        return hash((self.text, self.quoted))


def mask_email(value: str) -> str:
    """``jane.doe@example.com`` -> ``j***@example.com``: the first character and the domain.

    What follows the domain (a closing ``>``, more text) is masked too; a domain that does not
    look like one is not shown.
    """
    local, at, rest = value.rpartition("@")
    if not at:
        return "***"
    found = _DOMAIN.match(rest)
    domain = found.group(0) if found else "***"
    tail = "***" if found and found.end() < len(rest) else ""
    return f"{local[:1]}***@{domain}{tail}"


def mask(value: Any) -> Any:
    """How a personal ``value`` may be shown: None and blank text as they are (nothing about a
    person), an e-mail address by :func:`mask_email`, anything else by its size only."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return value
    if isinstance(value, str):
        if "@" in value:
            return Masked(mask_email(value), quoted=True)
        return Masked(f"<masked: {len(value)} character{'s' if len(value) != 1 else ''}>")
    return Masked(f"<masked {type(value).__name__}>")


def scrub(text: str) -> str:
    """``text`` with every e-mail address in it masked."""
    if "@" not in text:
        return text
    return _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group(0)), text)


def personal_paths(schema: Mapping[str, Any]) -> set[str]:
    """The fields ``schema`` marks personal: each as its dotted path from the top record and
    as ``Record.field``."""
    found: set[str] = set()
    named: dict[str, Mapping[str, Any]] = {}
    _walk(schema, "", found, named, set())
    return found


def _walk(
    node: Any,
    prefix: str,
    found: set[str],
    named: dict[str, Mapping[str, Any]],
    seen: set[tuple[str, str]],
) -> None:
    if isinstance(node, str):  # a reference to a named type defined earlier
        target = named.get(node) or named.get(node.rsplit(".", 1)[-1])
        if target is not None and (node, prefix) not in seen:
            seen.add((node, prefix))
            _walk(target, prefix, found, named, seen)
        return
    if isinstance(node, list):  # a union
        for member in node:
            _walk(member, prefix, found, named, seen)
        return
    if not isinstance(node, Mapping):
        return
    kind = node.get("type")
    if kind == "record":
        name = str(node.get("name", ""))
        named[name] = node
        named[name.rsplit(".", 1)[-1]] = node
        short = name.rsplit(".", 1)[-1]
        for field in node.get("fields", ()):
            if not isinstance(field, Mapping):
                continue
            path = f"{prefix}{field.get('name')}"
            if field.get(PII_PROPERTY) is True:
                found.add(path)
                found.add(f"{short}.{field.get('name')}")
            _walk(field.get("type"), f"{path}.", found, named, seen)
    elif kind == "array":
        _walk(node.get("items"), prefix, found, named, seen)
    elif kind == "map":
        _walk(node.get("values"), prefix, found, named, seen)
    elif isinstance(kind, Mapping | list | str) and kind not in _PRIMITIVES:
        _walk(kind, prefix, found, named, seen)


_PRIMITIVES = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string", "enum", "fixed"}
)


def register(schema: Mapping[str, Any]) -> None:
    """Add the personal fields ``schema`` marks to those every question here consults."""
    paths = personal_paths(schema)
    with _lock:
        _paths.update(paths)


def registered() -> frozenset[str]:
    """Every personal field path known (the default schemas loaded first if none were)."""
    _ensure_loaded()
    with _lock:
        return frozenset(_paths)


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from ferry.schemas import SchemaRegistry, default_registry  # ferry.schemas imports this

    try:
        default_registry()  # registers its marks as it loads
    except Exception:  # a broken FERRY_SCHEMAS_DIR: fall back to the contracts shipped
        with contextlib.suppress(Exception):  # nothing more to fall back on
            SchemaRegistry.load(Path(__file__).resolve().parent.parent / "schemas")


def _normal(field: str) -> str:
    return _INDEX.sub("", field)


def is_personal(field: str | None, paths: Iterable[str] | None = None) -> bool:
    """Whether ``field`` (a dotted path as errors name it) holds personal data."""
    if not field:
        return False
    known = registered() if paths is None else frozenset(paths)
    path = _normal(field)
    # A longer path may end in a marked one of two or more parts (``order.customer.email``);
    # a marked top-level field matches only itself.
    return path in known or any("." in p and path.endswith(f".{p}") for p in known)


def shown(field: str | None, value: Any) -> Any:
    """``value`` as an error message about ``field`` may show it."""
    return mask(value) if is_personal(field) else value
