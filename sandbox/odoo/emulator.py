"""The emulator object: configuration, store, registry, credentials, faults and webhooks."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .auth import Auth, generate_api_key
from .faults import Faults
from .models import ALL_MODELS
from .orm.registry import Registry
from .seed import ADMIN_UID, DEMO, SUPERUSER_ID, seed, upgrade
from .service import Services
from .store import Store
from .webhooks import WebhookRule, Webhooks

SUPPORTED_VERSIONS = ("17.0", "18.0", "19.0")
API_KEY_ENV = "SANDBOX_ODOO_API_KEY"


@dataclass
class EmulatorConfig:
    version: str = "18.0"
    database: str = "ferry"
    admin_login: str = "admin"
    admin_password: str = "admin"  # noqa: S105  # the public Odoo default; sandbox only
    demo_password: str = "demo"  # noqa: S105  # Odoo's demo user default; sandbox only
    api_keys: list[str] = field(default_factory=list)
    data_dir: Path | None = None
    webhooks: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.version not in SUPPORTED_VERSIONS:
            raise ValueError(
                f"Odoo version must be one of {SUPPORTED_VERSIONS}, not {self.version}"
            )

    @classmethod
    def from_env(cls, **overrides: Any) -> EmulatorConfig:
        config = cls(**overrides)
        key = os.environ.get(API_KEY_ENV)
        if key and key not in config.api_keys:
            config.api_keys.append(key)
        return config


class OdooEmulator:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        path = self.config.data_dir / "odoo.sqlite3" if self.config.data_dir else None
        self.store = Store(path)
        self.faults = Faults()
        self.webhooks = Webhooks()
        self.registry = Registry(
            ALL_MODELS, self.store, self.config.version, self.faults.take_serialization_failure
        )
        self.registry.listeners.append(self.webhooks)
        self.auth = Auth(lambda: self.store.tables["res.users"])
        self.services = Services(self)
        self.sessions: dict[str, int] = {}
        self._install()

    def _install(self) -> None:
        listeners = list(self.registry.listeners)
        self.registry.listeners.clear()
        try:
            self.registry.run(SUPERUSER_ID, {}, seed if self.store.is_empty() else upgrade)
        finally:
            self.registry.listeners.extend(listeners)
        self.auth.set_password(ADMIN_UID, self.config.admin_password)
        demo = self.uid_of(DEMO)
        if demo is not None:
            self.auth.set_password(demo, self.config.demo_password)
        for key in self.config.api_keys:
            self.auth.add_api_key(key, ADMIN_UID)
        for model, url in self.config.webhooks:
            self.webhooks.add(model, url)

    def add_api_key(self, key: str, uid: int = ADMIN_UID) -> None:
        self.auth.add_api_key(key, uid)

    def uid_of(self, login: str) -> int | None:
        """The id of the active user with that login."""
        for uid, row in self.store.tables["res.users"].items():
            if row.get("login") == login and row.get("active", True):
                return uid
        return None

    def new_api_key(self, login: str) -> tuple[int, str]:
        """A fresh API key (40 hex characters) for an active user, as the user would create
        one in their preferences; it stays valid until the emulator stops."""
        uid = self.uid_of(login)
        if uid is None:
            raise KeyError(login)
        key = generate_api_key()
        self.auth.add_api_key(key, uid)
        return uid, key

    def add_webhook(
        self,
        model: str,
        url: str,
        fields: list[str] | None = None,
        trigger: str = "on_create_or_write",
        name: str = "Send Webhook Notification",
    ) -> WebhookRule:
        return self.webhooks.add(model, url, fields, trigger, name)

    def reset(self) -> None:
        """Back to a freshly seeded database; faults, cooldown, sessions and webhooks cleared."""
        with self.registry.lock:
            self.store.clear()
            self.registry.invalidate()
            self.faults.clear()
            self.auth.reset_cooldown()
            self.sessions.clear()
            self.webhooks.clear()
            self._install()

    def close(self) -> None:
        self.webhooks.close()
        self.store.close()
