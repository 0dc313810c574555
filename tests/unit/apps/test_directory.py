"""The directory's judgement of a key, from the records it read, without Kafka."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from pydantic import SecretStr

from ferry.apps import AppDirectory, KeyHash, key_hash, new_key
from ferry.apps.model import encode_app
from ferry.errors import Unavailable
from ferry.settings import KafkaSettings
from infra.kafka.ports import free_ports
from tests.unit.apps.helpers import PEPPER, T0, app, directory


def test_a_valid_key_authenticates_its_app() -> None:
    key = new_key("pos")
    found = directory(app("pos", KeyHash(key_hash(key, PEPPER), T0)), app("crm"))
    authenticated = found.authenticate(key)
    assert authenticated is not None
    assert authenticated.name == "pos"
    assert authenticated.rate_per_s == 50.0
    assert found.get("pos") == authenticated
    assert [a.name for a in found.apps()] == ["crm", "pos"]


def test_a_wrong_key_is_refused() -> None:
    key = new_key("pos")
    found = directory(app("pos", KeyHash(key_hash(key, PEPPER), T0)))
    assert found.authenticate(new_key("pos")) is None  # the right app, another key
    assert found.authenticate(new_key("crm")) is None  # no such app
    assert found.authenticate(key.replace("fy_pos_", "fy_crm_")) is None  # another app's name
    assert found.authenticate(key[:-1]) is None
    assert found.authenticate(key + "x") is None
    assert found.authenticate("") is None
    assert found.authenticate("Bearer " + key) is None
    peppered_otherwise = AppDirectory(
        KafkaSettings(), "ferry.apps", SecretStr(secrets.token_urlsafe(24)), clock=lambda: T0
    )
    peppered_otherwise.put(app("pos", KeyHash(key_hash(key, PEPPER), T0)))
    assert peppered_otherwise.authenticate(key) is None  # a pepper other than the one it hashed


def test_a_revoked_app_is_refused() -> None:
    key = new_key("pos")
    revoked = directory(app("pos", KeyHash(key_hash(key, PEPPER), T0), revoked=True))
    assert revoked.authenticate(key) is None
    assert revoked.get("pos") is not None  # still listed, as revoked
    assert revoked.active() == []


def test_an_expired_key_is_refused_and_a_rotated_one_is_valid_until_it_expires() -> None:
    old, new = new_key("pos"), new_key("pos")
    rotated = app(
        "pos",
        KeyHash(key_hash(old, PEPPER), T0, T0 + timedelta(hours=24)),
        KeyHash(key_hash(new, PEPPER), T0 + timedelta(hours=1)),
    )
    during = directory(rotated, at=T0 + timedelta(hours=2))
    assert during.authenticate(old) is not None  # the grace period
    assert during.authenticate(new) is not None
    after = directory(rotated, at=T0 + timedelta(hours=24))
    assert after.authenticate(old) is None
    assert after.authenticate(new) is not None


def test_a_later_record_replaces_an_app_and_a_tombstone_removes_it() -> None:
    key = new_key("pos")
    found = directory(app("pos", KeyHash(key_hash(key, PEPPER), T0)))
    assert found.authenticate(key) is not None
    found._load(b"pos", encode_app(app("pos", KeyHash(key_hash(key, PEPPER), T0), revoked=True)))
    assert found.authenticate(key) is None
    found._load(b"pos", encode_app(app("pos", KeyHash(key_hash(key, PEPPER), T0))))
    assert found.authenticate(key) is not None
    found._load(b"pos", None)
    assert found.authenticate(key) is None
    assert found.get("pos") is None


def test_a_record_that_is_not_an_app_is_skipped_and_drops_what_was_known() -> None:
    key = new_key("pos")
    found = directory(app("pos", KeyHash(key_hash(key, PEPPER), T0)))
    found._load(b"junk", b"not json")
    assert found.get("junk") is None
    found._load(None, b"not json")
    found._load(b"pos", b"not json")  # what the app was no longer holds
    assert found.get("pos") is None
    assert found.authenticate(key) is None


def test_a_record_under_another_apps_name_is_skipped() -> None:
    key = new_key("pos")
    found = directory()
    found._load(b"crm", encode_app(app("pos", KeyHash(key_hash(key, PEPPER), T0))))
    assert found.get("crm") is None
    assert found.get("pos") is None
    assert found.authenticate(key) is None


async def test_a_directory_without_kafka_does_not_start() -> None:
    port = free_ports(1)[0]  # nothing listens there
    found = AppDirectory(KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}"), "ferry.apps", PEPPER)
    with pytest.raises(Unavailable, match="Kafka unavailable"):
        await found.start(timeout_s=5)
    assert not found.loaded
    await found.stop()
