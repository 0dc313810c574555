"""Apps on the real broker: what ``ferry apps`` writes, every gateway's directory sees.

Each test has its own topic. Waits are loops on the condition, never fixed sleeps.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from click.testing import CliRunner
from pydantic import SecretStr

from ferry.apps import AppAdmin, AppDirectory, AppError, app_of
from ferry.cli import cli
from ferry.settings import AppsSettings, KafkaSettings

pytestmark = pytest.mark.kafka

PEPPER = SecretStr(secrets.token_urlsafe(24))  # generated per run: no secret lives in code
TYPE = "shop.order.created"


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait for ``condition``; fail after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, f"condition not reached in {timeout_s:g} s"
        await asyncio.sleep(0.05)


def settings(**more: Any) -> AppsSettings:
    return AppsSettings(topic=f"ferry.apps.test-{uuid.uuid4().hex[:12]}", **more)


async def topic_config(bootstrap: str, topic: str) -> tuple[int, dict[str, str]]:
    """The partition count and the configuration of ``topic``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    entries = response.resources[0][4]
    return len(described["partitions"]), {e[0]: e[1] for e in entries}


async def test_a_key_created_by_one_admin_authenticates_in_a_directory_started_later(
    kafka_bootstrap: str,
) -> None:
    kafka, apps = KafkaSettings(bootstrap_servers=kafka_bootstrap), settings()
    async with AppAdmin(kafka, apps, PEPPER) as admin:
        _, pos_key = await admin.create("pos", [TYPE], 20)
        _, crm_key = await admin.create("crm", [TYPE])
    partitions, config = await topic_config(kafka_bootstrap, apps.topic)
    assert partitions == 1
    assert config["cleanup.policy"] == "compact"

    gateway = AppDirectory(kafka, apps.topic, PEPPER)
    await gateway.start()
    try:
        assert gateway.loaded
        pos = gateway.authenticate(pos_key)
        assert pos is not None
        assert (pos.name, pos.grants, pos.rate_per_s) == ("pos", frozenset({TYPE}), 20.0)
        crm = gateway.authenticate(crm_key)
        assert crm is not None
        assert crm.rate_per_s == apps.default_rate_per_s
        assert gateway.authenticate(pos_key[:-2] + "xx") is None
        assert [a.name for a in gateway.apps()] == ["crm", "pos"]
    finally:
        await gateway.stop()

    async with AppAdmin(kafka, apps, PEPPER) as another:  # another process, the same topic
        assert [a.name for a in another.list()] == ["crm", "pos"]
        with pytest.raises(AppError, match="app pos exists"):
            await another.create("pos", [TYPE])


async def test_a_revocation_written_after_start_is_seen_within_seconds(
    kafka_bootstrap: str,
) -> None:
    kafka, apps = KafkaSettings(bootstrap_servers=kafka_bootstrap), settings()
    gateway = AppDirectory(kafka, apps.topic, PEPPER)
    await gateway.start()  # the topic does not exist yet: the directory creates it, compacted
    try:
        _, config = await topic_config(kafka_bootstrap, apps.topic)
        assert config["cleanup.policy"] == "compact"
        assert gateway.apps() == []
        async with AppAdmin(kafka, apps, PEPPER) as admin:
            _, pos_key = await admin.create("pos", [TYPE])
            _, crm_key = await admin.create("crm", [TYPE])
        await until(lambda: gateway.authenticate(crm_key) is not None)
        assert gateway.authenticate(pos_key) is not None

        async with AppAdmin(kafka, apps, PEPPER) as admin:  # a later `ferry apps revoke crm`
            revoked = await admin.revoke("crm")
        assert revoked.revoked
        await until(lambda: gateway.authenticate(crm_key) is None, timeout_s=5)
        crm = gateway.get("crm")
        assert crm is not None
        assert crm.revoked
        assert gateway.authenticate(pos_key) is not None  # the other app is untouched
    finally:
        await gateway.stop()


async def test_rotation_keeps_the_old_key_valid_until_its_expiry(kafka_bootstrap: str) -> None:
    kafka, apps = KafkaSettings(bootstrap_servers=kafka_bootstrap), settings(rotation_grace_s=3600)
    gateway = AppDirectory(kafka, apps.topic, PEPPER)
    await gateway.start()
    try:
        async with AppAdmin(kafka, apps, PEPPER) as admin:
            _, first = await admin.create("pos", [TYPE])
            await until(lambda: gateway.authenticate(first) is not None)

            rotated, second = await admin.rotate("pos")  # the default grace: an hour
            await until(lambda: gateway.authenticate(second) is not None)
            assert gateway.authenticate(first) is not None
            old = rotated.keys[0].expires_at
            assert old is not None
            assert 3590 < (old - rotated.keys[1].created_at).total_seconds() <= 3600

            _, third = await admin.rotate("pos", grace_s=6)  # the old keys: 6 s more
            await until(lambda: gateway.authenticate(third) is not None)
            assert gateway.authenticate(second) is not None
            assert gateway.authenticate(first) is not None  # its hour is cut to 6 s too
            await until(lambda: gateway.authenticate(second) is None, timeout_s=15)
            assert gateway.authenticate(first) is None
            assert gateway.authenticate(third) is not None
    finally:
        await gateway.stop()


def test_the_command_line_creates_lists_and_revokes(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    topic = settings().topic
    pepper = secrets.token_urlsafe(24)
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("FERRY_CONFIG", raising=False)
    monkeypatch.setenv("FERRY_APPS_PEPPER", pepper)
    monkeypatch.setenv("FERRY__KAFKA__BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("FERRY__APPS__TOPIC", topic)
    runner = CliRunner()

    created = runner.invoke(cli, ["apps", "create", "pos", "--publish", TYPE, "--rate", "50/s"])
    assert created.exit_code == 0, created.output
    [key] = re.findall(r"^key: (fy_\S+)$", created.output, re.M)
    assert app_of(key) == "pos"
    assert "shown only once" in created.output
    assert f"pos: active, publishes {TYPE} at up to 50/s" in created.output

    again = runner.invoke(cli, ["apps", "create", "pos", "--publish", TYPE])
    assert again.exit_code == 1
    assert "app pos exists" in again.output

    listed = runner.invoke(cli, ["apps", "list"])
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if " pos " in line)
    for shown in (TYPE, "50/s", "active", "no expiry"):
        assert shown in row
    assert key not in listed.output

    async def authenticated() -> bool:
        directory = AppDirectory(
            KafkaSettings(bootstrap_servers=kafka_bootstrap), topic, SecretStr(pepper)
        )
        await directory.start()
        try:
            return directory.authenticate(key) is not None
        finally:
            await directory.stop()

    assert asyncio.run(authenticated())
    revoked = runner.invoke(cli, ["apps", "revoke", "pos"])
    assert revoked.exit_code == 0, revoked.output
    assert "pos: revoked" in revoked.output
    assert not asyncio.run(authenticated())
    listed = runner.invoke(cli, ["apps", "list"])
    assert "revoked" in next(line for line in listed.output.splitlines() if " pos " in line)
    unknown = runner.invoke(cli, ["apps", "rotate", "nope"])
    assert unknown.exit_code == 1
    assert "no app named nope" in unknown.output
