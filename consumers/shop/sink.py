"""What every shop sink shares: its target, its version store, its variant lookup."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from consumers.shop.client import Variant
from consumers.shop.target import ShopTarget
from ferry.errors import Rejected
from ferry.versions import VersionStore

__all__ = ["ShopSink", "resolve_variant", "with_variant"]


class ShopSink:
    """A sink writing one kind of command (``event_type``) from ``topic`` into the shop."""

    event_type: str

    def __init__(
        self, target: ShopTarget, versions: VersionStore, *, topic: str, name: str
    ) -> None:
        self.target = target
        self.versions = versions
        self.topic = topic
        self.name = name

    async def ready(self) -> bool:
        return await self.target.ready()


async def resolve_variant(target: ShopTarget, sku: str) -> Variant:
    variant = await target.client.variant_by_sku(sku)
    if variant is None:
        raise Rejected(f"sku {sku}: no variant with this SKU in the shop", field="sku")
    return variant


async def with_variant(
    target: ShopTarget, sku: str, write: Callable[[Variant], Awaitable[None]]
) -> None:
    """``write`` with the SKU's variant (cached); refused for good with a cached variant, the
    variant is looked up afresh and ``write`` tried once more (Shopify may have replaced it)."""
    try:
        await write(await resolve_variant(target, sku))
    except Rejected:
        target.client.forget_variant(sku)
        await write(await resolve_variant(target, sku))
