"""An app's record in the topic: JSON that round-trips, holds no key, and is checked on read."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from ferry.apps import App, KeyHash, key_hash, new_key
from ferry.apps.model import decode_app, encode_app, now
from tests.unit.apps.helpers import PEPPER, T0, app


def test_an_app_record_round_trips() -> None:
    original = App(
        "pos",
        frozenset({"shop.order.created", "shop.order.cancelled"}),
        2.5,
        True,
        T0,
        (KeyHash("ab" * 32, T0, T0 + timedelta(hours=1)), KeyHash("cd" * 32, T0)),
    )
    assert decode_app(encode_app(original)) == original


def test_a_fresh_moment_survives_the_round_trip() -> None:
    moment = now()
    fresh = App("pos", frozenset({"a.b"}), 1.0, False, moment, (KeyHash("ef" * 32, moment),))
    assert decode_app(encode_app(fresh)) == fresh


def test_the_record_holds_the_hash_never_the_key() -> None:
    key = new_key("pos")
    record = encode_app(app("pos", KeyHash(key_hash(key, PEPPER), T0)))
    assert key.encode() not in record
    assert key.split("_", 2)[2].encode() not in record
    assert key_hash(key, PEPPER).encode() in record
    raw = json.loads(record)
    assert raw["name"] == "pos"
    assert raw["keys"] == [
        {
            "hash": key_hash(key, PEPPER),
            "created_at": "2026-12-01T08:00:00.000Z",
            "expires_at": None,
        }
    ]


def _good() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(encode_app(app("pos", KeyHash("ab" * 32, T0))))
    return loaded


@pytest.mark.parametrize(
    "change",
    [
        {"name": None},
        {"name": "POS"},
        {"rate_per_s": 0},
        {"rate_per_s": "fast"},
        {"revoked": "no"},
        {"created_at": "yesterday"},
        {"created_at": 1},
        {"keys": [{"hash": "not hex", "created_at": "2026-12-01T08:00:00Z"}]},
        {"keys": [{"hash": "AB" * 32, "created_at": "2026-12-01T08:00:00Z"}]},
        {"keys": [{"hash": "ab" * 32}]},
        {"keys": [{"hash": "ab" * 32, "created_at": "2026-12-01T08:00:00Z", "expires_at": "x"}]},
        {"keys": None},
        {"grants": None},
    ],
)
def test_a_record_that_is_not_an_app_is_a_value_error(change: dict[str, Any]) -> None:
    broken = {**_good(), **change}
    with pytest.raises(ValueError, match="not an app record"):
        decode_app(json.dumps(broken).encode())


@pytest.mark.parametrize("value", [b"", b"not json", b"[]", b"null", b'{"name": "x"}', b"\xff"])
def test_what_is_not_json_of_an_app_is_a_value_error(value: bytes) -> None:
    with pytest.raises(ValueError, match="not an app record"):
        decode_app(value)


def test_a_key_is_valid_until_it_expires() -> None:
    forever = KeyHash("ab" * 32, T0)
    rotated = KeyHash("ab" * 32, T0, T0 + timedelta(hours=1))
    assert forever.valid(T0 + timedelta(days=3650))
    assert rotated.valid(T0 + timedelta(minutes=59))
    assert not rotated.valid(T0 + timedelta(hours=1))
