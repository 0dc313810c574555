"""An app as the topic ``ferry.apps`` holds it: its grants, its rate and its key hashes."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ferry.timefmt import format_timestamp, parse_timestamp

__all__ = ["App", "KeyHash", "decode_app", "encode_app"]


@dataclass(frozen=True, slots=True)
class KeyHash:
    hash: str
    created_at: datetime
    expires_at: datetime | None = None

    def valid(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, slots=True)
class App:
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


def _time(value: Any) -> datetime:
    parsed = parse_timestamp(str(value))
    if parsed is None:
        raise ValueError(f"not a timestamp: {value!r}")
    return parsed


def encode_app(app: App) -> bytes:
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
    """ValueError when ``value`` is not an app record."""
    try:
        raw = json.loads(value)
        return App(
            name=str(raw["name"]),
            grants=frozenset(str(g) for g in raw["grants"]),
            rate_per_s=float(raw["rate_per_s"]),
            revoked=bool(raw["revoked"]),
            created_at=_time(raw["created_at"]),
            keys=tuple(
                KeyHash(
                    str(k["hash"]),
                    _time(k["created_at"]),
                    None if k.get("expires_at") is None else _time(k["expires_at"]),
                )
                for k in raw["keys"]
            ),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not an app record: {exc}") from None


def now() -> datetime:
    return datetime.now(UTC)
