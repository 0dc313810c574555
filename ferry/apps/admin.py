"""What ``ferry apps`` does: create, list, revoke and rotate apps, written to ``apps.topic``.

Each change is produced with ``acks=all`` and waited for, so when a method returns, every
gateway will see the change within seconds. Keys are returned once, to be shown once; only
their hashes are written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta

from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from ferry.apps.directory import AppDirectory
from ferry.apps.keys import check_name, key_hash, new_key
from ferry.apps.model import App, KeyHash, encode_app, now
from ferry.kafka import make_producer, translate_kafka_error
from ferry.settings import AppsSettings, KafkaSettings

__all__ = ["AppAdmin", "AppError"]


class AppError(ValueError):
    """A change that cannot be made (an existing name, an unknown app, a bad argument)."""


class AppAdmin:
    """Changes apps; reads them through its own :class:`AppDirectory` (``directory``).

    Use as an async context manager: entering creates the topic if needed, reads it to its
    end and connects the producer; Kafka errors come out as :class:`~ferry.errors.FerryError`
    (:class:`~ferry.errors.Unavailable` when Kafka cannot be reached).
    """

    def __init__(self, kafka: KafkaSettings, settings: AppsSettings, pepper: SecretStr) -> None:
        self._kafka = kafka
        self._settings = settings
        self._pepper = pepper
        self.directory = AppDirectory(kafka, settings.topic, pepper)
        self._producer: AIOKafkaProducer | None = None

    async def __aenter__(self) -> AppAdmin:
        await self.directory.start()
        producer = make_producer(self._kafka, client_id="apps")
        try:
            await producer.start()
        except BaseException as exc:
            await producer.stop()
            await self.directory.stop()
            if isinstance(exc, Exception):
                raise translate_kafka_error(exc) from exc
            raise
        self._producer = producer
        return self

    async def __aexit__(self, *exc: object) -> None:
        producer, self._producer = self._producer, None
        try:
            await self.directory.stop()
        finally:
            if producer is not None:
                await producer.stop()

    async def create(
        self, name: str, grants: Iterable[str], rate_per_s: float | None = None
    ) -> tuple[App, str]:
        """A new app (or a revoked one anew) and its key; ``rate_per_s`` defaults to
        ``apps.default_rate_per_s``."""
        try:
            check_name(name)
        except ValueError as exc:
            raise AppError(str(exc)) from None
        existing = self.directory.get(name)
        if existing is not None and not existing.revoked:
            raise AppError(f"app {name} exists; rotate its key or revoke it first")
        chosen = frozenset(grants)
        if not chosen:
            raise AppError("grant at least one event type (--publish TYPE)")
        if "" in chosen or any(g != g.strip() for g in chosen):
            raise AppError("an event type cannot be empty or have spaces around it")
        rate = self._settings.default_rate_per_s if rate_per_s is None else rate_per_s
        if not rate > 0:
            raise AppError(f"rate must be positive, got {rate:g}")
        key = new_key(name)
        moment = now()
        app = App(
            name, chosen, rate, False, moment, (KeyHash(key_hash(key, self._pepper), moment),)
        )
        await self._write(app)
        return app, key

    def list(self) -> list[App]:
        """Every app, revoked ones too, by name."""
        return self.directory.apps()

    async def revoke(self, name: str) -> App:
        """Revoke ``name``: its keys are refused everywhere within seconds."""
        app = self._existing(name)
        if app.revoked:
            return app
        revoked = replace(app, revoked=True)
        await self._write(revoked)
        return revoked

    async def rotate(self, name: str, grace_s: float | None = None) -> tuple[App, str]:
        """A new key; the keys the app had stay valid ``grace_s`` longer (default
        ``apps.rotation_grace_s``), expired ones are dropped."""
        app = self._existing(name)
        if app.revoked:
            raise AppError(f"app {name} is revoked; create it again")
        grace = self._settings.rotation_grace_s if grace_s is None else grace_s
        if not grace >= 0:
            raise AppError(f"grace must be 0 or more seconds, got {grace:g}")
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
        if self._producer is None:
            raise RuntimeError("AppAdmin is used outside `async with`")
        try:
            await self._producer.send_and_wait(
                self._settings.topic, value=encode_app(app), key=app.name.encode()
            )
        except Exception as exc:
            raise translate_kafka_error(exc) from exc
        self.directory.put(app)
