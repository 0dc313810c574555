"""What the apps' unit tests share: a pepper made per run, apps and directories without Kafka."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from pydantic import SecretStr

from ferry.apps import App, AppDirectory, KeyHash
from ferry.apps.model import encode_app
from ferry.settings import KafkaSettings

PEPPER = SecretStr(secrets.token_urlsafe(24))  # generated per run: no secret lives in code
TYPE = "shop.order.created"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def app(name: str, *keys: KeyHash, revoked: bool = False) -> App:
    return App(name, frozenset({TYPE}), 50.0, revoked, T0, keys)


def directory(*apps: App, at: datetime = T0) -> AppDirectory:
    """A directory that has read ``apps`` from its topic (without Kafka), its clock at ``at``."""
    found = AppDirectory(KafkaSettings(), "ferry.apps", PEPPER, clock=lambda: at)
    for each in apps:
        found._load(each.name.encode(), encode_app(each))
    return found
