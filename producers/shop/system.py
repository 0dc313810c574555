"""The web shop as a connected system: its settings section, its embedded-default secrets,
its sandbox, and the connection its sinks share."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from consumers.shop.settings import ShopAdminSettings
from consumers.shop.target import ShopTarget
from ferry.flow import ServiceLookup, System
from ferry.registry import GATEWAY
from ferry.secrets import SecretRef
from ferry.settings import Secret
from ferry.stack import ServiceSpec

__all__ = ["SHOP", "ShopSettings"]


class ShopSettings(ShopAdminSettings):
    """``systems.shop``: the Admin API Ferry writes to, and the secret its webhooks are signed
    with (Shopify signs them with the app's client secret: by default the same value)."""

    client_id: str = "ferry-sandbox"
    webhook_secret: Secret = SecretRef("env", "FERRY_SHOP_WEBHOOK_SECRET")
    location: str | None = None  # where levels are set; None: the shop's first location


def _secrets() -> dict[str, str]:
    secret = secrets.token_urlsafe(32)
    return {
        "FERRY_SHOP_WEBHOOK_SECRET": secret,
        "FERRY_SHOP_CLIENT_SECRET": secret,
        "SANDBOX_SHOP_CLIENT_SECRET": secret,
    }


def _sandbox(settings: ShopSettings, state_dir: Path, services: ServiceLookup) -> ServiceSpec:
    port = httpx.URL(settings.url).port or 8070
    gateway = services(GATEWAY)
    host = "127.0.0.1" if gateway.host in ("0.0.0.0", "::") else gateway.host
    webhook = f"http://{host}:{gateway.port}/webhooks/shop"
    args: tuple[str, ...] = ("sandbox", "shop", "--port", str(port), "--data-dir", str(state_dir))
    args += ("--webhook-url", webhook)
    return ServiceSpec(
        "shop-sandbox",
        args,
        port,
        probe="/__sandbox__/health",
        env={"SANDBOX_SHOP_CLIENT_ID": settings.client_id},
    )


SHOP: System[ShopSettings] = System(
    "shop",
    ShopSettings,
    secrets=_secrets,
    sandbox=_sandbox,
    connect=ShopTarget.connect,
    sink_port=9103,
    cli=("producers.shop.cli", "sandbox.shop.cli"),
    try_it=(
        ".venv/bin/ferry shop send-sample    # a signed sample order (--invalid: a dead letter)\n"
        "  .venv/bin/ferry shop order SKU-003=2  # an order placed in the sandbox shop\n"
        "  .venv/bin/ferry shop show SKU-003     # its level and price in the shop"
    ),
)
