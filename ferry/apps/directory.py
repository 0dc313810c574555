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
from ferry.apps.topic import topic_spec
from ferry.errors import Unavailable
from ferry.follow import TopicFollower
from ferry.kafka import translate_kafka_error
from ferry.settings import KafkaSettings
from ferry.topics import ensure_topics

__all__ = ["AppDirectory"]

log = logging.getLogger(__name__)


class AppDirectory:
    """The apps of ``topic``, kept up to date; ``clock`` is for tests."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        pepper: SecretStr,
        *,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self.topic = topic
        self._kafka = kafka
        self._pepper = pepper
        self._clock = clock
        self._apps: dict[str, App] = {}
        self._follower: TopicFollower | None = None

    @property
    def loaded(self) -> bool:
        """Whether the topic has been read to the end it had at :meth:`start`."""
        return self._follower is not None and self._follower.loaded.is_set()

    async def start(self, *, timeout_s: float = 30.0) -> None:
        """Create the topic (compacted) if it is missing, read it to its end, then follow it.

        Raises :class:`~ferry.errors.Unavailable` when Kafka cannot be reached or the topic
        is not read to its end within ``timeout_s``: a key is never judged on a partial view.
        Can be called again after :meth:`stop` (or a failed start).
        """
        await self.stop()
        try:
            await ensure_topics(self._kafka, [topic_spec(self.topic, self._kafka)])
        except Exception as exc:
            raise translate_kafka_error(exc) from exc
        self._apps = {}
        self._follower = TopicFollower(self._kafka, self.topic, self._load)
        try:
            await self._follower.start(timeout_s=timeout_s)
        except Exception as exc:
            await self.stop()
            raise translate_kafka_error(exc) from exc
        if not self.loaded:
            await self.stop()
            raise Unavailable(f"{self.topic} was not read to its end in {timeout_s:g} s")
        log.info("apps: %d known (%d active)", len(self._apps), len(self.active()))

    async def stop(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            await follower.stop()

    def authenticate(self, key: str) -> App | None:
        """The app ``key`` belongs to, when the app is active and the key one of its valid
        keys; None otherwise (an unknown, revoked, expired or wrong key)."""
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
        """Every app, revoked ones too, by name."""
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
            app = decode_app(value)
            if app.name != name:
                raise ValueError(f"it names app {app.name}")
        except ValueError as exc:
            # What was known of the app no longer holds: its keys are refused from now on.
            self._apps.pop(name, None)
            log.warning("%s: the record of %s is not an app (%s); skipped", self.topic, name, exc)
            return
        self._apps[name] = app
