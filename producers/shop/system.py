"""The web shop as a connected system: its settings section and its embedded-default secret."""

from __future__ import annotations

import secrets

from ferry.flow import System
from ferry.secrets import SecretRef
from ferry.settings import Secret, SystemModel

__all__ = ["SHOP", "ShopSettings"]


class ShopSettings(SystemModel):
    """``systems.shop``: the secret the shop signs its webhooks with."""

    webhook_secret: Secret = SecretRef("env", "FERRY_SHOP_WEBHOOK_SECRET")


def _secrets() -> dict[str, str]:
    return {"FERRY_SHOP_WEBHOOK_SECRET": secrets.token_urlsafe(32)}


SHOP: System[ShopSettings] = System(
    "shop",
    ShopSettings,
    secrets=_secrets,
    cli=("producers.shop.cli", "sandbox.shop.cli"),
    try_it=".venv/bin/ferry shop send-sample   # a signed sample order (--invalid: a dead letter)",
)
