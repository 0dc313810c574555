"""Every gateway's view of the apps: the topic ``apps.topic`` read and followed.

:meth:`AppDirectory.authenticate` runs on every publish request: a dict lookup by the app name
the key carries, one HMAC, constant-time comparisons; never a call to Kafka. A grant, a
revocation or a rotation written by ``ferry apps`` reaches every gateway within seconds.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from datetime import datetime

from pydantic import SecretStr

from ferry.apps.keys import app_of, key_hash
from ferry.apps.model import App, decode_app, now
from ferry.follow import TopicFollower
from ferry.settings import KafkaSettings

__all__ = ["AppDirectory"]

log = logging.getLogger(__name__)


class AppDirectory:
    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        pepper: SecretStr,
        *,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self.topic = topic
        self._pepper = pepper
        self._clock = clock
        self._apps: dict[str, App] = {}
        self._follower = TopicFollower(kafka, topic, self._load)

    async def start(self, *, timeout_s: float = 30.0) -> None:
        await self._follower.start(timeout_s=timeout_s)
        log.info("apps: %d known (%d active)", len(self._apps), len(self.active()))

    async def stop(self) -> None:
        await self._follower.stop()

    def authenticate(self, key: str) -> App | None:
        """The app ``key`` belongs to, when the app is active and the key one of its valid
        keys; None otherwise (an unknown, revoked, rotated-out or wrong key)."""
        name = app_of(key)
        app = self._apps.get(name) if name is not None else None
        if app is None or app.revoked:
            return None
        given = key_hash(key, self._pepper)
        moment = self._clock()
        found = False
        for stored in app.keys:  # every one compared: the time does not tell which matched
            if hmac.compare_digest(stored.hash, given) and stored.valid(moment):
                found = True
        return app if found else None

    def get(self, name: str) -> App | None:
        return self._apps.get(name)

    def apps(self) -> list[App]:
        return sorted(self._apps.values(), key=lambda app: app.name)

    def active(self) -> list[App]:
        return [app for app in self.apps() if not app.revoked]

    def put(self, app: App) -> None:
        """What this process just wrote (seen before the topic brings it back)."""
        self._apps[app.name] = app

    def _load(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        name = key.decode("utf-8", "replace")
        if value is None:  # a tombstone: the app is gone
            self._apps.pop(name, None)
            return
        try:
            self._apps[name] = decode_app(value)
        except ValueError as exc:
            log.warning("%s: the record of %s is not an app (%s); skipped", self.topic, name, exc)
