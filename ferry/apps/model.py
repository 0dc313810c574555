"""An app as the topic ``ferry.apps`` holds it: its grants, its rate and its key hashes.

The record's key is the app's name, its value the JSON of :func:`encode_app`; the topic is
compacted, so it keeps the latest state of every app. Keys themselves are never in it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ferry.apps.keys import APP_NAME
from ferry.timefmt import format_timestamp, parse_timestamp

__all__ = ["App", "KeyHash", "decode_app", "encode_app", "now"]

_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class KeyHash:
    """One key of an app, as its hash; ``expires_at`` is set when the key is rotated out."""

    hash: str
    created_at: datetime
    expires_at: datetime | None = None

    def valid(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, slots=True)
class App:
    """A connected app: the event types it may publish, at how many events per second."""

    name: str
    grants: frozenset[str]
    rate_per_s: float
    revoked: bool
    created_at: datetime
    keys: tuple[KeyHash, ...]

    @property
    def state(self) -> str:
        return "revoked" if self.revoked else "active"

    def with_keys(self, keys: tuple[KeyHash, ...]) -> App:
        return replace(self, keys=keys)


def now() -> datetime:
    """The current moment in UTC, to the millisecond (what a record keeps of it)."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _time(value: Any) -> datetime:
    parsed = parse_timestamp(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError(f"not a timestamp: {value!r}")
    return parsed


def _hash(value: Any) -> str:
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        raise ValueError("a key hash is not 64 hex digits")
    return value


def encode_app(app: App) -> bytes:
    """The JSON value of ``app``'s record."""
    return json.dumps(
        {
            "name": app.name,
            "grants": sorted(app.grants),
            "rate_per_s": app.rate_per_s,
            "revoked": app.revoked,
            "created_at": format_timestamp(app.created_at),
            "keys": [
                {
                    "hash": k.hash,
                    "created_at": format_timestamp(k.created_at),
                    "expires_at": None if k.expires_at is None else format_timestamp(k.expires_at),
                }
                for k in app.keys
            ],
        },
        separators=(",", ":"),
    ).encode()


def decode_app(value: bytes) -> App:
    """The app of a record's value; ValueError when ``value`` is not an app record."""
    try:
        raw = json.loads(value)
        name = str(raw["name"])
        if not APP_NAME.fullmatch(name):
            raise ValueError(f"app name {name!r}")
        rate = float(raw["rate_per_s"])
        if not rate > 0:
            raise ValueError(f"rate_per_s {rate!r}")
        if not isinstance(raw["revoked"], bool):
            raise ValueError(f"revoked {raw['revoked']!r}")
        return App(
            name=name,
            grants=frozenset(str(g) for g in raw["grants"]),
            rate_per_s=rate,
            revoked=raw["revoked"],
            created_at=_time(raw["created_at"]),
            keys=tuple(
                KeyHash(
                    _hash(k["hash"]),
                    _time(k["created_at"]),
                    None if k.get("expires_at") is None else _time(k["expires_at"]),
                )
                for k in raw["keys"]
            ),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"not an app record: {type(exc).__name__}: {exc}") from None
