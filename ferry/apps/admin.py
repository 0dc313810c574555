"""What ``ferry apps`` does: create, list, revoke and rotate apps, written to ``apps.topic``.

Each change is produced with ``acks=all`` and waited for, so when a command returns, every
gateway will see the change within seconds. Keys are returned once, to be shown once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import timedelta

from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from ferry.apps.directory import AppDirectory
from ferry.apps.keys import check_name, key_hash, new_key
from ferry.apps.model import App, KeyHash, encode_app, now
from ferry.errors import ConfigError
from ferry.secrets import parse_secret_ref
from ferry.settings import AppsSettings, KafkaSettings
from ferry.topics import TopicSpec, ensure_topics

__all__ = ["AppAdmin", "AppError", "apps_topic", "resolve_pepper"]


class AppError(ValueError):
    """A change that cannot be made (an existing name, an unknown app)."""


def resolve_pepper(settings: AppsSettings, environ: Mapping[str, str] | None = None) -> SecretStr:
    """The pepper of key hashes, from its secret reference (ConfigError naming apps.pepper)."""
    pepper = parse_secret_ref("apps.pepper", settings.pepper).resolve("apps.pepper", environ)
    if len(pepper.get_secret_value()) < 16:
        raise ConfigError("apps.pepper", "must be at least 16 characters")
    return pepper


def apps_topic(settings: AppsSettings, kafka: KafkaSettings) -> TopicSpec:
    """The apps' topic: compacted, one partition (a handful of small records)."""
    return TopicSpec(settings.topic, 1, kafka.replication_factor, {"cleanup.policy": "compact"})


class AppAdmin:
    """Changes apps; reads them through its own :class:`AppDirectory`. Use as an async
    context manager."""

    def __init__(self, kafka: KafkaSettings, settings: AppsSettings, pepper: SecretStr) -> None:
        self._kafka = kafka
        self._settings = settings
        self._pepper = pepper
        self.directory = AppDirectory(kafka, settings.topic, pepper)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=kafka.bootstrap_servers, acks="all", enable_idempotence=True
        )

    async def __aenter__(self) -> AppAdmin:
        await ensure_topics(
            self._kafka.bootstrap_servers, [apps_topic(self._settings, self._kafka)]
        )
        await self._producer.start()
        await self.directory.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.directory.stop()
        finally:
            await self._producer.stop()

    async def create(
        self, name: str, grants: Iterable[str], rate_per_s: float | None = None
    ) -> tuple[App, str]:
        check_name(name)
        existing = self.directory.get(name)
        if existing is not None and not existing.revoked:
            raise AppError(f"app {name} exists; rotate its key or revoke it first")
        chosen = frozenset(grants)
        if not chosen:
            raise AppError("grant at least one event type (--publish TYPE)")
        rate = self._settings.default_rate_per_s if rate_per_s is None else rate_per_s
        if rate <= 0:
            raise AppError(f"rate must be positive, got {rate:g}")
        key = new_key(name)
        moment = now()
        app = App(
            name, chosen, rate, False, moment, (KeyHash(key_hash(key, self._pepper), moment),)
        )
        await self._write(app)
        return app, key

    def list(self) -> list[App]:
        return self.directory.apps()

    async def revoke(self, name: str) -> App:
        app = self._existing(name)
        revoked = replace(app, revoked=True)
        await self._write(revoked)
        return revoked

    async def rotate(self, name: str, grace_s: float | None = None) -> tuple[App, str]:
        """A new key; the keys the app had stay valid ``grace_s`` longer (default
        ``apps.rotation_grace_s``)."""
        app = self._existing(name)
        if app.revoked:
            raise AppError(f"app {name} is revoked; create it again")
        grace = self._settings.rotation_grace_s if grace_s is None else grace_s
        moment = now()
        until = moment + timedelta(seconds=grace)
        kept = tuple(
            replace(k, expires_at=min(k.expires_at or until, until))
            for k in app.keys
            if k.valid(moment)
        )
        key = new_key(name)
        rotated = app.with_keys((*kept, KeyHash(key_hash(key, self._pepper), moment)))
        await self._write(rotated)
        return rotated, key

    def _existing(self, name: str) -> App:
        app = self.directory.get(name)
        if app is None:
            raise AppError(f"no app named {name}")
        return app

    async def _write(self, app: App) -> None:
        await self._producer.send_and_wait(
            self._settings.topic, value=encode_app(app), key=app.name.encode()
        )
        self.directory.put(app)
