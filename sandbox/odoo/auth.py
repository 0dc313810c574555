"""Credentials: passwords, API keys (stored hashed) and the per-IP login cooldown."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable

from .exceptions import AccessDenied

COOLDOWN_AFTER = 5
COOLDOWN_SECONDS = 60.0
TOO_MANY = "Too many login failures, please wait a bit before trying again."


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_api_key() -> str:
    """40 hex characters, like Odoo's keys."""
    return secrets.token_hex(20)


class Auth:
    def __init__(
        self,
        users: Callable[[], dict[int, dict[str, object]]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._users = users
        self._clock = clock
        self._lock = threading.Lock()
        self.passwords: dict[int, str] = {}
        self.api_keys: dict[str, int] = {}
        self.failures: dict[str, tuple[int, float]] = {}

    def set_password(self, uid: int, password: str) -> None:
        self.passwords[uid] = password

    def add_api_key(self, key: str, uid: int) -> None:
        self.api_keys[hash_key(key)] = uid

    def reset_cooldown(self) -> None:
        with self._lock:
            self.failures.clear()

    # -- cooldown ------------------------------------------------------------------------------

    def _assert_can_auth(self, ip: str) -> None:
        with self._lock:
            count, last = self.failures.get(ip, (0, 0.0))
            if count >= COOLDOWN_AFTER:
                if self._clock() - last < COOLDOWN_SECONDS:
                    raise AccessDenied(TOO_MANY)
                self.failures.pop(ip, None)

    def _failed(self, ip: str) -> AccessDenied:
        with self._lock:
            count, _last = self.failures.get(ip, (0, 0.0))
            self.failures[ip] = (count + 1, self._clock())
        return AccessDenied()

    def _succeeded(self, ip: str) -> None:
        with self._lock:
            self.failures.pop(ip, None)

    # -- checks --------------------------------------------------------------------------------

    def _active_uid(self, login: str) -> int | None:
        for uid, row in self._users().items():
            if row.get("login") == login and row.get("active", True):
                return uid
        return None

    def _matches(self, uid: int, secret: object, api_key_ok: bool = True) -> bool:
        if not isinstance(secret, str) or not secret:
            return False
        if self.passwords.get(uid) == secret:
            return True
        return api_key_ok and self.api_keys.get(hash_key(secret)) == uid

    def authenticate(
        self, login: object, password: object, ip: str, api_key_ok: bool = True
    ) -> int:
        """Return the uid or raise AccessDenied (``common.login`` turns that into ``False``)."""
        self._assert_can_auth(ip)
        uid = self._active_uid(str(login)) if isinstance(login, str) else None
        if uid is None or not self._matches(uid, password, api_key_ok):
            raise self._failed(ip)
        self._succeeded(ip)
        return uid

    def check(self, uid: object, password: object, ip: str) -> int:
        """Credentials of an ``object`` call: uid plus password or API key."""
        self._assert_can_auth(ip)
        users = self._users()
        if not isinstance(uid, int) or isinstance(uid, bool) or uid not in users:
            raise self._failed(ip)
        if not users[uid].get("active", True) or not self._matches(uid, password):
            raise self._failed(ip)
        return uid

    def bearer(self, key: str) -> int | None:
        uid = self.api_keys.get(hash_key(key))
        if uid is None:
            return None
        row = self._users().get(uid)
        return uid if row and row.get("active", True) else None
