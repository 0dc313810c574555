"""The shop as a sink target: one Shopify client shared by every shop sink of a service."""

from __future__ import annotations

from collections.abc import Mapping

from consumers.shop.client import ShopifyClient
from consumers.shop.settings import ShopAdminSettings
from ferry.sink import CachedProbe

__all__ = ["ShopTarget"]


class ShopTarget:
    """The client and the location the levels are set at (``None``: the shop's first)."""

    def __init__(
        self, client: ShopifyClient, *, location: str | None = None, probe_every_s: float = 5.0
    ) -> None:
        self.client = client
        self.location = location
        self._probe = CachedProbe(lambda: client.locations(refresh=True), every_s=probe_every_s)

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
        """The shop answered a cheap query within the last ``probe_every_s``."""
        return await self._probe()

    async def aclose(self) -> None:
        await self.client.aclose()
