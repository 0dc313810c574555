"""The shop price sink: ``shop.price.set`` → ``productVariantsBulkUpdate`` of one variant.

A command not newer than the version applied for its SKU is a duplicate; a price already
equal is recorded and not written again.
"""

from __future__ import annotations

from decimal import Decimal

from consumers.shop.client import Variant
from consumers.shop.sink import ShopSink, with_variant
from ferry.dlq import SourceRecord
from ferry.flow import SinkContext
from ferry.sink import Outcome, SinkEvent

__all__ = ["EVENT_TYPE", "PriceSink", "price_sink"]

EVENT_TYPE = "shop.price.set"


class PriceSink(ShopSink):
    event_type = EVENT_TYPE

    async def apply(self, event: SinkEvent, record: SourceRecord) -> Outcome:
        sku, version = str(event.data["sku"]), event.data["version"]
        price: Decimal = event.data["price"]
        if self.versions.is_stale(sku, version):
            return Outcome.DUPLICATE

        async def write(variant: Variant) -> None:
            if variant.price != price:
                await self.target.client.set_price(variant.product_id, variant.id, price)

        await with_variant(self.target, sku, write)
        await self.versions.put(sku, version)
        return Outcome.APPLIED


def price_sink(context: SinkContext) -> PriceSink:
    flow = context.flow
    if flow.target.event_type != EVENT_TYPE:
        raise ValueError(f"flow {flow.name}: the price sink applies {EVENT_TYPE} only")
    return PriceSink(context.target, context.versions, topic=flow.target.topic, name=flow.name)
