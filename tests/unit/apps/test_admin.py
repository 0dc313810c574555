"""What AppAdmin writes, and what it refuses before writing, with a producer that records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ferry.apps import AppAdmin, AppError, KeyHash, app_of, key_hash
from ferry.apps.model import decode_app, now
from ferry.settings import AppsSettings, KafkaSettings
from tests.unit.apps.helpers import PEPPER, T0, TYPE, app

SETTINGS = AppsSettings(topic="ferry.apps.test", rotation_grace_s=3600, default_rate_per_s=7)


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send_and_wait(self, topic: str, *, value: bytes, key: bytes) -> Any:
        self.sent.append((topic, key, value))


def admin(*apps: Any) -> tuple[AppAdmin, RecordingProducer]:
    """An AppAdmin as if entered: its directory holds ``apps``, its writes are recorded."""
    found = AppAdmin(KafkaSettings(), SETTINGS, PEPPER)
    for each in apps:
        found.directory.put(each)
    producer = RecordingProducer()
    found._producer = producer
    return found, producer


async def test_create_writes_the_hash_of_the_key_it_returns_once() -> None:
    found, producer = admin()
    created, key = await found.create("pos", [TYPE, TYPE], None)
    assert app_of(key) == "pos"
    assert (created.name, created.grants, created.rate_per_s) == ("pos", frozenset({TYPE}), 7.0)
    assert not created.revoked
    assert [k.hash for k in created.keys] == [key_hash(key, PEPPER)]
    assert created.keys[0].expires_at is None
    [(topic, record_key, value)] = producer.sent
    assert (topic, record_key) == ("ferry.apps.test", b"pos")
    assert key.encode() not in value
    assert decode_app(value) == created
    assert found.directory.authenticate(key) == created  # seen at once by its own directory
    assert found.list() == [created]


@pytest.mark.parametrize(
    ("name", "grants", "rate", "error"),
    [
        ("POS", [TYPE], None, "lowercase letters"),
        ("pos", [], None, "at least one event type"),
        ("pos", [""], None, "cannot be empty"),
        ("pos", [TYPE], 0.0, "rate must be positive"),
        ("pos", [TYPE], -1.0, "rate must be positive"),
    ],
)
async def test_create_refuses_bad_arguments_and_writes_nothing(
    name: str, grants: list[str], rate: float | None, error: str
) -> None:
    found, producer = admin()
    with pytest.raises(AppError, match=error):
        await found.create(name, grants, rate)
    assert producer.sent == []


async def test_create_refuses_an_active_name_and_renews_a_revoked_one() -> None:
    found, producer = admin(app("pos", KeyHash("ab" * 32, T0)), app("crm", revoked=True))
    with pytest.raises(AppError, match="app pos exists"):
        await found.create("pos", [TYPE])
    assert producer.sent == []
    renewed, key = await found.create("crm", [TYPE], 3)
    assert not renewed.revoked
    assert found.directory.authenticate(key) == renewed


async def test_revoke_writes_the_app_revoked_once() -> None:
    found, producer = admin(app("pos", KeyHash("ab" * 32, T0)))
    revoked = await found.revoke("pos")
    assert revoked.revoked
    assert decode_app(producer.sent[0][2]) == revoked
    assert await found.revoke("pos") == revoked  # already revoked: nothing more to write
    assert len(producer.sent) == 1
    with pytest.raises(AppError, match="no app named nope"):
        await found.revoke("nope")


async def test_rotate_expires_the_old_keys_after_the_grace_and_drops_expired_ones() -> None:
    moment = now()
    expired = KeyHash("aa" * 32, T0, moment - timedelta(seconds=1))
    soon = KeyHash("bb" * 32, T0, moment + timedelta(seconds=60))
    current = KeyHash("cc" * 32, T0)
    found, producer = admin(app("pos", expired, soon, current))
    rotated, key = await found.rotate("pos")
    assert [k.hash for k in rotated.keys] == ["bb" * 32, "cc" * 32, key_hash(key, PEPPER)]
    kept_soon, kept_current, new = rotated.keys
    assert kept_soon.expires_at == soon.expires_at  # an earlier expiry is kept
    assert kept_current.expires_at is not None
    grace = kept_current.expires_at - moment
    assert timedelta(seconds=3600) <= grace < timedelta(seconds=3610)
    assert new.expires_at is None
    assert decode_app(producer.sent[0][2]) == rotated
    assert found.directory.authenticate(key) == rotated

    again, _ = await found.rotate("pos", grace_s=0)
    assert all(k.expires_at is not None for k in again.keys[:-1])
    assert again.keys[-1].expires_at is None
    assert found.directory.authenticate(key) is None  # expired at once


async def test_rotate_refuses_unknown_and_revoked_apps_and_a_negative_grace() -> None:
    found, producer = admin(app("pos", KeyHash("ab" * 32, T0)), app("crm", revoked=True))
    with pytest.raises(AppError, match="no app named nope"):
        await found.rotate("nope")
    with pytest.raises(AppError, match="crm is revoked"):
        await found.rotate("crm")
    with pytest.raises(AppError, match="grace"):
        await found.rotate("pos", grace_s=-1)
    assert producer.sent == []


async def test_an_admin_that_was_not_entered_writes_nothing() -> None:
    found = AppAdmin(KafkaSettings(), SETTINGS, PEPPER)
    with pytest.raises(RuntimeError, match="async with"):
        await found.create("pos", [TYPE])
