"""App keys, their records and the directory's judgement, without Kafka."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import click
import pytest
from pydantic import SecretStr

from ferry.apps import App, AppDirectory, KeyHash, app_of, check_name, key_hash, new_key
from ferry.apps.model import decode_app, encode_app
from ferry.cli.apps import parse_rate
from ferry.settings import KafkaSettings

PEPPER = SecretStr(secrets.token_urlsafe(24))
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def app(name: str, *keys: KeyHash, revoked: bool = False) -> App:
    return App(name, frozenset({"shop.order.created"}), 50.0, revoked, T0, keys)


def directory(*apps: App, at: datetime = T0) -> AppDirectory:
    found = AppDirectory(KafkaSettings(), "ferry.apps", PEPPER, clock=lambda: at)
    for each in apps:
        found._load(each.name.encode(), encode_app(each))
    return found


def test_a_key_names_its_app_and_is_stored_only_as_a_peppered_hash() -> None:
    key = new_key("pos-1")
    assert key.startswith("fy_pos-1_")
    assert app_of(key) == "pos-1"
    stored = key_hash(key, PEPPER)
    assert key not in stored
    assert stored != key_hash(key, SecretStr(secrets.token_urlsafe(24)))
    assert app_of("fy_pos") is None
    assert app_of("Bearer something") is None


@pytest.mark.parametrize("name", ["", "POS", "pos_1", "-pos", "a" * 41, "pós"])
def test_app_names_follow_the_rule(name: str) -> None:
    with pytest.raises(ValueError, match="lowercase letters, digits and -"):
        check_name(name)


def test_an_app_record_round_trips() -> None:
    original = app("pos", KeyHash("ab" * 32, T0, T0 + timedelta(hours=1)), KeyHash("cd" * 32, T0))
    assert decode_app(encode_app(original)) == original
    with pytest.raises(ValueError, match="not an app record"):
        decode_app(b'{"name": "x"}')


def test_the_directory_knows_a_valid_key_and_refuses_the_others() -> None:
    key, other = new_key("pos"), new_key("pos")
    found = directory(app("pos", KeyHash(key_hash(key, PEPPER), T0)))
    authenticated = found.authenticate(key)
    assert authenticated is not None
    assert authenticated.name == "pos"
    assert found.authenticate(other) is None  # the right app, a wrong key
    assert found.authenticate(new_key("crm")) is None  # no such app
    assert found.authenticate("") is None


def test_a_revoked_app_and_an_expired_key_are_refused() -> None:
    old, new = new_key("pos"), new_key("pos")
    rotated = app(
        "pos",
        KeyHash(key_hash(old, PEPPER), T0, T0 + timedelta(hours=24)),
        KeyHash(key_hash(new, PEPPER), T0 + timedelta(hours=1)),
    )
    during = directory(rotated, at=T0 + timedelta(hours=2))
    assert during.authenticate(old) is not None  # the grace period
    assert during.authenticate(new) is not None
    after = directory(rotated, at=T0 + timedelta(hours=25))
    assert after.authenticate(old) is None
    assert after.authenticate(new) is not None
    revoked = directory(app("pos", KeyHash(key_hash(new, PEPPER), T0), revoked=True))
    assert revoked.authenticate(new) is None


def test_a_record_that_is_not_an_app_is_skipped_and_a_tombstone_removes_one() -> None:
    key = new_key("pos")
    found = directory(app("pos", KeyHash(key_hash(key, PEPPER), T0)))
    found._load(b"junk", b"not json")
    assert found.get("junk") is None
    found._load(b"pos", None)
    assert found.authenticate(key) is None


@pytest.mark.parametrize(("text", "rate"), [("50/s", 50.0), ("2.5", 2.5), (" 10 /s ", 10.0)])
def test_rates_are_events_per_second(text: str, rate: float) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["0/s", "fast", "-1", "10/m"])
def test_a_rate_that_is_not_events_per_second_is_refused(text: str) -> None:
    with pytest.raises(click.BadParameter, match="events per second"):
        parse_rate(text)
