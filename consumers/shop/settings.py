"""The shop's Admin API as Ferry's Shopify client reaches it: URL, API version, app credentials.

The client secret is a reference (``env:NAME`` or ``file:PATH``), resolved when the client is
built (:meth:`consumers.shop.client.ShopifyClient.from_settings`).
"""

from __future__ import annotations

from pydantic import Field

from ferry.secrets import SecretRef
from ferry.settings import Secret, SystemModel

__all__ = ["ShopAdminSettings"]


class ShopAdminSettings(SystemModel):
    """Where the GraphQL Admin API is and which app calls it (client credentials grant)."""

    url: str = "http://127.0.0.1:8070"
    api_version: str = "2026-10"
    client_id: str = "ferry"
    client_secret: Secret = SecretRef("env", "FERRY_SHOP_CLIENT_SECRET")
    timeout_s: float = Field(default=10.0, gt=0)
