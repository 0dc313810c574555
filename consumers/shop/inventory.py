"""The shop inventory sink: ``shop.inventory.set`` → ``inventorySetQuantities`` "available".

Levels are set, never adjusted. A command not newer than the version applied for its SKU is a
duplicate (:class:`~ferry.versions.VersionStore`). The level is written with
``changeFromQuantity`` = the level read just before; when the shop changed it in between (an
order placed seconds ago, ``CHANGE_FROM_QUANTITY_STALE``), the units it sold in that window are
not in Odoo's quantity yet, so they are taken off the new level and the write is tried again.
``docs/shop-sink.md`` says why.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from consumers.shop.client import Variant
from consumers.shop.errors import StaleQuantity
from consumers.shop.sink import ShopSink, with_variant
from ferry.dlq import SourceRecord
from ferry.errors import Unavailable
from ferry.flow import SinkContext
from ferry.sink import Outcome, SinkEvent

__all__ = ["EVENT_TYPE", "InventorySink", "inventory_sink"]

log = logging.getLogger(__name__)

EVENT_TYPE = "shop.inventory.set"
MAX_STALE_RETRIES = 5
_KEYS = uuid.UUID("6b1f1a52-4bde-4e0c-9a59-8c0f0e3d2a10")


class InventorySink(ShopSink):
    event_type = EVENT_TYPE

    async def apply(self, event: SinkEvent, record: SourceRecord) -> Outcome:
        data: dict[str, Any] = event.data
        sku, version = str(data["sku"]), data["version"]
        wanted = int(data["available"])
        if self.versions.is_stale(sku, version):
            return Outcome.DUPLICATE

        async def write(variant: Variant) -> None:
            await self._set(event, sku, variant, wanted)

        await with_variant(self.target, sku, write)
        await self.versions.put(sku, version)
        return Outcome.APPLIED

    async def _set(self, event: SinkEvent, sku: str, variant: Variant, wanted: int) -> None:
        location = await self.target.location_id()
        client = self.target.client
        current = await client.available(variant.inventory_item_id, location)
        for _ in range(MAX_STALE_RETRIES):
            if current == wanted:
                break
            key = str(uuid.uuid5(_KEYS, f"{event.envelope.id}/{current}/{wanted}"))
            try:
                await client.set_available(
                    variant.inventory_item_id,
                    location,
                    wanted,
                    change_from=current,
                    idempotency_key=key,
                    reason="correction",
                    reference=f"gid://ferry/Event/{event.envelope.id}",
                )
                break
            except StaleQuantity:
                now = await client.available(variant.inventory_item_id, location)
                sold = max(current - now, 0)  # sold in the shop since the read: not in Odoo yet
                log.info("%s: the shop changed %d -> %d meanwhile; %d off", sku, current, now, sold)
                wanted, current = max(wanted - sold, 0), now
        else:
            raise Unavailable(f"sku {sku}: the shop's level kept changing; trying again later")


def inventory_sink(context: SinkContext) -> InventorySink:
    flow = context.flow
    if flow.target.event_type != EVENT_TYPE:
        raise ValueError(f"flow {flow.name}: the inventory sink applies {EVENT_TYPE} only")
    return InventorySink(context.target, context.versions, topic=flow.target.topic, name=flow.name)
