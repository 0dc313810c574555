"""The contracts: every writer schema under ``schemas/``, indexed by type, version and fingerprint.

The layout is ``schemas/<event.type>/v<N>.avsc``. Each file is parsed once with fastavro; its
Parsing Canonical Form and CRC-64-AVRO (Rabin) fingerprint are computed as the Avro
specification defines them, so a reader can find the writer schema of a single-object encoded
value by its 8-byte fingerprint without asking a registry server.

The directory is, in order: the ``directory`` argument, the ``FERRY_SCHEMAS_DIR`` environment
variable, ``schemas/`` at the repository root beside the ``ferry`` package.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import to_parsing_canonical_form

from ferry import privacy
from ferry.errors import ConfigError

__all__ = [
    "SCHEMAS_DIR_ENV",
    "SchemaError",
    "SchemaRegistry",
    "SchemaVersion",
    "canonical_form",
    "default_registry",
    "default_schemas_dir",
    "rabin_fingerprint",
]

SCHEMAS_DIR_ENV = "FERRY_SCHEMAS_DIR"

_EMPTY64 = 0xC15D213AA4D7A795
_MASK64 = 0xFFFFFFFFFFFFFFFF
_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.avsc$")
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def _rabin_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY64 & -(fp & 1))
        table.append(fp & _MASK64)
    return tuple(table)


_FP_TABLE = _rabin_table()


def rabin_fingerprint(data: bytes | str) -> int:
    """The 64-bit Rabin fingerprint (CRC-64-AVRO) of ``data``, as an unsigned integer.

    Single-object encoding writes it little-endian: ``fp.to_bytes(8, "little")``. Avro's Java
    test vectors print it as a signed long.
    """
    raw = data.encode() if isinstance(data, str) else data
    fp = _EMPTY64
    table = _FP_TABLE
    for byte in raw:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def canonical_form(schema: Any) -> str:
    """The Parsing Canonical Form of a schema (a JSON string, a parsed object or a dict).

    Note what the specification strips: ``logicalType``, ``precision`` and ``scale`` are not
    part of it, so two schemas that differ only there share a fingerprint.
    """
    if isinstance(schema, str):
        with contextlib.suppress(json.JSONDecodeError):  # a bare name such as ``int``
            schema = json.loads(schema)
    return str(to_parsing_canonical_form(schema))


class SchemaError(ConfigError):
    """A schema file is missing, malformed or inconsistent; ``key`` names the file or type."""


@dataclass(frozen=True, slots=True, eq=False)
class SchemaVersion:
    """One writer schema: ``schemas/<event_type>/v<version>.avsc``."""

    event_type: str
    version: int
    source: Mapping[str, Any] = field(repr=False)
    parsed: Any = field(repr=False)
    canonical: str = field(repr=False)
    fingerprint: int

    @property
    def fingerprint_bytes(self) -> bytes:
        return self.fingerprint.to_bytes(8, "little")

    @property
    def fingerprint_hex(self) -> str:
        """The fingerprint as it appears on the wire (little-endian), in hex."""
        return self.fingerprint_bytes.hex()

    @property
    def ref(self) -> str:
        return f"{self.event_type}/v{self.version}"

    @classmethod
    def build(cls, event_type: str, version: int, source: Mapping[str, Any]) -> SchemaVersion:
        key = f"{event_type}/v{version}.avsc"
        try:
            parsed = fastavro.parse_schema(dict(source))
            canonical = canonical_form(dict(source))
        except Exception as exc:  # fastavro raises several unrelated types here
            raise SchemaError(key, f"not a valid Avro schema: {exc}") from exc
        return cls(
            event_type=event_type,
            version=version,
            source=source,
            parsed=parsed,
            canonical=canonical,
            fingerprint=rabin_fingerprint(canonical),
        )


class SchemaRegistry:
    """An immutable index of writer schemas by event type, version and fingerprint."""

    def __init__(self, versions: Iterable[SchemaVersion]) -> None:
        by_type: dict[str, dict[int, SchemaVersion]] = {}
        by_fp: dict[int, SchemaVersion] = {}
        for sv in versions:
            if sv.version in by_type.setdefault(sv.event_type, {}):
                raise SchemaError(sv.ref, "defined twice")
            clash = by_fp.get(sv.fingerprint)
            if clash is not None:
                raise SchemaError(
                    sv.ref,
                    f"has the same fingerprint {sv.fingerprint_hex} as {clash.ref}: their "
                    "canonical forms are equal, so a reader could not tell them apart (a "
                    "change of only doc, default, logicalType, precision or scale is not a "
                    "new version)",
                )
            by_type[sv.event_type][sv.version] = sv
            by_fp[sv.fingerprint] = sv
            privacy.register(sv.source)  # its "ferry.pii" fields: masked wherever shown
        self._by_type = {t: [vs[n] for n in sorted(vs)] for t, vs in sorted(by_type.items())}
        self._by_fp = by_fp

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str] | None = None,
        extra: Iterable[str | os.PathLike[str]] = (),
    ) -> SchemaRegistry:
        """The schemas of ``directory`` (default: :func:`default_schemas_dir`) and of each
        ``extra`` directory (a flow's own contracts); an event type lives in one of them."""
        roots = [Path(directory) if directory is not None else default_schemas_dir()]
        roots += [Path(d) for d in extra if Path(d) not in roots]
        versions: list[SchemaVersion] = []
        owner: dict[str, Path] = {}
        for root in roots:
            if not root.is_dir():
                raise SchemaError(str(root), "schema directory not found")
            for sv in _read_dir(root):
                if owner.setdefault(sv.event_type, root) != root:
                    raise SchemaError(
                        sv.event_type, f"defined in both {owner[sv.event_type]} and {root}"
                    )
                versions.append(sv)
        return cls(versions)

    def __iter__(self) -> Iterator[SchemaVersion]:
        for versions in self._by_type.values():
            yield from versions

    def __len__(self) -> int:
        return len(self._by_fp)

    def event_types(self) -> list[str]:
        return list(self._by_type)

    def versions(self, event_type: str) -> list[SchemaVersion]:
        """Every version of ``event_type``, oldest first."""
        try:
            return list(self._by_type[event_type])
        except KeyError:
            raise SchemaError(event_type, "unknown event type: no schema for it") from None

    def latest(self, event_type: str) -> SchemaVersion:
        return self.versions(event_type)[-1]

    def get(self, event_type: str, version: int) -> SchemaVersion:
        for sv in self.versions(event_type):
            if sv.version == version:
                return sv
        raise SchemaError(f"{event_type}/v{version}", "unknown schema version")

    def by_fingerprint(self, fingerprint: int) -> SchemaVersion | None:
        return self._by_fp.get(fingerprint)


def _read_dir(root: Path) -> Iterator[SchemaVersion]:
    for type_dir in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        event_type = type_dir.name
        if not type_dir.is_dir() or not _EVENT_TYPE.match(event_type):
            raise SchemaError(event_type, "expected a directory named <system>.<entity>[.<verb>]")
        files = sorted(p for p in type_dir.iterdir() if not p.name.startswith("."))
        if not files:
            raise SchemaError(event_type, "no versions (expected v1.avsc, v2.avsc, ...)")
        for path in files:
            key = f"{event_type}/{path.name}"
            match = _VERSION_FILE.match(path.name)
            if match is None:
                raise SchemaError(key, "expected a file named v<N>.avsc")
            try:
                source = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise SchemaError(key, f"cannot read JSON: {exc}") from exc
            if not isinstance(source, dict) or source.get("type") != "record":
                raise SchemaError(key, "an event schema must be a record")
            yield SchemaVersion.build(event_type, int(match.group(1)), source)


def default_schemas_dir() -> Path:
    configured = os.environ.get(SCHEMAS_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent / "schemas"


@cache
def default_registry() -> SchemaRegistry:
    """The registry of the default directory, loaded once per process."""
    return SchemaRegistry.load()
