"""Apps on the real broker: what ``ferry apps`` writes, every gateway's directory sees."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable

import pytest
from pydantic import SecretStr

from ferry.apps import AppAdmin, AppDirectory, AppError
from ferry.settings import AppsSettings, KafkaSettings

pytestmark = pytest.mark.kafka

PEPPER = SecretStr(secrets.token_urlsafe(24))
TYPE = "shop.order.created"


async def until(condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def settings() -> AppsSettings:
    return AppsSettings(topic=f"ferry.apps.{uuid.uuid4().hex[:8]}", rotation_grace_s=3600)


async def test_a_gateway_started_later_knows_the_apps_and_a_running_one_sees_revocations(
    kafka_bootstrap: str,
) -> None:
    kafka, apps = KafkaSettings(bootstrap_servers=kafka_bootstrap), settings()
    async with AppAdmin(kafka, apps, PEPPER) as admin:
        _, pos_key = await admin.create("pos", [TYPE], 20)
        _, crm_key = await admin.create("crm", [TYPE])
        with pytest.raises(AppError, match="exists"):
            await admin.create("pos", [TYPE])
        gateway = AppDirectory(kafka, apps.topic, PEPPER)
        await gateway.start()
        try:
            pos = gateway.authenticate(pos_key)
            assert pos is not None
            assert (pos.name, pos.grants, pos.rate_per_s) == ("pos", frozenset({TYPE}), 20.0)
            crm = gateway.authenticate(crm_key)
            assert crm is not None
            assert crm.rate_per_s == apps.default_rate_per_s
            await admin.revoke("crm")
            await until(lambda: gateway.authenticate(crm_key) is None)
            assert gateway.authenticate(pos_key) is not None
        finally:
            await gateway.stop()


async def test_rotation_keeps_the_old_key_for_the_grace_period_only(kafka_bootstrap: str) -> None:
    kafka, apps = KafkaSettings(bootstrap_servers=kafka_bootstrap), settings()
    gateway = AppDirectory(kafka, apps.topic, PEPPER)
    async with AppAdmin(kafka, apps, PEPPER) as admin:
        await gateway.start()
        try:
            _, first = await admin.create("pos", [TYPE])
            await until(lambda: gateway.authenticate(first) is not None)
            _, second = await admin.rotate("pos")
            await until(lambda: gateway.authenticate(second) is not None)
            assert gateway.authenticate(first) is not None  # within the hour of grace
            _, third = await admin.rotate("pos", grace_s=0)
            await until(lambda: gateway.authenticate(third) is not None)
            assert gateway.authenticate(first) is None
            assert gateway.authenticate(second) is None
        finally:
            await gateway.stop()
