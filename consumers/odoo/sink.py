"""The Odoo sale order sink: what the runner needs around :class:`SaleOrderApplier`."""

from __future__ import annotations

from collections.abc import Sequence

from consumers.odoo.sale_orders import EVENT_TYPE, SaleOrderApplier
from consumers.odoo.target import OdooTarget
from ferry.dlq import SourceRecord
from ferry.errors import AuthenticationError
from ferry.flow import SinkContext
from ferry.sink import BatchResult, Outcome, SinkEvent

__all__ = ["OdooSaleOrderSink", "sale_order_sink"]


class OdooSaleOrderSink:
    """Applies ``odoo.sale_order.upsert`` commands read from ``topic`` to Odoo: one with
    ``apply``, a partition's backlog with ``apply_batch`` (a :class:`~ferry.sink.BatchSink`)."""

    event_type = EVENT_TYPE

    def __init__(
        self,
        target: OdooTarget,
        *,
        topic: str,
        name: str,
        applier: SaleOrderApplier | None = None,
    ) -> None:
        self.target = target
        self.topic = topic
        self.name = name
        self.applier = applier or SaleOrderApplier(
            target.odoo, settle_s=target.request_limit_s, version_field=target.version_field
        )

    async def apply(self, event: SinkEvent, record: SourceRecord) -> Outcome:
        try:
            return await self.applier.apply(event.data)
        except AuthenticationError as exc:
            raise self.target.refused(exc) from exc

    async def apply_batch(
        self, events: Sequence[SinkEvent], records: Sequence[SourceRecord]
    ) -> Sequence[BatchResult]:
        try:
            return await self.applier.apply_batch([event.data for event in events])
        except AuthenticationError as exc:
            raise self.target.refused(exc) from exc

    async def ready(self) -> bool:
        return await self.target.ready()


def sale_order_sink(context: SinkContext) -> OdooSaleOrderSink:
    """The sink of a flow whose target is ``odoo.sale_order.upsert`` (its version guard lives
    in Odoo, beside the order). Its Odoo calls are counted in the service's metrics."""
    flow, target = context.flow, context.target
    if flow.target.event_type != EVENT_TYPE:
        raise ValueError(f"flow {flow.name}: the sale order sink applies {EVENT_TYPE} only")
    if context.metrics is not None:
        target.count_calls(context.metrics)
    return OdooSaleOrderSink(target, topic=flow.target.topic, name=flow.name)
