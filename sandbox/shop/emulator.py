"""The emulator object: configuration, store, credentials, bucket, faults, webhooks, orders."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .auth import TOKEN_LIFETIME_S, Auth
from .bucket import MAXIMUM_AVAILABLE, RESTORE_RATE, LeakyBucket
from .faults import Faults
from .orders import Orders
from .resolvers import bind
from .schema import API_VERSION, build
from .seed import INITIAL_AVAILABLE, seed
from .store import Store
from .webhooks import RETRY_DELAYS_S, WebhookSender

CLIENT_ID_ENV = "SANDBOX_SHOP_CLIENT_ID"
CLIENT_SECRET_ENV = "SANDBOX_SHOP_CLIENT_SECRET"  # noqa: S105  # the variable's name
DEFAULT_CLIENT_ID = "ferry-sandbox"
SHOP_DOMAIN = "ferry-sandbox.myshopify.com"


@dataclass
class ShopConfig:
    client_secret: str = field(repr=False)
    client_id: str = DEFAULT_CLIENT_ID
    data_dir: Path | None = None
    webhook_url: str | None = None
    shop_domain: str = SHOP_DOMAIN
    token_lifetime_s: float = TOKEN_LIFETIME_S
    maximum_available: float = MAXIMUM_AVAILABLE
    restore_rate: float = RESTORE_RATE
    webhook_retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S
    initial_available: int = INITIAL_AVAILABLE

    def __post_init__(self) -> None:
        if not self.client_secret:
            raise ValueError(f"a client secret is required (set ${CLIENT_SECRET_ENV})")

    @classmethod
    def from_env(cls, secret_env: str = CLIENT_SECRET_ENV, **overrides: Any) -> ShopConfig:
        """Client id and secret from the environment (the secret never from an argument)."""
        overrides.setdefault("client_id", os.environ.get(CLIENT_ID_ENV) or DEFAULT_CLIENT_ID)
        return cls(client_secret=os.environ.get(secret_env, ""), **overrides)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class ShopEmulator:
    def __init__(self, config: ShopConfig) -> None:
        self.config = config
        path = config.data_dir / "shop.sqlite3" if config.data_dir else None
        self.store = Store(path)
        self.schema = bind(build())
        self.faults = Faults()
        self.auth = Auth(
            self.store, config.client_id, config.client_secret, lifetime_s=config.token_lifetime_s
        )
        self.bucket = LeakyBucket(config.maximum_available, config.restore_rate)
        self.webhooks = WebhookSender(
            self.store,
            lambda: self.auth.client_secret,
            shop_domain=config.shop_domain,
            api_version=API_VERSION,
            url=config.webhook_url,
            retry_delays_s=config.webhook_retry_delays_s,
        )
        self.orders = Orders(self.store, self.webhooks, self.location_id, self.now)
        if self.store.is_empty():
            seed(self.store, _now().isoformat(), config.initial_available)

    def now(self) -> datetime:
        return _now()

    def location_id(self) -> int:
        """The primary (first) location."""
        return self.store.locations()[0].id

    def start(self) -> None:
        """Start the background webhook sender (it resumes pending deliveries)."""
        self.webhooks.start()

    def reset(self) -> None:
        """Back to the seeded shop: orders, idempotency keys and deliveries gone, bucket full,
        faults cleared, settings as configured. Issued access tokens stay valid."""
        with self.store.transaction():
            self.store.clear()
            seed(self.store, _now().isoformat(), self.config.initial_available)
        self.faults.clear()
        self.auth.lifetime_s = self.config.token_lifetime_s
        self.bucket.configure(
            maximum=self.config.maximum_available, restore_rate=self.config.restore_rate
        )
        self.bucket.fill()
        self.webhooks.url = self.config.webhook_url
        self.webhooks.retry_delays_s = tuple(self.config.webhook_retry_delays_s)

    def close(self) -> None:
        self.webhooks.stop()
        self.store.close()
