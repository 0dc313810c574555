"""The shop as a sink target: one Shopify client shared by every shop sink of a service."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from consumers.shop.client import ShopifyClient
from consumers.shop.settings import ShopAdminSettings
from ferry.errors import FerryError

__all__ = ["ShopTarget"]


class ShopTarget:
    """The client and the location the levels are set at (``None``: the shop's first)."""

    def __init__(
        self, client: ShopifyClient, *, location: str | None = None, probe_every_s: float = 5.0
    ) -> None:
        self.client = client
        self.location = location
        self.probe_every_s = probe_every_s
        self._probed_at = -1e9
        self._reachable = False

    @classmethod
    def connect(cls, settings: ShopAdminSettings, environ: Mapping[str, str] | None) -> ShopTarget:
        location = getattr(settings, "location", None)
        return cls(ShopifyClient.from_settings(settings, environ=environ), location=location)

    async def location_id(self) -> str:
        return await self.client.location_id(self.location)

    async def check_credentials(self) -> None:
        """A token, and the location the levels go to (a wrong name stops at start)."""
        await self.location_id()

    async def ready(self) -> bool:
        now = time.monotonic()
        if now - self._probed_at >= self.probe_every_s:
            self._probed_at = now
            try:
                async with asyncio.timeout(3):
                    await self.client.locations(refresh=True)
                self._reachable = True
            except (FerryError, TimeoutError):
                self._reachable = False
        return self._reachable

    async def aclose(self) -> None:
        await self.client.aclose()
